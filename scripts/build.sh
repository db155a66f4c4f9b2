#!/usr/bin/env bash
# Installs the packages, configures and builds Codeswarm into build/ (or $CODESWARM_BUILD_DIR).
# Extra arguments go to cmake, e.g. scripts/build.sh -DCODESWARM_SANITIZE=address,undefined
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh "${CODESWARM_DEPS_FLAG:-}"
build_dir=${CODESWARM_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${CODESWARM_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
jobs=$(nproc)
ninja -C "$build_dir" -j"$jobs"
