#!/usr/bin/env bash
# A single-node SLURM cluster on localhost for the tests: munged, slurmctld, slurmd.
# Needs root and Debian's slurm-wlm + munge (scripts/bootstrap.sh with
# LUTE_BOOTSTRAP_TEST=1 installs them). No systemd: daemons run in the foreground
# under nohup and are stopped by PID.
#   scripts/slurm-local.sh start [--lease PID]  start (idempotent), wait until the node is usable
#   scripts/slurm-local.sh stop [--lease PID]   stop the daemons this script started, and wait
#   scripts/slurm-local.sh restart              stop, then start
#   scripts/slurm-local.sh status               the daemons, the node and the jobs
# Several test runs on one machine share the cluster: `start` leaves running daemons
# alone (it only reloads slurm.conf when this script's version of it changed), and with
# --lease PID (the test run's process) `stop` only stops the cluster once no other live
# process holds a lease on it. Without --lease, `stop` stops it whoever uses it.
set -euo pipefail
STATE=/run/lute-slurm
CONF=/etc/slurm/slurm.conf
log() { printf '[slurm-local] %s\n' "$*" >&2; }
# shellcheck source=scripts/_slurm-common.sh
. "$(dirname "$0")/_slurm-common.sh"

# The keys of this cluster; those shared with slurm-accounting.sh's are shared_conf's.
write_conf() {
    cat <<CONF
# written by lute slurm-local.sh: a single-node cluster for tests
ClusterName=lute-test
SlurmctldHost=localhost
AccountingStorageType=accounting_storage/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
CONF
    shared_conf
    node_conf
}

start() {
    [ "$(id -u)" = 0 ] || { log "needs root"; exit 1; }
    command -v slurmctld >/dev/null || { log "slurm-wlm is not installed"; exit 1; }
    mkdir -p "$STATE" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /etc/slurm
    start_munge
    local reload=0
    if [ ! -f "$CONF" ] || grep -q "written by lute slurm-local" "$CONF"; then
        if ! write_conf | cmp -s - "$CONF" 2>/dev/null; then
            write_conf > "$CONF"
            reload=1
        fi
    fi
    # A daemon being stopped by someone else may still be exiting: wait for it.
    for name in slurmctld slurmd; do
        for _ in $(seq 1 50); do
            pid=$(started_pid "$name")
            if [ -z "$pid" ] || pgrep -x "$name" >/dev/null; then break; fi
            sleep 0.2
        done
    done
    if ! pgrep -x slurmctld >/dev/null; then
        setsid nohup slurmctld -D >"$STATE/slurmctld.out" 2>&1 </dev/null &
        echo $! > "$STATE/slurmctld.started"
        reload=0
        # A slurmd left from the controller before may never register with this one.
        stop_daemon slurmd
    fi
    start_slurmd
    if [ "$reload" = 1 ]; then
        log "slurm.conf changed: scontrol reconfigure"
        timeout 20 scontrol reconfigure || log "scontrol reconfigure failed"
    fi
    for attempt in $(seq 1 150); do
        if ! pgrep -x slurmctld >/dev/null; then
            log "slurmctld exited: $(tail -n 3 "$STATE/slurmctld.out" | paste -sd' ' -)"
            exit 1
        fi
        state=$(node_state)
        case "$state" in
            idle|mix|alloc) log "node is $state"; return 0 ;;
            down*|drain*|fail*)
                # ReturnToService=2 brings a node back once slurmd registers; a node
                # left down by an earlier crash is resumed explicitly.
                timeout 5 scontrol update NodeName=localhost State=RESUME 2>/dev/null || true ;;
        esac
        if [ "$attempt" = 50 ] && [ -n "$(started_pid slurmd)" ]; then
            log "node is ${state:-not answering} after 10 s: restarting slurmd"
            stop_daemon slurmd
            start_slurmd
        fi
        sleep 0.2
    done
    log "the node did not become usable (state: ${state:-no answer}); see $STATE/*.out and /var/log/slurm"
    exit 1
}

start_slurmd() {
    if ! pgrep -x slurmd >/dev/null; then
        setsid nohup slurmd -D -N localhost >"$STATE/slurmd.out" 2>&1 </dev/null &
        echo $! > "$STATE/slurmd.started"
    fi
}

stop() {
    if still_leased "${1:-}"; then return 0; fi
    stop_daemon slurmd
    stop_daemon slurmctld
}

status() {
    for name in munged slurmctld slurmd; do
        printf '%-10s %s\n' "$name" "$(pgrep -x "$name" | paste -sd' ' - || true)"
    done
    echo "node: $(node_state)"
    timeout 5 squeue -h -o '%i %T %r %j' 2>&1 || true
}

command=${1:-}
lease=""
if [ "${2:-}" = "--lease" ]; then
    lease=${3:?--lease needs a pid}
fi
case "$command" in
    start) start; if [ -n "$lease" ]; then take_lease "$lease"; fi ;;
    stop) stop "$lease" ;;
    restart) stop; start ;;
    status) status; echo "leases: $(other_leases | paste -sd' ' -)" ;;
    *) echo "usage: $0 start|stop [--lease PID] | restart | status" >&2; exit 2 ;;
esac
