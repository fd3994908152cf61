#!/usr/bin/env bash
# Builds efs-local and starts it with its defaults (NFS on 127.0.0.1:2049,
# the API on 127.0.0.1:2050, data in ./efs-local-data). Extra arguments are
# passed to `efs-local serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
[ -d build ] || meson setup build --buildtype=release
ninja -C build efs-local
exec build/efs-local serve "$@"
