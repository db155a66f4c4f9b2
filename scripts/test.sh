#!/usr/bin/env bash
# Builds Codeswarm (installing its packages), brings up what the tests need (each
# scripts/test-env.d/*.sh hook: a real Slurm cluster and sshd, the real agent CLIs, ...), runs
# every test suite with ctest (unit, end-to-end against the real binary, Slurm, agents), and
# takes down what it brought up. Prints the runner's summary; exits non-zero when a test fails.
# Extra arguments go to ctest (e.g. -L unit, -R Slurm).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CODESWARM_DEPS_FLAG=--test scripts/build.sh

hooks=()
for hook in scripts/test-env.d/*.sh; do [ -e "$hook" ] && hooks+=("$hook"); done
down() {
  for hook in "${hooks[@]}"; do (cd "$root" && . "$hook" down) || true; done
}
trap down EXIT
# Each hook, sourced with "up", installs and starts its part and exports what the tests read.
for hook in "${hooks[@]}"; do
  echo "== test environment: $hook up" >&2
  . "$hook" up
  cd "$root"
done

cd "${CODESWARM_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j2 "$@"
