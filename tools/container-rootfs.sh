#!/usr/bin/env bash
# Makes the minimal root file system the container image holds: the
# efs-local binary (and, for a dynamically linked one, the shared libraries
# ldd names), CA data, /data owned by the non-root user 10001 and /tmp.
#   bash tools/container-rootfs.sh [--image] BINARY DIR
# The Dockerfile calls it with --image (the container runtime provides /dev).
# Without it the root file system also gets the two device nodes efs-local
# opens, so that tests/integration/test_container.py can run it by chroot.
set -euo pipefail
image=0
if [ "${1:-}" = "--image" ]; then image=1; shift; fi
bin=$1 dir=$2
rm -rf "$dir"
mkdir -p "$dir/usr/local/bin" "$dir/data" "$dir/tmp" "$dir/etc/ssl/certs"
cp "$bin" "$dir/usr/local/bin/efs-local"
strip "$dir/usr/local/bin/efs-local" 2>/dev/null || true
if ldd "$bin" > /dev/null 2>&1; then
  for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$lib" "$dir$lib"
  done
fi
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/"
# A container runtime gives /dev; a bare chroot needs the two efs-local
# opens (Crypto++ reads /dev/urandom for keys and IDs).
if [ $image = 0 ]; then
  mkdir -p "$dir/dev"
  mknod -m 666 "$dir/dev/urandom" c 1 9
  mknod -m 666 "$dir/dev/null" c 1 3
fi
chmod 1777 "$dir/tmp"
chown 10001:10001 "$dir/data"
du -sh "$dir" | awk '{print "rootfs " $1}'
