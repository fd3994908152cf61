#!/usr/bin/env bash
# The NFSv4 server fuzz target: nfs4::Server::handle, so the COMPOUND loop,
# every op, the state layer and the zero-copy WRITE decoder, over a real data
# dir (nfs4/, xdr/, vfs/, meta/, chunk/, common/). Built and run by ../lib.sh;
# the seeds are made by make_corpus.py.
# Usage: tests/fuzz/nfs4/fuzz.sh [out-dir]   (default /tmp/fuzz-nfs4)
target=nfs4
source "$(dirname "$0")/../lib.sh"
fuzz_gen_nfs4_xdr
fuzz_build nfs4_fuzz "spdlog sqlite3 libcrypto++" "$here/nfs4_fuzz.cc" \
  "$root"/src/nfs4/*.cc "$root"/src/nfs4/ops/*.cc "$root"/src/nfs4/state/*.cc "$root"/src/vfs/*.cc \
  "$root"/src/meta/*.cc "$root"/src/chunk/*.cc "$root/src/efs/catalog_snapshot.cc" "$root"/src/iam/*.cc "$root"/src/throughput/*.cc "$root"/src/metrics/*.cc "$root"/src/common/*.cc \
  "$root/src/xdr/nfs4_compound.cc" "$out/gen/xdr/nfs4_xdr.cc"
# One data dir for every run of this script's target, made afresh each time.
export FUZZ_NFS4_DIR="$out/data"
rm -rf "$FUZZ_NFS4_DIR"
fuzz_run nfs4_fuzz 4096
