#!/bin/sh
# Installs the Codeswarm skill (integrations/openclaw/codeswarm/) where OpenClaw looks for skills.
#
#   install.sh                   the shared managed skills directory, seen by every agent of
#                                this OpenClaw (~/.openclaw/skills, or under $OPENCLAW_STATE_DIR)
#   install.sh --workspace DIR   one agent's workspace only: DIR/skills/codeswarm
#
# With `openclaw` on PATH the first form runs OpenClaw's own installer
# (`openclaw skills install DIR --global --force`), so the skill lands wherever this OpenClaw
# keeps its state; without it, the skill is copied to ${OPENCLAW_STATE_DIR:-~/.openclaw}/skills.
# An earlier copy is replaced. OpenClaw shows the skill from its next session on, once
# `codeswarm` is on PATH (the skill requires it).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$here/codeswarm
usage() { echo "usage: $0 [--workspace DIR]" >&2; exit 2; }

# copy_into ROOT: puts the skill at ROOT/codeswarm, replacing what was there.
copy_into() {
  mkdir -p "$1"
  staging=$(mktemp -d "$1/.codeswarm.XXXXXX")
  cp "$source_dir/SKILL.md" "$staging/SKILL.md"
  chmod 755 "$staging"
  chmod 644 "$staging/SKILL.md"
  rm -rf "$1/codeswarm"
  mv "$staging" "$1/codeswarm"
  echo "installed the codeswarm skill in $1/codeswarm"
}

if ! command -v codeswarm >/dev/null 2>&1; then
  echo "warning: codeswarm is not on PATH; OpenClaw lists the skill only once it is" >&2
fi

case "${1:-}" in
  "")
    [ $# -eq 0 ] || usage
    if command -v openclaw >/dev/null 2>&1; then
      openclaw skills install "$source_dir" --global --force
    else
      copy_into "${OPENCLAW_STATE_DIR:-$HOME/.openclaw}/skills"
    fi
    ;;
  --workspace)
    [ $# -eq 2 ] || usage
    copy_into "$2/skills"
    ;;
  -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) usage ;;
esac
