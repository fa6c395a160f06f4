#!/usr/bin/env bash
# A single-node SLURM cluster on localhost for the tests: munged, slurmctld, slurmd.
# Needs root and Debian's slurm-wlm + munge (scripts/bootstrap.sh with
# LUTE_BOOTSTRAP_TEST=1 installs them). No systemd: daemons run in the foreground
# under nohup and are stopped by PID.
#   scripts/slurm-local.sh start   start (idempotent) and wait until the node is idle
#   scripts/slurm-local.sh stop    stop the daemons this script started
set -euo pipefail
STATE=/run/lute-slurm
CONF=/etc/slurm/slurm.conf
log() { printf '[slurm-local] %s\n' "$*" >&2; }

start() {
    [ "$(id -u)" = 0 ] || { log "needs root"; exit 1; }
    command -v slurmctld >/dev/null || { log "slurm-wlm is not installed"; exit 1; }
    mkdir -p "$STATE" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /etc/slurm
    chown munge:munge /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
    if ! pgrep -x munged >/dev/null; then
        runuser -u munge -- /usr/sbin/munged
    fi
    if [ ! -f "$CONF" ] || grep -q "written by lute slurm-local" "$CONF"; then
        cat > "$CONF" <<CONF
# written by lute slurm-local.sh: a single-node cluster for tests
ClusterName=lute-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
    fi
    if ! pgrep -x slurmctld >/dev/null; then
        nohup slurmctld -D >"$STATE/slurmctld.out" 2>&1 &
        echo $! > "$STATE/slurmctld.started"
    fi
    if ! pgrep -x slurmd >/dev/null; then
        nohup slurmd -D -N localhost >"$STATE/slurmd.out" 2>&1 &
        echo $! > "$STATE/slurmd.started"
    fi
    for _ in $(seq 1 100); do
        state=$(sinfo -h -o %t 2>/dev/null | head -n1 || true)
        case "$state" in idle|mix|alloc) log "node is $state"; return 0 ;; esac
        sleep 0.2
    done
    log "the node did not become idle; see $STATE/*.out and /var/log/slurm"
    exit 1
}

stop() {
    for name in slurmd slurmctld; do
        if [ -f "$STATE/$name.started" ]; then
            kill "$(cat "$STATE/$name.started")" 2>/dev/null || true
            rm -f "$STATE/$name.started"
        fi
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
