#!/usr/bin/env bash
# What every tests/fuzz/<target>/fuzz.sh shares, sourced by each: generating
# the build's codecs, compiling a target with libFuzzer and sanitizers, and
# running it (replay the seeds and kept crashers as regression inputs, then
# fuzz for FUZZ_SECONDS, keeping any new crasher). A target script names only
# what is its own: its sources, the packages it links and its input size.
#
# Sources are listed by folder (src/vfs/*.cc), not file by file, wherever a
# target needs a whole layer: a hand list went stale twice when a layer grew
# a file, and the fuzzers stopped linking while the real build was fine.
#
# Before sourcing, a script sets `target` (its folder name); lib.sh sets
# here, root, out (first argument, default /tmp/fuzz-<target>) and seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-/tmp/fuzz-$target}"
seconds="${FUZZ_SECONDS:-20}"
mkdir -p "$out/corpus" "$out/gen" "$here/crashers"

# The generated NFSv4 XDR codecs, as src/meson.build makes them.
fuzz_gen_nfs4_xdr() {
  mkdir -p "$out/gen/xdr"
  python3 "$root/tools/xdrgen/xdrgen.py" "$root/src/xdr/nfs4.x" --header "$out/gen/xdr/nfs4_xdr.h" \
    --source "$out/gen/xdr/nfs4_xdr.cc" --namespace efs::xdr::nfs4 --include xdr/nfs4_xdr.h
}

# The embedded API models and the EFS model's shapes and error table, as
# src/api/meson.build and src/meson.build make them.
fuzz_gen_api() {
  python3 "$root/tools/embed.py" "$out/gen/embedded_models.cc" efs_model_json "$root/spec/efs-2015-02-01.json" \
    kms_model_json "$root/spec/kms-2014-11-01.json" \
    cloudwatch_model_json "$root/spec/monitoring-2010-08-01.json"
  python3 "$root/tools/apigen/apigen.py" "$root/spec/efs-2015-02-01.json" --header "$out/gen/efs_shapes.h" \
    --source "$out/gen/efs_shapes.cc" --namespace efs::shapes --include efs_shapes.h
}

# fuzz_build BINARY "PKG..." SOURCE...: compiles each source into $out/obj
# (two compilers at once, through ccache when there is one) and links
# $out/BINARY. Asio 1.22 looks for coroutines the Coroutines-TS way under
# clang; clang 14 with libstdc++ 12 has the C++20 ones, hence the defines.
# clang 14 cannot emit -fsanitize=function prologues for coroutines ("Cannot
# represent a difference across sections"), so that one check is left out.
fuzz_build() {
  local binary="$1" pkgs="$2"
  shift 2
  local cxx=(clang++)
  command -v ccache >/dev/null && cxx=(ccache clang++)
  local flags
  # shellcheck disable=SC2206,SC2046
  flags=(-std=c++20 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
    -fno-sanitize=function -I"$root/src" -I"$out/gen" -DASIO_NO_DEPRECATED -DASIO_HAS_CO_AWAIT=1
    -DASIO_HAS_STD_COROUTINE=1 -DSPDLOG_FMT_EXTERNAL -DSPDLOG_COMPILED_LIB -DSPDLOG_SHARED_LIB
    ${pkgs:+$(pkg-config --cflags $pkgs)})
  rm -rf "$out/obj"
  mkdir -p "$out/obj"
  local objs=() src rel obj
  for src in "$@"; do
    rel="${src#"$root"/}"
    obj="$out/obj/${rel//\//_}.o"
    objs+=("$obj")
    while (($(jobs -rp | wc -l) >= 2)); do wait -n || true; done
    "${cxx[@]}" "${flags[@]}" -c "$src" -o "$obj" &
  done
  while (($(jobs -rp | wc -l) > 0)); do wait -n || true; done
  for obj in "${objs[@]}"; do
    [[ -f "$obj" ]] || { echo "fuzz-$target: compiling failed" >&2; exit 1; }
  done
  # shellcheck disable=SC2046
  clang++ -fsanitize=fuzzer,address,undefined "${objs[@]}" ${pkgs:+$(pkg-config --libs $pkgs)} -lpthread \
    -o "$out/$binary"
}

# fuzz_run BINARY MAX_LEN: every seed and kept crasher must run clean; then
# fuzzes a scratch corpus seeded from the repo's (leaving the repo's as is).
# A new crasher is copied to crashers/ and fails the run.
fuzz_run() {
  local binary="$1" max_len="$2"
  shopt -s nullglob
  local inputs=("$here"/corpus/* "$here"/crashers/crash-* "$here"/crashers/leak-*
    "$here"/crashers/timeout-* "$here"/crashers/oom-*)
  if ((${#inputs[@]})); then
    "$out/$binary" -runs=0 "${inputs[@]}" >"$out/replay.log" 2>&1 || {
      cat "$out/replay.log"; echo "fuzz-$target: a regression input crashes" >&2; exit 1; }
  fi
  cp -n "$here"/corpus/* "$out/corpus/" 2>/dev/null || true
  local status=0 f
  "$out/$binary" -max_total_time="$seconds" -max_len="$max_len" -artifact_prefix="$out/" \
    "$out/corpus" >"$out/fuzz.log" 2>&1 || status=$?
  tail -n 5 "$out/fuzz.log"
  if ((status != 0)); then
    for f in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*; do
      cp "$f" "$here/crashers/"
      echo "fuzz-$target: kept $(basename "$f") in tests/fuzz/$target/crashers/" >&2
    done
    exit "$status"
  fi
  echo "fuzz-$target: no crash in ${seconds}s"
}
