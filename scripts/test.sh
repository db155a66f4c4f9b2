#!/usr/bin/env bash
# Builds Codeswarm (installing its packages), brings up what the tests need (each
# scripts/test-env.d/*.sh hook: a real Slurm cluster and sshd, the real agent CLIs, ...), runs
# every test suite with ctest (unit, end-to-end against the real binary, Slurm, agents), takes
# down what it brought up, then builds again with AddressSanitizer+UBSan and with
# ThreadSanitizer and runs the unit and core end-to-end tests under each.
# Prints the runners' summaries; exits non-zero when any test fails.
#   CODESWARM_SANITIZERS=0 skips the sanitizer stages; extra arguments go to the first ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CCACHE_BASEDIR=$root
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

status=0
echo "== all tests" >&2
(cd "${CODESWARM_BUILD_DIR:-build}" && ctest --output-on-failure --timeout 900 -j2 "$@") || status=1

if [ "${CODESWARM_SANITIZERS:-1}" != 0 ]; then
  # The core suites (no cluster, no agent binaries): what the sanitizers can see is ours.
  core_tests='^(RouterE2ETest|CliE2ETest)\.'
  for sanitizer in address,undefined thread; do
    dir=build-${sanitizer%%,*}
    echo "== sanitizer $sanitizer: build $dir" >&2
    CODESWARM_BUILD_DIR=$dir CODESWARM_BUILD_TYPE=Debug scripts/build.sh \
      -DCODESWARM_SANITIZE="$sanitizer" -DCMAKE_CXX_FLAGS=-O1 >&2
    echo "== sanitizer $sanitizer: tests" >&2
    (cd "$dir" &&
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      ctest --output-on-failure --timeout 900 -j2 -L unit &&
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      ctest --output-on-failure --timeout 900 -j2 -R "$core_tests") || status=1
  done
fi
exit $status
