#!/usr/bin/env bash
# The main job, end to end on this machine: builds Codeswarm (installing its packages), starts a
# router, launches a local 4-node swarm of mock agents, injects a prompt into all nodes, shows
# the answers streaming back, then terminates the swarm and stops the router.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cs() { build/codeswarm --config configs/demo.json "$@"; }
state=build/demo/state
stop_router() {
  if [ -s "$state/router.lock" ]; then kill "$(cat "$state/router.lock")" 2>/dev/null || true; fi
}
trap stop_router EXIT
stop_router  # a router left from an earlier demo

echo "== codeswarm launch --nodes 4 (starts the router on 127.0.0.1:18765)"
launched=$(cs --json launch --nodes 4 --prompt "You are a helpful coding agent." --wait)
swarm=$(printf '%s\n' "$launched" | grep -o '"swarm_id":"s-[0-9a-f]*"' | head -n 1 | cut -d'"' -f4)
echo "swarm $swarm: 4 nodes connected"
echo
echo "== codeswarm inject $swarm --nodes all"
cs inject "$swarm" --nodes all --prompt "Explain in one line what a Slurm job array is."
echo
echo "== codeswarm status $swarm"
cs status "$swarm"
echo
echo "== codeswarm terminate $swarm"
cs terminate "$swarm"
