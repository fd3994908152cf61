#!/usr/bin/env bash
# Builds efs-local and starts it with its defaults (NFS on 127.0.0.1:2049,
# the API on 127.0.0.1:2050, data in ./efs-local-data). Extra arguments are
# passed to `efs-local serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
# Its own build dir: the test command's default (debugoptimized) build in
# build/ and this release one never overwrite each other.
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release >/dev/null
ninja -C build-release efs-local
exec build-release/efs-local serve "$@"
