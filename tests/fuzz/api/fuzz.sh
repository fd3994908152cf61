#!/bin/sh
# Builds the rest-json routing/validation fuzzer (api and parser sources, the
# EFS model embedded from spec/ as in the real build; no Asio) and runs it for
# ${FUZZ_SECONDS:-20} seconds over the seed corpus.
# Usage: tests/fuzz/api/fuzz.sh [build-dir]   (default /tmp/fuzz-api)
# Exits non-zero on a crash; the crasher is left in build-dir and belongs in
# tests/fuzz/api/corpus/ once fixed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-/tmp/fuzz-api}
mkdir -p "$out/corpus"
python3 "$root/tools/embed.py" "$out/embedded_models.cc" \
  efs_model_json "$root/spec/efs-2015-02-01.json" kms_model_json "$root/spec/kms-2014-11-01.json"
# The model's shapes and error table, generated as in src/meson.build.
mkdir -p "$out/gen"
python3 "$root/tools/apigen/apigen.py" "$root/spec/efs-2015-02-01.json" --header "$out/gen/efs_shapes.h" \
  --source "$out/gen/efs_shapes.cc" --namespace efs::shapes --include efs_shapes.h
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DSPDLOG_FMT_EXTERNAL -DSPDLOG_COMPILED_LIB -DSPDLOG_SHARED_LIB -I"$root/src" -I"$out/gen" \
  "$here/validator_fuzz.cc" "$root/src/api/model.cc" "$root/src/api/pattern.cc" \
  "$root/src/api/validation.cc" "$root/src/api/rest_json.cc" "$root/src/api/pagination.cc" "$root/src/http/parser.cc" \
  "$out/embedded_models.cc" -lspdlog -lfmt -pthread \
  -o "$out/validator_fuzz"
cp "$here"/corpus/* "$out/corpus/" 2>/dev/null || true
cd "$out"
./validator_fuzz -max_total_time="${FUZZ_SECONDS:-20}" -max_len=4096 -artifact_prefix="$out/" \
  "$out/corpus"
