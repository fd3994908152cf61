#!/usr/bin/env bash
# Builds the file handle fuzz target (Exports::from_wire and Vfs::resolve_handle
# over a real data dir: nfs4/export.cc, vfs/, meta/, chunk/, common/) with
# libFuzzer and sanitizers, replays the seed corpus and the kept crashers as
# regression inputs, then fuzzes for FUZZ_SECONDS (20).
# Usage: tests/fuzz/handle/fuzz.sh [out-dir]   (default /tmp/fuzz-handle)
# Exits non-zero when an input crashes or a decoder accepts a handle the
# server never issued; new crashers are copied to tests/fuzz/handle/crashers/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-/tmp/fuzz-handle}"
seconds="${FUZZ_SECONDS:-20}"
mkdir -p "$out/corpus" "$here/crashers"

# export.h includes the generated NFSv4 types (compound.h) and rpc/program.h (Asio).
mkdir -p "$out/gen/xdr"
python3 "$root/tools/xdrgen/xdrgen.py" "$root/src/xdr/nfs4.x" --header "$out/gen/xdr/nfs4_xdr.h" \
  --source "$out/gen/xdr/nfs4_xdr.cc" --namespace efs::xdr::nfs4 --include xdr/nfs4_xdr.h
# See tests/fuzz/rpc/fuzz.sh for the Asio coroutine defines and -fno-sanitize=function.
# shellcheck disable=SC2046
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -fno-sanitize=function \
  -I"$root/src" -I"$out/gen" -DASIO_NO_DEPRECATED -DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1 \
  $(pkg-config --cflags spdlog sqlite3 libcrypto++) \
  "$here/handle_fuzz.cc" "$root/src/nfs4/export.cc" "$root"/src/vfs/*.cc "$root"/src/meta/*.cc \
  "$root/src/chunk/chunk_store.cc" "$root/src/efs/catalog_snapshot.cc" "$root"/src/common/*.cc \
  $(pkg-config --libs spdlog sqlite3 libcrypto++) -lpthread -o "$out/handle_fuzz"

# One data dir for every run of this script's target, made afresh each time.
export FUZZ_HANDLE_DIR="$out/data"
rm -rf "$FUZZ_HANDLE_DIR"

# Regression: every seed and every kept crasher must run clean.
shopt -s nullglob
inputs=("$here"/corpus/* "$here"/crashers/crash-* "$here"/crashers/leak-* "$here"/crashers/timeout-* "$here"/crashers/oom-*)
if ((${#inputs[@]})); then
  "$out/handle_fuzz" -runs=0 "${inputs[@]}" >"$out/replay.log" 2>&1 || {
    cat "$out/replay.log"; echo "fuzz-handle: a regression input crashes" >&2; exit 1; }
fi

cp -n "$here"/corpus/* "$out/corpus/" 2>/dev/null || true
status=0
"$out/handle_fuzz" -max_total_time="$seconds" -max_len=256 -artifact_prefix="$out/" \
  "$out/corpus" >"$out/fuzz.log" 2>&1 || status=$?
tail -n 5 "$out/fuzz.log"
if ((status != 0)); then
  for f in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*; do
    cp "$f" "$here/crashers/"
    echo "fuzz-handle: kept $(basename "$f") in tests/fuzz/handle/crashers/" >&2
  done
  exit "$status"
fi
echo "fuzz-handle: no crash in ${seconds}s"
