#!/usr/bin/env bash
# Installs the packages, configures and builds Codeswarm into build/ (or $CODESWARM_BUILD_DIR).
# Extra arguments go to cmake, e.g. scripts/build.sh -DCODESWARM_SANITIZE=address,undefined
#   scripts/build.sh --static   builds the self-contained binary build-static/codeswarm (no shared
#                               library, glibc and libstdc++ inside; docs/BUILD.md) and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
static=0
if [ "${1:-}" = "--static" ]; then
  static=1
  shift
fi
scripts/install-deps.sh "${CODESWARM_DEPS_FLAG:-}"
jobs=$(nproc)
if [ $static = 1 ]; then
  build_dir=${CODESWARM_BUILD_DIR:-build-static}
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${CODESWARM_BUILD_TYPE:-RelWithDebInfo}" \
    -DCODESWARM_STATIC=ON -DCODESWARM_BUILD_TESTS=OFF "$@" >/dev/null
  ninja -C "$build_dir" -j"$jobs" codeswarm
  exit 0
fi
build_dir=${CODESWARM_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${CODESWARM_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
ninja -C "$build_dir" -j"$jobs"
