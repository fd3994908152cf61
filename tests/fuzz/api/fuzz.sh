#!/usr/bin/env bash
# The rest-json routing and validation fuzz target (api and HTTP parser
# sources, the EFS model embedded from spec/ as in the real build; no Asio).
# Built and run by ../lib.sh.
# Usage: tests/fuzz/api/fuzz.sh [out-dir]   (default /tmp/fuzz-api)
target=api
source "$(dirname "$0")/../lib.sh"
fuzz_gen_api
fuzz_build validator_fuzz "spdlog fmt" "$here/validator_fuzz.cc" "$root/src/api/model.cc" \
  "$root/src/api/pattern.cc" "$root/src/api/validation.cc" "$root/src/api/rest_json.cc" \
  "$root/src/api/pagination.cc" "$root/src/http/parser.cc" "$out/gen/embedded_models.cc"
fuzz_run validator_fuzz 4096
