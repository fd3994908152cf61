#!/usr/bin/env bash
# Builds the NFSv4 server fuzz target (nfs4::Server::handle, so the COMPOUND
# loop, every op, the state layer and the zero-copy WRITE decoder, over a real
# data dir: nfs4/, xdr/, vfs/, meta/, chunk/, common/) with libFuzzer and
# sanitizers, replays the seed corpus and the kept crashers as regression
# inputs, then fuzzes for FUZZ_SECONDS (20).
# Usage: tests/fuzz/nfs4/fuzz.sh [out-dir]   (default /tmp/fuzz-nfs4)
# Exits non-zero when an input crashes; new crashers are copied to
# tests/fuzz/nfs4/crashers/. The seeds are made by make_corpus.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-/tmp/fuzz-nfs4}"
seconds="${FUZZ_SECONDS:-20}"
mkdir -p "$out/corpus" "$here/crashers"

# export.h includes the generated NFSv4 types (compound.h) and rpc/program.h (Asio).
mkdir -p "$out/gen/xdr"
python3 "$root/tools/xdrgen/xdrgen.py" "$root/src/xdr/nfs4.x" --header "$out/gen/xdr/nfs4_xdr.h" \
  --source "$out/gen/xdr/nfs4_xdr.cc" --namespace efs::xdr::nfs4 --include xdr/nfs4_xdr.h
# See tests/fuzz/rpc/fuzz.sh for the Asio coroutine defines and -fno-sanitize=function.
# Many sources: compiled two at a time into $out/obj (through ccache when there is one).
cxx=(clang++)
command -v ccache >/dev/null && cxx=(ccache clang++)
# shellcheck disable=SC2046
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  -fno-sanitize=function -I"$root/src" -I"$out/gen" -DASIO_NO_DEPRECATED -DASIO_HAS_CO_AWAIT=1
  -DASIO_HAS_STD_COROUTINE=1 $(pkg-config --cflags spdlog sqlite3 libcrypto++))
sources=("$here/nfs4_fuzz.cc" "$root"/src/nfs4/*.cc "$root"/src/nfs4/ops/*.cc "$root"/src/nfs4/state/*.cc
  "$root"/src/vfs/*.cc "$root"/src/meta/*.cc "$root/src/chunk/chunk_store.cc" "$root/src/efs/catalog_snapshot.cc" "$root"/src/common/*.cc
  "$root/src/xdr/nfs4_compound.cc" "$out/gen/xdr/nfs4_xdr.cc")
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
for obj in "${objs[@]}"; do [[ -f "$obj" ]] || { echo "fuzz-nfs4: compiling failed" >&2; exit 1; }; done
clang++ -fsanitize=fuzzer,address,undefined "${objs[@]}" \
  $(pkg-config --libs spdlog sqlite3 libcrypto++) -lpthread -o "$out/nfs4_fuzz"

# One data dir for every run of this script's target, made afresh each time.
export FUZZ_NFS4_DIR="$out/data"
rm -rf "$FUZZ_NFS4_DIR"

# Regression: every seed and every kept crasher must run clean.
shopt -s nullglob
inputs=("$here"/corpus/* "$here"/crashers/crash-* "$here"/crashers/leak-* "$here"/crashers/timeout-* "$here"/crashers/oom-*)
if ((${#inputs[@]})); then
  "$out/nfs4_fuzz" -runs=0 "${inputs[@]}" >"$out/replay.log" 2>&1 || {
    cat "$out/replay.log"; echo "fuzz-nfs4: a regression input crashes" >&2; exit 1; }
fi

cp -n "$here"/corpus/* "$out/corpus/" 2>/dev/null || true
status=0
"$out/nfs4_fuzz" -max_total_time="$seconds" -max_len=4096 -artifact_prefix="$out/" \
  "$out/corpus" >"$out/fuzz.log" 2>&1 || status=$?
tail -n 5 "$out/fuzz.log"
if ((status != 0)); then
  for f in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*; do
    cp "$f" "$here/crashers/"
    echo "fuzz-nfs4: kept $(basename "$f") in tests/fuzz/nfs4/crashers/" >&2
  done
  exit "$status"
fi
echo "fuzz-nfs4: no crash in ${seconds}s"
