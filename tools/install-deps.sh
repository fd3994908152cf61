#!/usr/bin/env bash
# Installs what efs-local needs to build (and, with --test, to run every
# test) on Debian 12, as root. Safe to run again: it skips what is there.
set -euo pipefail
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

build_pkgs=(g++ meson ninja-build ccache pkg-config cmake python3
  libasio-dev libsqlite3-dev libcli11-dev nlohmann-json3-dev libcrypto++-dev
  doctest-dev libspdlog-dev libfmt-dev libssl-dev)
test_pkgs=(clang libclang-rt-14-dev awscli python3-boto3 python3-pytest python3-pytest-xdist
  libnfs-utils libnfs-dev nodejs npm sqlite3 curl
  qemu-system-x86 socat busybox-static cpio xz-utils
  nfs-ganesha nfs-ganesha-vfs stunnel4 chromium python3-yaml
  podman buildah runc slirp4netns)

pkgs=("${build_pkgs[@]}")
[ $want_test = 1 ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The machine's own node/npm may come from elsewhere than Debian: keep it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in nodejs|npm) ;; *) filtered+=("$p") ;; esac
  done
  missing=("${filtered[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (or install: ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $want_test = 1 ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  js="$here/tests/integration/js"
  if [ -f "$js/package.json" ] && { [ ! -d "$js/node_modules/@aws-sdk/client-efs" ] ||
    [ ! -d "$js/node_modules/@aws-sdk/client-kms" ] ||
    [ ! -d "$js/node_modules/playwright-core" ] ||
    [ ! -d "$js/node_modules/@aws-sdk/client-cloudwatch" ]; }; then
    echo "install-deps: npm install in tests/integration/js"
    (cd "$js" && npm install --no-audit --no-fund --loglevel=error)
  fi
fi
