#!/usr/bin/env bash
# Builds the RPC fuzz target (record marking + call decoding + dispatch; no
# net/ code) with libFuzzer and sanitizers, replays the seed corpus and the
# kept crashers as regression inputs, then fuzzes for FUZZ_SECONDS (20).
# Usage: tests/fuzz/rpc/fuzz.sh [out-dir]   (default /tmp/fuzz-rpc)
# Exits non-zero when an input crashes; new crashers are copied to
# tests/fuzz/rpc/crashers/ so they are kept as regression inputs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-/tmp/fuzz-rpc}"
seconds="${FUZZ_SECONDS:-20}"
mkdir -p "$out/corpus" "$here/crashers"

# Asio 1.22 looks for coroutines the Coroutines-TS way under clang; clang 14
# with libstdc++ 12 has the C++20 ones, so say so.
# clang 14 cannot emit -fsanitize=function prologues for coroutines ("Cannot
# represent a difference across sections"), so that one check is left out.
# The generated NFSv4 codecs, for the COMPOUND decoding in the target.
mkdir -p "$out/gen/xdr"
python3 "$root/tools/xdrgen/xdrgen.py" "$root/src/xdr/nfs4.x" --header "$out/gen/xdr/nfs4_xdr.h" \
  --source "$out/gen/xdr/nfs4_xdr.cc" --namespace efs::xdr::nfs4 --include xdr/nfs4_xdr.h
# shellcheck disable=SC2046
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -fno-sanitize=function \
  -I"$root/src" -I"$out/gen" -DASIO_NO_DEPRECATED -DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1 $(pkg-config --cflags spdlog) \
  "$here/rpc_fuzz.cc" "$root/src/rpc/record.cc" "$root/src/rpc/message.cc" \
  "$root/src/rpc/dispatcher.cc" "$out/gen/xdr/nfs4_xdr.cc" "$root/src/xdr/nfs4_compound.cc" \
  $(pkg-config --libs spdlog) -lpthread -o "$out/rpc_fuzz"

# Regression: every seed and every kept crasher must run clean.
shopt -s nullglob
inputs=("$here"/corpus/* "$here"/crashers/crash-* "$here"/crashers/leak-* "$here"/crashers/timeout-* "$here"/crashers/oom-*)
if ((${#inputs[@]})); then
  "$out/rpc_fuzz" -runs=0 "${inputs[@]}" >"$out/replay.log" 2>&1 || {
    cat "$out/replay.log"; echo "fuzz-rpc: a regression input crashes" >&2; exit 1; }
fi

# Fuzz into a scratch corpus seeded from the repo's, leaving the repo's as is.
cp -n "$here"/corpus/* "$out/corpus/" 2>/dev/null || true
status=0
"$out/rpc_fuzz" -max_total_time="$seconds" -max_len=4096 -artifact_prefix="$out/" \
  "$out/corpus" >"$out/fuzz.log" 2>&1 || status=$?
tail -n 5 "$out/fuzz.log"
if ((status != 0)); then
  for f in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*; do
    cp "$f" "$here/crashers/"
    echo "fuzz-rpc: kept $(basename "$f") in tests/fuzz/rpc/crashers/" >&2
  done
  exit "$status"
fi
echo "fuzz-rpc: no crash in ${seconds}s"
