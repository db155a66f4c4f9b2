#!/usr/bin/env bash
# slurm-down.sh [BASE_DIR] [--purge] -- stop everything slurm-up.sh started under BASE_DIR:
# cancels jobs, stops ssh ControlMaster + sshd, slurmd x N, slurmctld, [slurmdbd, mariadbd], munged (by pidfile,
# only if the pid's cmdline names this BASE_DIR), then leftover slurmstepd of this cluster.
# --purge also deletes BASE_DIR (state, logs, keys) and the login user. Safe to run twice / when nothing runs.
set -uo pipefail
B=${CODESWARM_SLURM_DIR:-/tmp/cs-slurm}; PURGE=0
for a in "$@"; do case $a in --purge) PURGE=1 ;; *) B=$a ;; esac; done
case $B in /*) ;; *) B=$PWD/$B ;; esac
T0=${EPOCHREALTIME/[.,]/}
log() { printf '[slurm-down %6.2fs] %s\n' "$(( ${EPOCHREALTIME/[.,]/} - T0 ))e-6" "$*" >&2; }
live_pid() { local f=$1 pat=$2 p
  [ -s "$f" ] || return 1; p=$(cat "$f" 2>/dev/null) || return 1
  [ -r /proc/$p/cmdline ] && tr '\0' ' ' </proc/$p/cmdline | grep -qF -- "$pat" && echo "$p"; }
# slurmdbd's cmdline is bare: recognise ours by SLURM_CONF in its environment
live_dbd() { local p; p=$(live_pid $B/run/slurmdbd.pid slurmdbd) || return 1
  tr '\0' '\n' </proc/$p/environ 2>/dev/null | grep -qxF "SLURM_CONF=$B/etc/slurm.conf" && echo "$p"; }
stop_pids() { local p i alive  # TERM all, wait up to 10s, KILL the rest
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null
  for i in $(seq 100); do
    alive=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0; sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null; sleep 0.2; }

[ -d "$B" ] || { log "$B does not exist, nothing to do"; exit 0; }
export SLURM_CONF=$B/etc/slurm.conf
S=$B/ssh

# 1. jobs (their processes belong to slurmstepd, which outlive slurmd)
if live_pid $B/run/slurmctld.pid "$SLURM_CONF" >/dev/null; then
  jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    log "cancelling jobs: $jobs"; scancel $jobs 2>/dev/null
    for i in $(seq 150); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
  fi
fi

# 2. ssh client ControlMaster (a client process, not a child of sshd)
if [ -f $S/ssh_config ]; then
  ssh -F $S/ssh_config -O exit codeswarm-test >/dev/null 2>&1 && log "ssh control master closed"
fi

# 3. one TERM wave (each daemon needs ~2s to exit, so do them together):
#    sshd listener + its session children, slurmd x N, slurmctld, slurmdbd, mariadbd, munged
pids=()
if p=$(live_pid $S/sshd.pid "$S/sshd_config"); then
  pids+=($p $(ps -o pid= --ppid "$p" 2>/dev/null)); rm -f $S/sshd.pid
fi
for f in $B/run/slurmd-*.pid $B/run/slurmctld.pid; do
  [ -e "$f" ] || continue
  p=$(live_pid "$f" "$SLURM_CONF") && pids+=($p)
  rm -f "$f"
done
p=$(live_dbd) && pids+=($p)
p=$(live_pid $B/db/mysqld.pid "$B/db/data") && pids+=($p)
p=$(live_pid $B/munge/munged.pid "$B/munge/munge.socket.2") && pids+=($p)
rm -f $B/munge/munged.pid $B/run/slurmdbd.pid
if [ ${#pids[@]} -gt 0 ]; then stop_pids "${pids[@]}"; log "stopped sshd/slurmd/slurmctld/slurmdbd/mariadbd/munged (${pids[*]})"; fi

# 4. leftover slurmstepd of THIS cluster (identified by SLURM_CONF in their environment)
left=()
for d in /proc/[0-9]*; do
  [ "$(cat $d/comm 2>/dev/null)" = slurmstepd ] || continue
  tr '\0' '\n' < $d/environ 2>/dev/null | grep -qxF "SLURM_CONF=$SLURM_CONF" && left+=(${d#/proc/})
done
[ ${#left[@]} -gt 0 ] && { log "killing leftover slurmstepd ${left[*]}"; stop_pids "${left[@]}"; }

if [ $PURGE = 1 ]; then
  # the login user slurm-up.sh created, recognised by its home in this BASE_DIR
  u=${CODESWARM_SLURM_USER:-cs-slurm-user}
  if [ "$(getent passwd "$u" | cut -d: -f6)" = "$B/home" ]; then
    pkill -KILL -u "$u" 2>/dev/null; userdel "$u" && log "removed login user $u"
  fi
  rm -rf "$B"; log "purged $B"
fi
log "done"
