# Sourced by scripts/test.sh: "up" before the tests, "down" after them.
#
# up:   brings up the Slurm test cluster of scripts/slurm-up.sh under $CODESWARM_SLURM_DIR
#       (default /tmp/cs-slurm): munged, slurmctld, slurmd n1..n4 and an sshd on 127.0.0.1:2222
#       acting as the login node, installing the Debian packages first if they are missing.
#       Exports what the Slurm tests read: SLURM_CONF, CODESWARM_SLURM_PARTITION,
#       CODESWARM_SSH_CONFIG, CODESWARM_SSH_HOST, ... Idempotent: a cluster that already runs is
#       kept as it is (a few seconds).
# down: stops the cluster, but only when "up" started it: a cluster someone brought up before
#       the tests is left running.
# Root only (Slurm's daemons run as root here); see scripts/slurm-up.sh.

_cs_slurm_scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_cs_slurm_dir=${CODESWARM_SLURM_DIR:-/tmp/cs-slurm}

# True when this cluster's controller and sshd both run (their pidfiles name live processes).
_cs_slurm_running() {
  local f p
  for f in "$_cs_slurm_dir/run/slurmctld.pid" "$_cs_slurm_dir/ssh/sshd.pid"; do
    [ -s "$f" ] || return 1
    p=$(cat "$f" 2>/dev/null) || return 1
    kill -0 "$p" 2>/dev/null || return 1
  done
}

case "${1:-}" in
  up)
    if _cs_slurm_running; then
      CODESWARM_SLURM_HOOK_STARTED=0
    else
      CODESWARM_SLURM_HOOK_STARTED=1
    fi
    if ! _cs_slurm_env=$("$_cs_slurm_scripts/slurm-up.sh" "$_cs_slurm_dir"); then
      echo "10-slurm.sh: could not bring up the Slurm test cluster (see the messages above)" >&2
      return 1
    fi
    eval "$_cs_slurm_env"
    unset _cs_slurm_env
    ;;
  down)
    if [ "${CODESWARM_SLURM_HOOK_STARTED:-0}" = 1 ]; then
      "$_cs_slurm_scripts/slurm-down.sh" "$_cs_slurm_dir"
    else
      echo "10-slurm.sh: leaving the Slurm test cluster in $_cs_slurm_dir running (it was up before the tests)" >&2
    fi
    ;;
  *)
    echo "usage: . scripts/test-env.d/10-slurm.sh up|down" >&2
    return 2
    ;;
esac
