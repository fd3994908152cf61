#!/usr/bin/env bash
# The HTTP parser fuzz target (parser and response writer only, no Asio).
# Built and run by ../lib.sh.
# Usage: tests/fuzz/http/fuzz.sh [out-dir]   (default /tmp/fuzz-http)
target=http
source "$(dirname "$0")/../lib.sh"
fuzz_build http_parser_fuzz "" "$here/http_parser_fuzz.cc" "$root/src/http/parser.cc" \
  "$root/src/http/response.cc"
fuzz_run http_parser_fuzz 4096
