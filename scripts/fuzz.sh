#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang into build-fuzz/ (installing clang and
# libFuzzer when missing) and runs each for a bounded time and number of runs, starting from its
# seed corpus in fuzz/corpus/<target>/. Prints per target the runs done and whether it found a
# crash; a crashing input is kept in build-fuzz/crashes/<target>/. Exits non-zero on a crash or
# a failed build. See docs/FUZZING.md.
#   scripts/fuzz.sh [target...]          targets: client_line worker_line line_framer journal_chunk
#                                        (default all)
#   CODESWARM_FUZZ_SECONDS  time per target (default 60)
#   CODESWARM_FUZZ_RUNS     most runs per target (default 20000000)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CCACHE_BASEDIR=$root
seconds=${CODESWARM_FUZZ_SECONDS:-60}
runs=${CODESWARM_FUZZ_RUNS:-20000000}
build_dir=build-fuzz
all_targets=(client_line worker_line line_framer journal_chunk)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

# clang and libFuzzer (Debian 12: clang 14; libFuzzer is in libclang-rt-14-dev).
can_fuzz() {
  command -v clang++ >/dev/null &&
    echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    clang++ -x c++ -fsanitize=fuzzer,address,undefined - -o /dev/null 2>/dev/null
}
scripts/install-deps.sh
if ! can_fuzz; then
  run_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  echo "installing clang and libFuzzer" >&2
  export DEBIAN_FRONTEND=noninteractive
  run_root apt-get update -q >&2
  run_root apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev >&2
  can_fuzz || { echo "fuzz: clang++ cannot link a libFuzzer target" >&2; exit 1; }
fi

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCODESWARM_FUZZ=ON -DCODESWARM_BUILD_TESTS=OFF >/dev/null
ninja -C "$build_dir" -j"$(nproc)" "${targets[@]/#/fuzz_}"

status=0
results=()
for target in "${targets[@]}"; do
  work=$build_dir/corpus/$target      # what this run adds; the seeds in the repo stay as they are
  crashes=$build_dir/crashes/$target
  log=$build_dir/fuzz_$target.log
  mkdir -p "$work" "$crashes"
  echo "== fuzz_$target: up to ${seconds}s, ${runs} runs" >&2
  rc=0
  "$build_dir/fuzz/fuzz_$target" -max_total_time="$seconds" -runs="$runs" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
    "$work" "fuzz/corpus/$target" >"$log" 2>&1 || rc=$?
  done_runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' ||
    echo "?")
  if [ "$rc" = 0 ]; then
    results+=("fuzz_$target: $done_runs runs, no crash")
  else
    status=1
    input=$(ls -t "$crashes" 2>/dev/null | head -1)
    grep -E 'invariant broken|ERROR: |SUMMARY: ' "$log" | head -5 >&2 || true
    results+=("fuzz_$target: CRASH after $done_runs runs (exit $rc); input kept in $crashes/${input:-?}; replay: $build_dir/fuzz/fuzz_$target <input>; log: $log")
  fi
done
printf '%s\n' "${results[@]}"
exit $status
