#!/usr/bin/env bash
# Installs the Debian 12 packages Codeswarm builds and tests with. Idempotent; needs root (or
# sudo). Usage: scripts/install-deps.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail

packages=(g++ cmake ninja-build ccache pkg-config
          libboost1.81-dev libboost-json1.81-dev libcli11-dev libspdlog-dev libsqlite3-dev
          libgtest-dev libssl-dev)
if [ "${1:-}" = "--test" ]; then
  packages+=(procps openssl)  # openssl: the CLI makes the HTTPS tests' throwaway CA
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

run_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
run_root apt-get update -q >&2
run_root apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
