#!/usr/bin/env bash
# The TLS front end fuzz target: the first-byte sniff, the server handshake
# as NfsTls sets it up (fed the input as a client's first flight) and the
# EFS client certificate extension parsers. Built and run by ../lib.sh.
# Usage: tests/fuzz/tls/fuzz.sh [out-dir]   (default /tmp/fuzz-tls)
target=tls
source "$(dirname "$0")/../lib.sh"
fuzz_build tls_fuzz "openssl spdlog fmt" "$here/tls_fuzz.cc" "$root/src/tls/certificates.cc" \
  "$root/src/tls/efs_extensions.cc" "$root/src/tls/sigv4.cc" "$root/src/tls/iam_credentials.cc" \
  "$root/src/tls/nfs_tls.cc" "$root"/src/efs/catalog_snapshot.cc
fuzz_run tls_fuzz 8192
