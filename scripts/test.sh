#!/usr/bin/env bash
# Builds Codeswarm (installing its packages) and runs every test suite with ctest: unit tests
# and end-to-end tests against the real binary. Prints the runner's summary; exits non-zero when
# any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
CODESWARM_DEPS_FLAG=--test scripts/build.sh
cd "${CODESWARM_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j2 "$@"
