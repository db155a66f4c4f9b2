#!/usr/bin/env bash
# slurm-up.sh [BASE_DIR] -- bring up a throw-away REAL Slurm cluster on 127.0.0.1
# (munged + slurmctld + N x slurmd, all under BASE_DIR) plus a test sshd on
# 127.0.0.1:$CODESWARM_SSH_PORT acting as "login node". Idempotent: re-running
# keeps what is already up (restarts only what changed). Installs its own
# Debian packages if missing. Tested on Debian 12 (Slurm 22.05.8, OpenSSH 9.2), root.
# The ssh alias logs in as an unprivileged user of its own ($CODESWARM_SLURM_USER, created
# here, home BASE_DIR/home with no shell rc files), whose jobs Slurm runs: what a user of a
# real login node is, and independent of this machine's own dotfiles (root's may be slow).
# The Slurm end-to-end tests run against it (scripts/test.sh starts it through
# scripts/test-env.d/10-slurm.sh); scripts/slurm-down.sh stops it.
#
# stdout: only `export ...` lines  ->  eval "$(scripts/slurm-up.sh)"
#         (same lines are written to BASE_DIR/env.sh); progress goes to stderr.
# Knobs (env): CODESWARM_SLURM_NNODES=4  CODESWARM_SLURM_CPUS=8 (per node, overcommitted)
#   CODESWARM_SLURMCTLD_PORT=16817  CODESWARM_SLURMD_PORT_BASE=17000 (n1=17001,...)
#   CODESWARM_MIN_JOB_AGE=300  CODESWARM_KILL_WAIT=5  CODESWARM_SSH=1 (0: no sshd)
#   CODESWARM_ENFORCE_PART_LIMITS=NO (Slurm's default: impossible requests pend forever with
#     Reason=PartitionConfig/PartitionNodeLimit, which the tests want to see; ALL rejects them)
#   CODESWARM_SSH_PORT=2222  CODESWARM_SLURM_USER=cs-slurm-user (the login user)
#   CODESWARM_SLURMDBD=0 (1: also MariaDB + slurmdbd so plain `sacct` works; +~13s install, +~1.5s start)
#   CODESWARM_SLURMDBD_PORT=16819  CODESWARM_DB_PORT=13306
set -euo pipefail

B=${1:-${CODESWARM_SLURM_DIR:-/tmp/cs-slurm}}
NNODES=${CODESWARM_SLURM_NNODES:-4}
NCPUS=${CODESWARM_SLURM_CPUS:-8}
CTLD_PORT=${CODESWARM_SLURMCTLD_PORT:-16817}
SLURMD_PORT_BASE=${CODESWARM_SLURMD_PORT_BASE:-17000}
MIN_JOB_AGE=${CODESWARM_MIN_JOB_AGE:-300}
KILL_WAIT=${CODESWARM_KILL_WAIT:-5}
ENFORCE_PART_LIMITS=${CODESWARM_ENFORCE_PART_LIMITS:-NO}
WANT_SSH=${CODESWARM_SSH:-1}
SSH_PORT=${CODESWARM_SSH_PORT:-2222}
LOGIN_USER=${CODESWARM_SLURM_USER:-cs-slurm-user}
SSH_ALIAS=codeswarm-test
WANT_DBD=${CODESWARM_SLURMDBD:-0}
DBD_PORT=${CODESWARM_SLURMDBD_PORT:-16819}
DB_PORT=${CODESWARM_DB_PORT:-13306}

log() { printf '[slurm-up %6.2fs] %s\n' "$(( ${EPOCHREALTIME/[.,]/} - T0 ))e-6" "$*" >&2; }
T0=${EPOCHREALTIME/[.,]/}
die() { log "ERROR: $*"; exit 1; }

case $B in /*) ;; *) B=$PWD/$B ;; esac
for v in NNODES NCPUS CTLD_PORT SLURMD_PORT_BASE MIN_JOB_AGE KILL_WAIT SSH_PORT DBD_PORT DB_PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number (got '${!v}')"
done
# unix socket paths (ssh ControlPath = $B/ssh/cm-<40 hex>) must stay < 108 bytes
[ ${#B} -le 55 ] || die "BASE_DIR too long (${#B} > 55 chars): unix socket paths would overflow"
[ "$(id -u)" = 0 ] || die "must run as root (SlurmUser=root, sshd)"

# ---------------------------------------------------------------- packages
need=()
for c in slurmctld slurmd slurmstepd sbatch munged mungekey; do command -v $c >/dev/null || need+=($c); done
[ "$WANT_SSH" = 1 ] && { [ -x /usr/sbin/sshd ] || need+=(sshd); command -v ssh >/dev/null || need+=(ssh); }
for c in pgrep useradd; do command -v $c >/dev/null || need+=($c); done
pkgs="slurmctld slurmd slurm-client munge openssh-server openssh-client procps passwd"
if [ "$WANT_DBD" = 1 ]; then
  for c in slurmdbd mariadbd mariadb-install-db mariadb; do command -v $c >/dev/null || need+=($c); done
  pkgs="$pkgs slurmdbd mariadb-server"
fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing packages (missing: ${need[*]})"
  # stop package postinst scripts from starting system-wide munge/slurm/sshd
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends $pkgs >&2
  if [ $own_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  log "packages installed"
fi

# ---------------------------------------------------------------- helpers
# pid from pidfile if that process is alive AND its cmdline contains $2
live_pid() { local f=$1 pat=$2 p
  [ -s "$f" ] || return 1; p=$(cat "$f" 2>/dev/null) || return 1
  [ -r /proc/$p/cmdline ] && tr '\0' ' ' </proc/$p/cmdline | grep -qF -- "$pat" && echo "$p"; }
# slurmdbd's cmdline is bare: recognise ours by SLURM_CONF in its environment
live_dbd() { local p; p=$(live_pid $B/run/slurmdbd.pid slurmdbd) || return 1
  tr '\0' '\n' </proc/$p/environ 2>/dev/null | grep -qxF "SLURM_CONF=$B/etc/slurm.conf" && echo "$p"; }
stop_pids() { local p i alive  # TERM all, wait up to 10s, then KILL the rest
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for i in $(seq 100); do
    alive=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0; sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true; }
# install $1.new as $1; returns 0 if content changed
install_if_changed() { if cmp -s "$1.new" "$1"; then rm -f "$1.new"; return 1; fi; mv "$1.new" "$1"; return 0; }

mkdir -p "$B"/{etc,state,spool,log,run,munge,jobs}
chmod 755 "$B" "$B/munge"   # munged: socket dir must be world-executable

# ---------------------------------------------------------------- munge
M=$B/munge
[ -s $M/munge.key ] || { mungekey -c -k $M/munge.key >&2; }
chmod 600 $M/munge.key
if live_pid $M/munged.pid $M/munge.socket.2 >/dev/null; then
  log "munged already running"
else
  munged --force --key-file=$M/munge.key --socket=$M/munge.socket.2 \
    --pid-file=$M/munged.pid --log-file=$M/munged.log --seed-file=$M/munged.seed
  log "munged started"
fi
for i in $(seq 50); do munge -n -S $M/munge.socket.2 2>/dev/null | unmunge -S $M/munge.socket.2 >/dev/null 2>&1 && break; sleep 0.1; done
munge -n -S $M/munge.socket.2 | unmunge -S $M/munge.socket.2 >/dev/null || die "munge round-trip failed, see $M/munged.log"

# ---------------------------------------------------------------- slurm.conf
export SLURM_CONF=$B/etc/slurm.conf
if [ "$WANT_DBD" = 1 ]; then
  ACCT_CONF="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# with auth/munge this names the munge socket used towards slurmdbd (else /run/munge/...)
AccountingStoragePass=$M/munge.socket.2
JobAcctGatherType=jobacct_gather/linux"
else
  ACCT_CONF="# no slurmdbd: plain sacct fails ('Slurm accounting storage is disabled')
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi
: > $B/etc/plugstack.conf.new; install_if_changed $B/etc/plugstack.conf || true
cat > $SLURM_CONF.new <<EOF
# generated by slurm-up.sh -- single-machine test cluster
ClusterName=codeswarm
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$M/munge.socket.2
StateSaveLocation=$B/state
SlurmdSpoolDir=$B/spool/%n
SlurmctldPidFile=$B/run/slurmctld.pid
SlurmdPidFile=$B/run/slurmd-%n.pid
SlurmctldLogFile=$B/log/slurmctld.log
SlurmdLogFile=$B/log/slurmd-%n.log
PlugStackConfig=$B/etc/plugstack.conf
# no cgroups: process tracking by /proc walk, no task binding. (cgroup v1 plugins do work on
# this VM, but they create /sys/fs/cgroup/*/slurm_n* and move job processes out of the sandbox's
# memory cgroup -- nothing outside BASE_DIR is touched this way.)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
$ACCT_CONF
# finished jobs are also appended to JobCompLoc; 'sacct -c' reads it (works without slurmdbd)
JobCompType=jobcomp/filetxt
JobCompLoc=$B/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
ReturnToService=2
# accept configured CPUs/memory even though the machine has fewer
SlurmdParameters=config_overrides
MinJobAge=$MIN_JOB_AGE
KillWait=$KILL_WAIT
SlurmdTimeout=60
InactiveLimit=0
# NO (Slurm's default): impossible requests are accepted and pend forever (Reason=PartitionConfig,
# PartitionNodeLimit, ...), which is what a launcher must notice. ALL rejects them at submit time.
EnforcePartLimits=$ENFORCE_PART_LIMITS
NodeName=n[1-$NNODES] NodeHostname=localhost NodeAddr=127.0.0.1 Port=$((SLURMD_PORT_BASE+1))-$((SLURMD_PORT_BASE+NNODES)) CPUs=$NCPUS RealMemory=8192 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
if install_if_changed $SLURM_CONF; then
  log "slurm.conf (re)written"
  # config changed: stop whatever slurm daemons of ours are running, they restart below
  pids=()
  for f in $B/run/slurmd-*.pid $B/run/slurmctld.pid; do
    [ -e "$f" ] || continue
    p=$(live_pid "$f" "$SLURM_CONF") && pids+=($p)
    rm -f "$f"
  done
  [ ${#pids[@]} -gt 0 ] && { log "config changed: restarting slurm daemons (${pids[*]})"; stop_pids "${pids[@]}"; }
fi

# ---------------------------------------------------------------- MariaDB + slurmdbd (optional)
D=$B/db
if [ "$WANT_DBD" = 1 ]; then
  mkdir -p $D
  if [ ! -d $D/data/mysql ]; then
    rm -rf $D/data
    mariadb-install-db --no-defaults --datadir=$D/data --user=root --skip-test-db \
      --auth-root-authentication-method=socket > $D/install.log 2>&1 || die "mariadb-install-db failed, see $D/install.log"
    log "mariadb datadir initialised"
  fi
  if live_pid $D/mysqld.pid "$D/data" >/dev/null; then
    log "mariadbd already running"
  else
    setsid mariadbd --no-defaults --datadir=$D/data --socket=$D/mysqld.sock --port=$DB_PORT \
      --bind-address=127.0.0.1 --skip-name-resolve --user=root --pid-file=$D/mysqld.pid \
      --log-error=$D/mysqld.err --skip-log-bin --innodb-buffer-pool-size=128M \
      --innodb-log-file-size=64M --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
    for i in $(seq 100); do mariadb --no-defaults -S $D/mysqld.sock -u root -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
    log "mariadbd started on 127.0.0.1:$DB_PORT"
  fi
  mariadb --no-defaults -S $D/mysqld.sock -u root -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'codeswarm'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" \
    || die "mariadb not reachable, see $D/mysqld.err"
  # slurmdbd has no -f: it reads slurmdbd.conf from dirname($SLURM_CONF); must be mode 600
  cat > $B/etc/slurmdbd.conf.new <<EOF
AuthType=auth/munge
AuthInfo=socket=$M/munge.socket.2
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$B/run/slurmdbd.pid
LogFile=$B/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=codeswarm
StorageLoc=slurm_acct_db
EOF
  chmod 600 $B/etc/slurmdbd.conf.new
  if install_if_changed $B/etc/slurmdbd.conf; then
    p=$(live_dbd) && { log "slurmdbd.conf changed: restarting slurmdbd"; stop_pids $p; }
  fi
  if live_dbd >/dev/null; then
    log "slurmdbd already running"
  else
    slurmdbd
    for i in $(seq 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.1; done
    sacctmgr -n list cluster >/dev/null || die "slurmdbd not answering, see $B/log/slurmdbd.log"
    log "slurmdbd started on 127.0.0.1:$DBD_PORT"
  fi
else  # accounting off: stop slurmdbd/mariadbd left from an earlier CODESWARM_SLURMDBD=1 run
  pids=(); p=$(live_dbd) && pids+=($p); p=$(live_pid $D/mysqld.pid "$D/data") && pids+=($p)
  [ ${#pids[@]} -gt 0 ] && { log "stopping slurmdbd/mariadbd (${pids[*]})"; stop_pids "${pids[@]}"; }
fi

# ---------------------------------------------------------------- daemons
if live_pid $B/run/slurmctld.pid "$SLURM_CONF" >/dev/null; then
  log "slurmctld already running"
else
  slurmctld -f "$SLURM_CONF"; log "slurmctld started"
fi
for n in $(seq 1 $NNODES); do
  mkdir -p $B/spool/n$n
  if live_pid $B/run/slurmd-n$n.pid "$SLURM_CONF" >/dev/null; then continue; fi
  slurmd -f "$SLURM_CONF" -N n$n
done
log "slurmd n1..n$NNODES started/running"

ok=0
for i in $(seq 300); do   # up to 30s
  states=$(sinfo -h -N -o '%t' 2>/dev/null | sort | uniq -c | tr -s ' ' | tr '\n' ',') || true
  # usable = idle/mix/alloc/comp without a flag suffix (* = not responding, ~ # ! % $ @ ...)
  idle=$(sinfo -h -N -o '%t' 2>/dev/null | grep -cxE 'idle|mix|alloc|comp') || idle=0
  [ "$idle" -ge "$NNODES" ] && { ok=1; break; }
  # nodes left drained/down by an earlier run: resume them
  if [ $i = 10 ]; then scontrol update NodeName=n[1-$NNODES] State=RESUME 2>/dev/null || true; fi
  sleep 0.1
done
[ $ok = 1 ] || die "nodes not idle after 30s (states:$states); see $B/log/"
log "slurm up: $(sinfo -h -o '%P %a %D %T %N' | tr '\n' ' ')"

# ---------------------------------------------------------------- sshd ("login node")
S=$B/ssh
if [ "$WANT_SSH" = 1 ]; then
  mkdir -p $S; chmod 700 $S
  mkdir -p /run/sshd; chmod 755 /run/sshd   # privilege-separation dir, compiled-in path (unavoidable)
  [ -s $S/host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f $S/host_ed25519_key -C codeswarm-test-host
  [ -s $S/id_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -f $S/id_ed25519 -C codeswarm-test-client
  # The login user: '*' rather than useradd's '!' as its password, which sshd without PAM
  # would take for a locked account; key-only login either way.
  if ! id -u "$LOGIN_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir $B/home --shell /bin/bash "$LOGIN_USER"
    log "created login user $LOGIN_USER"
  fi
  usermod --home $B/home --password '*' "$LOGIN_USER"
  mkdir -p $B/home/.ssh
  cp $S/id_ed25519.pub $B/home/.ssh/authorized_keys
  chown -R "$LOGIN_USER": $B/home; chmod 755 $B/home; chmod 700 $B/home/.ssh
  chmod 600 $B/home/.ssh/authorized_keys
  cat > $S/sshd_config.new <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $S/host_ed25519_key
PidFile $S/sshd.pid
AuthorizedKeysFile $B/home/.ssh/authorized_keys
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# keys live under /tmp (mode 1777), which StrictModes would reject
StrictModes no
MaxSessions 64
MaxStartups 64:30:128
# what /etc/slurm/slurm.conf would give on a real login node
SetEnv SLURM_CONF=$SLURM_CONF
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
  cat > $S/ssh_config.new <<EOF
Host $SSH_ALIAS
  HostName 127.0.0.1
  Port $SSH_PORT
  User $LOGIN_USER
  IdentityFile $S/id_ed25519
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  BatchMode yes
  ConnectTimeout 5
  ControlMaster auto
  ControlPath $S/cm-%C
  ControlPersist 60
EOF
  install_if_changed $S/ssh_config || true
  if install_if_changed $S/sshd_config; then
    p=$(live_pid $S/sshd.pid "$S/sshd_config") && { log "sshd_config changed: restarting sshd"; stop_pids "$p"; }
  fi
  if live_pid $S/sshd.pid "$S/sshd_config" >/dev/null; then
    log "sshd already running"
  else
    /usr/sbin/sshd -t -f $S/sshd_config || die "sshd config test failed"
    # a listener of this config whose pidfile is gone (an interrupted slurm-down) holds the port
    stray=$(pgrep -f -x -- "sshd: /usr/sbin/sshd -f $S/sshd_config .*\[listener\].*" || true)
    [ -n "$stray" ] && { log "stopping stray sshd $stray"; stop_pids $stray; }
    /usr/sbin/sshd -f $S/sshd_config -E $S/sshd.log
    log "sshd started on 127.0.0.1:$SSH_PORT"
  fi
  r=
  for i in $(seq 50); do   # up to ~5s: sshd may still be binding
    r=$(ssh -F $S/ssh_config -o ControlMaster=no -o ControlPath=none $SSH_ALIAS 'sinfo -h -o %D' 2>/dev/null) && break
    sleep 0.1
  done
  [ -n "$r" ] || die "ssh $SSH_ALIAS failed, see $S/sshd.log"
  log "ssh $SSH_ALIAS ok as $LOGIN_USER (remote sinfo sees $r nodes)"
fi

# ---------------------------------------------------------------- env
{
  echo "export CODESWARM_SLURM_DIR=$B"
  echo "export SLURM_CONF=$SLURM_CONF"
  echo "export CODESWARM_SLURM_PARTITION=debug"
  echo "export CODESWARM_SLURM_NODELIST='n[1-$NNODES]'"
  echo "export CODESWARM_SLURM_JOBDIR=$B/jobs"
  [ "$WANT_DBD" = 1 ] && echo "export CODESWARM_SLURM_ACCOUNTING=slurmdbd" || echo "export CODESWARM_SLURM_ACCOUNTING=none"
  if [ "$WANT_SSH" = 1 ]; then
    echo "export CODESWARM_SSH_CONFIG=$S/ssh_config"
    echo "export CODESWARM_SSH_HOST=$SSH_ALIAS"
    echo "export CODESWARM_SSH_USER=$LOGIN_USER"
  fi
} > $B/env.sh.new
mv $B/env.sh.new $B/env.sh
cat $B/env.sh
log "done"
