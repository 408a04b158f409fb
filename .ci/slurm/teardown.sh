#!/usr/bin/env bash
# Stop the single-node SLURM cluster that .ci/slurm/setup.sh started: exactly the daemons whose
# PIDs it recorded (never by name), then remove its configuration files, SLURM state and
# stand-in GPU devices. Logs stay in the state directory. Safe to call when nothing runs.
set -uo pipefail

readonly MARKER="# Written by relate-repro .ci/slurm/setup.sh; removed by teardown.sh"
readonly STATE_DIR=${RELATE_SLURM_STATE_DIR:-/tmp/relate-slurm}
readonly PIDS="$STATE_DIR/pids"
readonly CONF_DIR=/etc/slurm

say() { echo "slurm teardown: $*"; }

if [[ $(id -u) -ne 0 ]] && [[ -e $PIDS || -e $PIDS.starting ]]; then
    exec sudo -n --preserve-env=RELATE_SLURM_STATE_DIR,RELATE_SLURM_PARTITION "$0" "$@"
fi
export PATH="$PATH:/usr/sbin:/sbin"

# The PID still belongs to the daemon we started (not a reused PID)?
ours() { # name pid
    [[ $(cat "/proc/$2/comm" 2>/dev/null) == "$1" ]]
}

stop() { # name pid
    local name=$1 pid=$2 waited=0
    if ! ours "$name" "$pid"; then
        say "$name (PID $pid) is not running"
        return 0
    fi
    kill -TERM "$pid"
    while ours "$name" "$pid" && ((waited < 20)); do
        sleep 0.5
        waited=$((waited + 1))
    done
    if ours "$name" "$pid"; then
        kill -KILL "$pid"
        say "$name (PID $pid) killed after 10 s"
    else
        say "$name (PID $pid) stopped"
    fi
}

file=$PIDS
[[ -e $file ]] || file=$PIDS.starting
if [[ -e $file ]]; then
    # Jobs left behind by an interrupted test would outlive slurmd: cancel them first.
    if grep -q '^slurmctld ' "$file" && scancel --full --partition="${RELATE_SLURM_PARTITION:-main}" 2>/dev/null; then
        sleep 1
    fi
    # Reverse order of starting: slurmd, slurmctld, munged.
    tac "$file" | while read -r name pid; do stop "$name" "$pid"; done
    rm -f "$file"
else
    say "nothing to stop ($PIDS not found)"
fi
for conf in "$CONF_DIR/slurm.conf" "$CONF_DIR/gres.conf"; do
    if [[ -e $conf ]] && grep -qxF "$MARKER" "$conf"; then
        rm -f "$conf"
    fi
done
rm -rf "$STATE_DIR/ctld" "$STATE_DIR/spool" "$STATE_DIR/gpus"
