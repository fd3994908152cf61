#!/usr/bin/env bash
# Builds efs-local and runs every test: unit tests (also under ASan+UBSan),
# the fuzzers for a bounded time, and the integration tests with real
# clients (AWS CLI v2, boto3, AWS SDK for JavaScript v3, libnfs, the Linux
# kernel NFS client in qemu) against a running efs-local.
#
#   bash tools/test.sh            everything
#   STAGES="unit integration" bash tools/test.sh    only some stages
#   PYTEST_ARGS="-k lifecycle" bash tools/test.sh   pass options to pytest
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
STAGES=${STAGES:-"unit asan fuzz integration"}
export FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# Let ccache reuse objects across clones of the repository in other folders
# (CI builds a fresh clone): paths are hashed relative to the checkout.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true

bash tools/install-deps.sh --test || { echo "install-deps failed"; exit 1; }

passed=0
failed=0
failures=()
note() { printf '\n=== %s ===\n' "$*"; }
count_meson() {  # adds meson test's Ok/Fail counts from its log
  local log=$1 ok fail
  ok=$(grep -E '^Ok:' "$log" | awk '{print $2}' | tail -1)
  fail=$(grep -E '^Fail:' "$log" | awk '{print $2}' | tail -1)
  passed=$((passed + ${ok:-0}))
  failed=$((failed + ${fail:-0}))
  [ "${fail:-0}" = 0 ] || failures+=("$2")
}

note "build"
[ -f build/build.ninja ] || meson setup build >/dev/null || exit 1
ninja -C build || { echo "build failed"; exit 1; }

for stage in $STAGES; do
  case $stage in
  unit)
    note "unit tests"
    meson test -C build --print-errorlogs --num-processes 2 2>&1 | tee /tmp/efs-unit.log
    count_meson /tmp/efs-unit.log unit
    ;;
  asan)
    note "unit tests under ASan + UBSan"
    if [ ! -f build-asan/build.ninja ]; then
      meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
        --buildtype=debug >/dev/null || exit 1
    fi
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C build-asan --print-errorlogs --num-processes 2 2>&1 | tee /tmp/efs-asan.log
    count_meson /tmp/efs-asan.log asan
    ;;
  fuzz)
    note "fuzzers, ${FUZZ_SECONDS}s each"
    for f in tests/fuzz/*/fuzz.sh; do
      [ -f "$f" ] || continue
      name=$(basename "$(dirname "$f")")
      if bash "$f" "$root/build-fuzz/$name"; then
        passed=$((passed + 1))
      else
        failed=$((failed + 1)); failures+=("fuzz:$name")
      fi
    done
    ;;
  integration)
    note "integration tests"
    /usr/bin/python3 -m pytest -n 2 -q -rfE -p no:cacheprovider tests/integration ${PYTEST_ARGS:-} \
      2>&1 | tee /tmp/efs-pytest.log
    line=$(grep -E '[0-9]+ (passed|failed)' /tmp/efs-pytest.log | tail -1)
    p=$(echo "$line" | grep -oE '[0-9]+ passed' | awk '{print $1}')
    f=$(echo "$line" | grep -oE '[0-9]+ failed' | awk '{print $1}')
    e=$(echo "$line" | grep -oE '[0-9]+ errors?' | awk '{print $1}')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${e:-0}))
    if [ -z "$line" ] || [ "${f:-0}" != 0 ] || [ "${e:-0}" != 0 ]; then failures+=("integration"); fi
    [ -n "$line" ] || failed=$((failed + 1))
    ;;
  *) echo "unknown stage $stage"; exit 2 ;;
  esac
done

note "summary"
[ ${#failures[@]} = 0 ] || echo "failing stages: ${failures[*]}"
echo "all: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
