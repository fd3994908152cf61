#!/usr/bin/env bash
# The API gateway fuzz target: HTTP requests through routing, validation and
# the EFS, EC2 and KMS services over a real database. Built and run by
# ../lib.sh; the seeds are made by make_corpus.py.
# Usage: tests/fuzz/api_gateway/fuzz.sh [out-dir]   (default /tmp/fuzz-api_gateway)
target=api_gateway
source "$(dirname "$0")/../lib.sh"
fuzz_gen_api
fuzz_build gateway_fuzz "spdlog sqlite3 libcrypto++ fmt" "$here/gateway_fuzz.cc" \
  "$root"/src/http/parser.cc "$root"/src/http/response.cc "$root"/src/api/*.cc "$root"/src/efs/*.cc "$root"/src/iam/*.cc \
  "$root"/src/ec2/*.cc "$root"/src/kms/*.cc "$root"/src/meta/*.cc "$root"/src/common/*.cc \
  "$out/gen/embedded_models.cc" "$out/gen/efs_shapes.cc"
# One data dir for every run of this script's target, made afresh each time.
export FUZZ_GATEWAY_DIR="$out/data"
rm -rf "$FUZZ_GATEWAY_DIR"
fuzz_run gateway_fuzz 8192
