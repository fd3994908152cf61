#!/usr/bin/env bash
# The file handle fuzz target: handles resolved by the NFS export layer over
# a real data dir. Built and run by ../lib.sh.
# Usage: tests/fuzz/handle/fuzz.sh [out-dir]   (default /tmp/fuzz-handle)
target=handle
source "$(dirname "$0")/../lib.sh"
# export.h includes the generated NFSv4 types (compound.h) and rpc/program.h (Asio).
fuzz_gen_nfs4_xdr
fuzz_build handle_fuzz "spdlog sqlite3 libcrypto++" "$here/handle_fuzz.cc" "$root/src/nfs4/export.cc" \
  "$root"/src/vfs/*.cc "$root"/src/meta/*.cc "$root"/src/chunk/*.cc "$root/src/efs/catalog_snapshot.cc" "$root"/src/iam/*.cc \
  "$root"/src/common/*.cc
# One data dir for every run of this script's target, made afresh each time.
export FUZZ_HANDLE_DIR="$out/data"
rm -rf "$FUZZ_HANDLE_DIR"
fuzz_run handle_fuzz 256
