#!/usr/bin/env bash
# Builds efs-local and runs every test: unit tests (also under ASan+UBSan),
# the fuzzers for a bounded time, and the integration tests with real
# clients (AWS CLI v2, boto3, AWS SDK for JavaScript v3, libnfs, the Linux
# kernel NFS client in qemu) against a running efs-local.
#
#   bash tools/test.sh            everything
#   STAGES="unit integration" bash tools/test.sh    only some stages
#
# Stage "commands" runs what README tells a user to type, from this checkout:
# tools/start.sh (its release build, then the server until health answers)
# and a short bench/run.sh, so a broken first command fails the test run.
#   PYTEST_ARGS="-k lifecycle" bash tools/test.sh   pass options to pytest
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
STAGES=${STAGES:-"commands unit asan fuzz integration"}
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
  # A suite past its time limit is a failure too (meson counts it apart).
  fail=$((${fail:-0} + $(grep -E '^Timeout:' "$log" | awk '{print $2}' | tail -1 | grep . || echo 0)))
  passed=$((passed + ${ok:-0}))
  failed=$((failed + ${fail:-0}))
  [ "${fail:-0}" = 0 ] || failures+=("$2")
  # Which suites, so the summary names them (" 12/22 vfs  FAIL  ..." lines).
  local name
  for name in $(grep -E '^ *[0-9]+/[0-9]+ +[A-Za-z0-9_-]+ +(FAIL|TIMEOUT|ERROR)' "$log" | awk '{print $2}' | sort -u); do
    failures+=("$2:$name")
  done
}

note "build"
[ -f build/build.ninja ] || meson setup build >/dev/null || exit 1
ninja -C build || { echo "build failed"; exit 1; }
# The static configuration (meson -Dstatic=true) the Dockerfile builds;
# tests/integration/test_image.py makes the image from this binary.
[ -f build-static/build.ninja ] ||
  meson setup build-static -Dstatic=true --buildtype=release >/dev/null || exit 1
ninja -C build-static efs-local || { echo "static build failed"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Runs README's first command with free ports and a temporary data dir (flags
# after the script name pass through to `efs-local serve`), waits until
# /_efs-local/health answers, checks what it says, and stops it by PID.
check_start_command() {
  local tmp api nfs pid ok=0 body
  tmp=$(mktemp -d)
  api=$(free_port); nfs=$(free_port)
  bash tools/start.sh --data-dir "$tmp/data" --api-port "$api" --nfs-port "$nfs" \
    > "$tmp/start.log" 2>&1 &
  pid=$!   # start.sh execs the server, so this is efs-local once built
  for _ in $(seq 1 1800); do   # the release build may run first: up to 15 minutes
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if body=$(curl -sf "http://127.0.0.1:$api/_efs-local/health"); then
      if echo "$body" | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert d['nfs_port'] == $nfs and d['api_port'] == $api, d
assert d['data_dir'].startswith('$tmp'), d" ; then ok=1; fi
      break
    fi
    sleep 0.5
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [ $ok = 1 ]; then
    echo "tools/start.sh: serving health on 127.0.0.1:$api (release build)"
  else
    echo "tools/start.sh did not serve health:"; tail -40 "$tmp/start.log"
  fi
  rm -rf "$tmp"
  [ $ok = 1 ]
}

# bench/run.sh in miniature: both servers, every figure, tiny sizes. It checks
# that the command works and prints a complete table, not the numbers.
check_bench_command() {
  local out
  out=$(SIZE_MIB=4 COUNT=50 REPS=1 RANDREADS=200 DD_MIB=8 BENCH_DIR=$(mktemp -d) \
    bash bench/run.sh 2>&1)
  echo "$out" | tail -14
  [ "$(echo "$out" | grep -cE '^\| [a-z].*\| [0-9.,]+ \| [0-9.,]+ \| [0-9.]+ \|')" -ge 9 ]
}

for stage in $STAGES; do
  case $stage in
  commands)
    note "README's commands: tools/start.sh (release build), bench/run.sh (short)"
    for c in check_start_command check_bench_command; do
      if $c; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("commands:$c"); fi
    done
    ;;
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
    # ASan makes the crash-point loops (vfs: a restart at every disk call of a
    # sync) and the 1,000-file-system quota case (efs: a catalog rebuilt per
    # create) 7-100x slower: 145 s and 206 s of their 300 s here, more on a
    # slower CI machine. The multiplier gives every suite three times its limit.
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
      2>&1 | tee /tmp/efs-asan.log
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
    # bench/test_bench.py: the benchmark's own checks (its verdicts, and that
    # nfsbench fails on wrong data instead of reporting a speed).
    /usr/bin/python3 -m pytest -n 2 -q -rfE -p no:cacheprovider tests/integration bench/test_bench.py \
      ${PYTEST_ARGS:-} \
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
