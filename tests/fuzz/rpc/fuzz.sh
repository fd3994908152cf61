#!/usr/bin/env bash
# The RPC fuzz target: record marking, call decoding and dispatch (no net/
# code), with the NFSv4 COMPOUND decoding. Built and run by ../lib.sh.
# Usage: tests/fuzz/rpc/fuzz.sh [out-dir]   (default /tmp/fuzz-rpc)
target=rpc
source "$(dirname "$0")/../lib.sh"
fuzz_gen_nfs4_xdr
fuzz_build rpc_fuzz "spdlog" "$here/rpc_fuzz.cc" "$root"/src/rpc/*.cc \
  "$out/gen/xdr/nfs4_xdr.cc" "$root/src/xdr/nfs4_compound.cc"
fuzz_run rpc_fuzz 4096
