#!/bin/sh
# Builds the HTTP parser fuzzer (parser and response writer only, no Asio) and
# runs it for ${FUZZ_SECONDS:-20} seconds over the seed corpus.
# Usage: tests/fuzz/http/fuzz.sh [build-dir]   (default /tmp/fuzz-http)
# Exits non-zero if the fuzzer finds a crash; the crasher is left in build-dir
# and belongs in tests/fuzz/http/corpus/ once fixed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-/tmp/fuzz-http}
mkdir -p "$out/corpus"
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root/src" \
  "$here/http_parser_fuzz.cc" "$root/src/http/parser.cc" "$root/src/http/response.cc" \
  -o "$out/http_parser_fuzz"
cp "$here"/corpus/* "$out/corpus/" 2>/dev/null || true
cd "$out"
./http_parser_fuzz -max_total_time="${FUZZ_SECONDS:-20}" -max_len=4096 -artifact_prefix="$out/" \
  "$out/corpus"
