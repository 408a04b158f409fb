#!/usr/bin/env bash
# Start a throw-away single-node SLURM cluster on this machine (for tests/test_slurm.py).
#
# Installs Debian's slurm-wlm and munge with apt-get when they are missing, writes
# /etc/slurm/slurm.conf and gres.conf for one node named `hostname -s` (its CPUs and memory
# as `slurmd -C` reports them, memory at least 32 GB, plus stand-in GPU device nodes), starts
# munged (as the munge user), slurmctld and slurmd, records their PIDs and waits until the
# node is idle.
# Stop everything it started with .ci/slurm/teardown.sh.
#
# Environment: RELATE_SLURM_STATE_DIR (default /tmp/relate-slurm: PIDs, logs, SLURM state),
#              RELATE_SLURM_PARTITION (default main: must match workflow/profiles/slurm).
# Exit codes:  0 ready (or already running from an earlier call)
#              3 SLURM cannot be installed here (not root and no sudo, no apt-get, apt failed)
#              4 the daemons did not come up (logs are in the state directory)
#              5 a SLURM configuration not written by this script is in the way
set -euo pipefail

readonly MARKER="# Written by relate-repro .ci/slurm/setup.sh; removed by teardown.sh"
readonly STATE_DIR=${RELATE_SLURM_STATE_DIR:-/tmp/relate-slurm}
readonly PARTITION=${RELATE_SLURM_PARTITION:-main}
readonly PIDS="$STATE_DIR/pids"
readonly CONF_DIR=/etc/slurm
readonly WAIT_S=60
readonly MIN_MEMORY_MB=32768
readonly TEARDOWN="$(cd "$(dirname "$0")" && pwd)/teardown.sh"

say() { echo "slurm setup: $*"; }
give_up() { # code, message
    say "$2" >&2
    exit "$1"
}

if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        exec sudo -n --preserve-env=RELATE_SLURM_STATE_DIR,RELATE_SLURM_PARTITION "$0" "$@"
    fi
    give_up 3 "SKIP: needs root or password-less sudo to install and start SLURM"
fi

alive() { kill -0 "$1" 2>/dev/null; }

mkdir -p "$STATE_DIR"

if [[ -f $PIDS ]]; then
    while read -r name pid; do
        alive "$pid" || give_up 4 "$name (PID $pid from $PIDS) is gone: run $TEARDOWN first"
    done <"$PIDS"
    say "already running (PIDs in $PIDS)"
    exit 0
fi
for conf in "$CONF_DIR/slurm.conf" "$CONF_DIR/gres.conf"; do
    if [[ -e $conf ]] && ! grep -qxF "$MARKER" "$conf"; then
        give_up 5 "$conf exists and was not written by this script: refusing to overwrite it"
    fi
done

# --- packages --------------------------------------------------------------------------
missing_commands() {
    local cmd
    for cmd in slurmctld slurmd sbatch sinfo squeue scontrol munged munge unmunge; do
        command -v "$cmd" >/dev/null || echo "$cmd"
    done
}
export PATH="$PATH:/usr/sbin:/sbin"
if [[ -n $(missing_commands) ]]; then
    command -v apt-get >/dev/null || give_up 3 "SKIP: SLURM is not installed and there is no apt-get"
    say "installing slurm-wlm and munge with apt-get"
    # Keep the packages' own service scripts from starting daemons this script does not track.
    guard=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        guard=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod 755 "$guard"
        trap 'rm -f "$guard"' EXIT
    fi
    apt_install() {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            slurm-wlm munge >>"$STATE_DIR/apt.log" 2>&1
    }
    apt_install || { apt-get update -q >>"$STATE_DIR/apt.log" 2>&1 && apt_install; } \
        || give_up 3 "SKIP: apt-get could not install slurm-wlm and munge (see $STATE_DIR/apt.log)"
    [[ -n $guard ]] && rm -f "$guard" && trap - EXIT
    [[ -z $(missing_commands) ]] || give_up 3 "SKIP: still missing after install: $(missing_commands)"
fi

# --- configuration ---------------------------------------------------------------------
mkdir -p "$STATE_DIR/ctld" "$STATE_DIR/spool"
: >"$PIDS.starting"
node=$(hostname -s)
# "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24152"
hardware=$(slurmd -C | grep -m1 '^NodeName=' | cut -d' ' -f2-)
[[ $hardware =~ CPUs=([0-9]+) ]] || give_up 4 "slurmd -C did not describe this machine: $hardware"
cpus=${BASH_REMATCH[1]}
# Rules ask for up to 8 GB each: advertise at least MIN_MEMORY_MB so that a small CI machine
# still accepts them (nothing enforces memory here: TaskPlugin=task/none).
[[ $hardware =~ RealMemory=([0-9]+) ]] || give_up 4 "slurmd -C reports no memory: $hardware"
if ((BASH_REMATCH[1] < MIN_MEMORY_MB)); then
    hardware=${hardware/RealMemory=${BASH_REMATCH[1]}/RealMemory=$MIN_MEMORY_MB}
fi
# Stand-in GPUs, one per CPU (at most 8) so GPU jobs can run side by side: SLURM only needs
# character devices here (major 195 is NVIDIA's); nothing ever opens them.
gpus=$((cpus < 8 ? cpus : 8))
mkdir -p "$STATE_DIR/gpus"
for ((i = 0; i < gpus; i++)); do
    rm -f "$STATE_DIR/gpus/$i"
    mknod "$STATE_DIR/gpus/$i" c 195 "$i" || give_up 4 "cannot create a stand-in GPU device in $STATE_DIR/gpus"
done
mkdir -p "$CONF_DIR"
cat >"$CONF_DIR/slurm.conf" <<CONF
$MARKER
ClusterName=relate-ci
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE_DIR/ctld
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/slurmctld.pidfile
SlurmdPidFile=$STATE_DIR/slurmd.pidfile
SlurmctldLogFile=$STATE_DIR/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurmd.log
# No accounting database: sacct cannot answer, so Snakemake must use squeue, which sees a
# finished job for MinJobAge seconds (keep it >= 3x slurm-init-seconds-before-status-checks).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
# Reject at submission a job no node can run (e.g. more CPUs than the node has) instead
# of leaving it pending forever.
EnforcePartLimits=ALL
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Trust this file's node description (RealMemory may be raised to MIN_MEMORY_MB above).
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
ReturnToService=2
KillWait=5
GresTypes=gpu
NodeName=$node NodeAddr=127.0.0.1 $hardware Gres=gpu:$gpus State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
cat >"$CONF_DIR/gres.conf" <<CONF
$MARKER
NodeName=$node Name=gpu File=$STATE_DIR/gpus/[0-$((gpus - 1))]
CONF

# --- daemons ---------------------------------------------------------------------------
started() { # name pid
    echo "$1 $2" >>"$PIDS.starting"
}
fail_started() {
    mv "$PIDS.starting" "$PIDS"
    "$TEARDOWN" >&2 || true
    give_up 4 "$1"
}
wait_for() { # seconds, command...
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}
munge_works() { munge -n | unmunge; }

if munge_works >/dev/null 2>&1; then
    say "using the munged that is already running"
else
    if [[ ! -s /etc/munge/munge.key ]]; then
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    setsid setpriv --reuid=munge --regid=munge --init-groups \
        munged --foreground >"$STATE_DIR/munged.log" 2>&1 </dev/null &
    started munged $!
    wait_for 15 munge_works || fail_started "munged did not start (see $STATE_DIR/munged.log)"
fi
setsid slurmctld -D >"$STATE_DIR/slurmctld.out" 2>&1 </dev/null &
started slurmctld $!
wait_for 30 scontrol ping || fail_started "slurmctld did not answer (see $STATE_DIR/slurmctld.log)"
setsid slurmd -D >"$STATE_DIR/slurmd.out" 2>&1 </dev/null &
started slurmd $!
mv "$PIDS.starting" "$PIDS"

node_idle() { [[ $(sinfo -h -n "$node" -o %t) == idle ]]; }
if ! wait_for "$WAIT_S" node_idle; then
    state=$(sinfo -h -n "$node" -o '%t %E' || true)
    fail_started "node $node is not idle after ${WAIT_S}s (state: $state; see $STATE_DIR/*.log)"
fi
say "ready: node $node ($hardware, $gpus stand-in GPUs), partition $PARTITION;" \
    "PIDs in $PIDS; stop with $TEARDOWN"
