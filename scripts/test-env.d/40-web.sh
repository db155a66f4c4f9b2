# Test environment for the web UI's browser tests (sourced by scripts/test.sh with "up" or "down").
#
# up:   installs Debian's `chromium` when missing (never a browser download from elsewhere) and
#       the pinned `playwright-core` from the npm registry into the same cache as the agent CLIs
#       ($CODESWARM_AGENT_CACHE, default /var/cache/codeswarm/npm, skipped when already
#       complete), and exports the paths tests/web/ reads:
#         CODESWARM_CHROMIUM        the browser (/usr/bin/chromium)
#         CODESWARM_PLAYWRIGHT      playwright-core's directory (tests import it from there)
# down: nothing to stop (each test starts and stops its own router and browser).
#
# Needs 20-agents.sh (sourced before this one) for Debian's npm and for codeswarm_agents_npm.
# Sourced, not run: no `exit`, and every variable is local to a function.

codeswarm_web_up() {
  command -v codeswarm_agents_npm >/dev/null || . scripts/test-env.d/20-agents.sh
  codeswarm_agents_apt chromium=chromium npm=npm || return 1
  export CODESWARM_CHROMIUM=/usr/bin/chromium
  [ -x "$CODESWARM_CHROMIUM" ] || { echo "40-web: no chromium at $CODESWARM_CHROMIUM" >&2; return 1; }

  # playwright-core only drives a browser; it downloads none (that is the `playwright` package).
  local dir
  dir=$(codeswarm_agents_npm playwright-core 1.65.1) || return 1
  export CODESWARM_PLAYWRIGHT="$dir/node_modules/playwright-core"
  [ -f "$CODESWARM_PLAYWRIGHT/package.json" ] || { echo "40-web: no playwright-core at $CODESWARM_PLAYWRIGHT" >&2; return 1; }
}

case "${1:-}" in
  up) codeswarm_web_up ;;
  down) : ;;
esac
