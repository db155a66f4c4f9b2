# Test environment for the real agent CLIs (sourced by scripts/test.sh with "up" or "down").
#
# up:   installs Debian's nodejs, npm and python3 when missing, installs each pinned agent CLI
#       from the npm registry into a cache that persists between runs on this machine
#       ($CODESWARM_AGENT_CACHE, default /var/cache/codeswarm/npm, one directory per package
#       and version, skipped when already complete), and exports the paths the tests read.
# down: nothing to stop (the tests start and stop their own stub model servers).
#
# Sourced, not run: no `exit`, and every variable is local to a function.

# codeswarm_agents_apt COMMAND=PACKAGE...: installs the Debian package of each command that is
# not there (by command, not package: a node from elsewhere that bundles npm is fine).
codeswarm_agents_apt() {
  local missing=() pair
  for pair in "$@"; do
    [ -x "/usr/bin/${pair%%=*}" ] || command -v "${pair%%=*}" >/dev/null || missing+=("${pair#*=}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "20-agents: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# codeswarm_agents_npm PACKAGE VERSION: installs PACKAGE@VERSION into the cache (once) and
# prints its prefix directory.
codeswarm_agents_npm() {
  local package=$1 version=$2
  local cache=${CODESWARM_AGENT_CACHE:-/var/cache/codeswarm/npm}
  local dir="$cache/${package//\//_}-$version"
  if [ ! -e "$dir/.complete" ]; then
    echo "20-agents: npm install $package@$version into $dir" >&2
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    npm install --prefix "$dir.tmp" --no-audit --no-fund --loglevel=error \
      "$package@$version" >&2 || { rm -rf "$dir.tmp"; return 1; }
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    touch "$dir/.complete"
  fi
  echo "$dir"
}

codeswarm_agents_up() {
  codeswarm_agents_apt node=nodejs npm=npm python3=python3 || return 1

  # --- codex (@openai/codex, pinned: the version shared/reference transcripts were recorded with)
  local codex_dir
  codex_dir=$(codeswarm_agents_npm @openai/codex 0.169.0) || return 1
  export CODESWARM_CODEX_BIN="$codex_dir/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
  [ -x "$CODESWARM_CODEX_BIN" ] || { echo "20-agents: no codex binary at $CODESWARM_CODEX_BIN" >&2; return 1; }

  # --- claude (@anthropic-ai/claude-code, pinned: the version shared/reference transcripts and
  # tests/fixtures/claude were recorded with). 2.1.331 declares node >= 22 but what runs is the
  # native binary of its platform package, which does not use node; npm only warns.
  local claude_dir
  claude_dir=$(codeswarm_agents_npm @anthropic-ai/claude-code 2.1.331) || return 1
  export CODESWARM_CLAUDE_BIN="$claude_dir/node_modules/@anthropic-ai/claude-code-linux-x64/claude"
  [ -x "$CODESWARM_CLAUDE_BIN" ] || { echo "20-agents: no claude binary at $CODESWARM_CLAUDE_BIN" >&2; return 1; }

  # The stub model server (tests/stub/) runs on Debian's python3.
  export CODESWARM_PYTHON
  CODESWARM_PYTHON=$(command -v /usr/bin/python3 || command -v python3)
}

case "${1:-}" in
  up) codeswarm_agents_up ;;
  down) : ;;
esac
