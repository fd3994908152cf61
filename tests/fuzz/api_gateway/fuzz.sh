#!/usr/bin/env bash
# Builds the API fuzz target (the HTTP parser, then api::Gateway::handle over
# the real EFS, KMS and network models on SQLite: http/, api/, efs/, ec2/, kms/,
# meta/, common/) with libFuzzer and sanitizers, replays the seed corpus and the kept
# crashers as regression inputs, then fuzzes for FUZZ_SECONDS (20).
# Usage: tests/fuzz/api_gateway/fuzz.sh [out-dir]   (default /tmp/fuzz-api_gateway)
# Exits non-zero when an input crashes; new crashers are copied to
# tests/fuzz/api_gateway/crashers/. The seeds are made by make_corpus.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-/tmp/fuzz-api_gateway}"
seconds="${FUZZ_SECONDS:-20}"
mkdir -p "$out/corpus" "$here/crashers"

# The API models, embedded as in src/api/meson.build.
mkdir -p "$out/gen"
python3 "$root/tools/embed.py" "$out/gen/embedded_models.cc" efs_model_json "$root/spec/efs-2015-02-01.json" \
  kms_model_json "$root/spec/kms-2014-11-01.json"
# The model's shapes and error table, generated as in src/meson.build.
mkdir -p "$out/gen"
python3 "$root/tools/apigen/apigen.py" "$root/spec/efs-2015-02-01.json" --header "$out/gen/efs_shapes.h" \
  --source "$out/gen/efs_shapes.cc" --namespace efs::shapes --include efs_shapes.h
# See tests/fuzz/rpc/fuzz.sh for the Asio coroutine defines and -fno-sanitize=function.
# Many sources: compiled two at a time into $out/obj (through ccache when there is one).
cxx=(clang++)
command -v ccache >/dev/null && cxx=(ccache clang++)
# shellcheck disable=SC2046
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  -fno-sanitize=function -I"$root/src" -I"$out/gen" -DASIO_NO_DEPRECATED -DASIO_HAS_CO_AWAIT=1
  -DASIO_HAS_STD_COROUTINE=1 $(pkg-config --cflags spdlog sqlite3 libcrypto++ fmt))
sources=("$here/gateway_fuzz.cc" "$root"/src/http/parser.cc "$root"/src/http/response.cc "$root"/src/api/*.cc
  "$root"/src/efs/*.cc "$root"/src/ec2/*.cc "$root"/src/kms/*.cc "$root"/src/meta/*.cc "$root"/src/common/*.cc
  "$out/gen/embedded_models.cc" "$out/gen/efs_shapes.cc")
rm -rf "$out/obj"
mkdir -p "$out/obj"
objs=()
for src in "${sources[@]}"; do
  rel="${src#"$root"/}"
  obj="$out/obj/${rel//\//_}.o"
  objs+=("$obj")
  # At most two compilers at once (the machine is small).
  while (($(jobs -rp | wc -l) >= 2)); do wait -n; done
  "${cxx[@]}" "${flags[@]}" -c "$src" -o "$obj" &
done
while (($(jobs -rp | wc -l) > 0)); do wait -n; done
for obj in "${objs[@]}"; do [[ -f "$obj" ]] || { echo "fuzz-api_gateway: compiling failed" >&2; exit 1; }; done
clang++ -fsanitize=fuzzer,address,undefined "${objs[@]}" \
  $(pkg-config --libs spdlog sqlite3 libcrypto++ fmt) -lpthread -o "$out/gateway_fuzz"

# One data dir for every run of this script's target, made afresh each time.
export FUZZ_GATEWAY_DIR="$out/data"
rm -rf "$FUZZ_GATEWAY_DIR"

# Regression: every seed and every kept crasher must run clean.
shopt -s nullglob
inputs=("$here"/corpus/* "$here"/crashers/crash-* "$here"/crashers/leak-* "$here"/crashers/timeout-* "$here"/crashers/oom-*)
if ((${#inputs[@]})); then
  "$out/gateway_fuzz" -runs=0 "${inputs[@]}" >"$out/replay.log" 2>&1 || {
    cat "$out/replay.log"; echo "fuzz-api_gateway: a regression input crashes" >&2; exit 1; }
fi

cp -n "$here"/corpus/* "$out/corpus/" 2>/dev/null || true
status=0
"$out/gateway_fuzz" -max_total_time="$seconds" -max_len=8192 -artifact_prefix="$out/" \
  "$out/corpus" >"$out/fuzz.log" 2>&1 || status=$?
tail -n 5 "$out/fuzz.log"
if ((status != 0)); then
  for f in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*; do
    cp "$f" "$here/crashers/"
    echo "fuzz-api_gateway: kept $(basename "$f") in tests/fuzz/api_gateway/crashers/" >&2
  done
  exit "$status"
fi
echo "fuzz-api_gateway: no crash in ${seconds}s"
