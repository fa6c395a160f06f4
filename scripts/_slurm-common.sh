# Shared by scripts/slurm-local.sh and scripts/slurm-accounting.sh (sourced, not run):
# daemons started under nohup, each in a session of its own (setsid: a signal to the
# process group of the test run that started them must not stop a cluster other runs
# hold), tracked by the pid in "$STATE/NAME.started"; leases ("$STATE/leases/PID", one
# per process using the cluster); the shared munged.
# The sourcing script sets STATE and defines log().

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# The pid of a daemon this script started, if it is still running.
started_pid() {
    local file="$STATE/$1.started" pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if alive "$pid"; then echo "$pid"; fi
}

# Stop a daemon this script started and wait until it is gone (SIGKILL after 15 s).
stop_daemon() {
    local name=$1 pid
    pid=$(started_pid "$name")
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 75); do alive "$pid" || break; sleep 0.2; done
        if alive "$pid"; then
            log "$name (pid $pid) did not stop within 15 s: SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
            for _ in $(seq 1 25); do alive "$pid" || break; sleep 0.2; done
        fi
    fi
    rm -f "$STATE/$name.started"
}

# Leases: one file per process using the cluster, named by its pid.
take_lease() { mkdir -p "$STATE/leases" && touch "$STATE/leases/$1"; }

other_leases() {
    local file pid
    for file in "$STATE"/leases/*; do
        [ -e "$file" ] || continue
        pid=$(basename "$file")
        if [ "$pid" = "${1:-}" ]; then continue; fi
        if alive "$pid"; then echo "$pid"; else rm -f "$file"; fi
    done
}

# Give up the lease of pid $1 (if any); succeeds when another live lease still holds
# the cluster, which must then be left running.
still_leased() {
    local users
    [ -n "${1:-}" ] || return 1
    rm -f "$STATE/leases/$1"
    users=$(other_leases "$1" | paste -sd' ' -)
    if [ -n "$users" ]; then
        log "still in use by pid $users: left running"
        return 0
    fi
    return 1
}

# munged with the machine's key (made once), shared by every cluster on the machine.
start_munge() {
    mkdir -p /run/munge
    chown munge:munge /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
    if ! pgrep -x munged >/dev/null; then
        runuser -u munge -- /usr/sbin/munged
    fi
}

node_state() { timeout 5 sinfo -h -o %t 2>/dev/null | head -n1 || true; }

# The slurm.conf keys both test clusters share, and their one node and partition (which
# come last): root daemons with munge, no cgroups and no accounting by the nodes, a
# batch job started as soon as it is submitted (batch_sched_delay=0, rather than at the
# next scheduling pass ~3 s later: the tests and benchmarks measure LUTE, not that
# period), and a node that comes back by itself once its slurmd registers.
shared_conf() {
    cat <<CONF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
ReturnToService=2
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
CONF
}

node_conf() {
    cat <<CONF
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
}
