#!/usr/bin/env bash
# A second single-node SLURM cluster on localhost, with accounting, for the tests of
# what `sacct` says: MariaDB, slurmdbd, slurmctld and slurmd of cluster `lute-acct`,
# beside (and fully separate from) the cluster of scripts/slurm-local.sh, whose munged
# it shares. Needs root and Debian's slurm-wlm, slurmdbd, munge and mariadb-server
# (scripts/bootstrap.sh with LUTE_BOOTSTRAP_TEST=1 installs them). No systemd: daemons
# run in the foreground under nohup and are stopped by PID.
#   scripts/slurm-accounting.sh start [--lease PID]  start (idempotent), wait until usable
#   scripts/slurm-accounting.sh stop [--lease PID]   stop what this script started, and wait
#   scripts/slurm-accounting.sh status               the daemons, the node and the jobs
# Clients select this cluster with SLURM_CONF=/etc/slurm-acct/slurm.conf (its ports:
# slurmctld 6917, slurmd 6918, slurmdbd 6919, MariaDB 6920 on 127.0.0.1 only).
# Leases work as in slurm-local.sh: with --lease PID, `stop` stops the cluster only once
# no other live process holds a lease on it.
set -euo pipefail
STATE=/run/lute-slurm-acct
CONF_DIR=/etc/slurm-acct
CONF=$CONF_DIR/slurm.conf
DBD_CONF=$CONF_DIR/slurmdbd.conf
DATA=/var/lib/lute-slurm-acct/mysql
SOCKET=/run/mysqld/lute-slurm-acct.sock
DB_PORT=6920
DB_NAME=lute_slurm_acct
DB_USER=lute_slurm
# Every SLURM command and daemon below reads this cluster's configuration (slurmdbd
# finds slurmdbd.conf beside it).
export SLURM_CONF=$CONF
log() { printf '[slurm-accounting] %s\n' "$*" >&2; }
# shellcheck source=scripts/_slurm-common.sh
. "$(dirname "$0")/_slurm-common.sh"

# MinJobAge=2: slurmctld forgets an ended job (once slurmdbd has it) 2-3 s after its
# end, so a test sees squeue no longer list it and sacct answer instead within seconds.
# The keys both clusters share are shared_conf's. FirstJobId keeps this cluster's job
# ids apart from the first cluster's, so a command sent to the wrong one cannot hit
# another job.
write_conf() {
    cat <<CONF
# written by lute slurm-accounting.sh: a single-node cluster with accounting for tests
ClusterName=lute-acct
SlurmctldHost=localhost
SlurmctldPort=6917
SlurmdPort=6918
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6919
MinJobAge=2
FirstJobId=900000
StateSaveLocation=/var/spool/slurmctld-acct
SlurmdSpoolDir=/var/spool/slurmd-acct
SlurmctldLogFile=/var/log/slurm/slurmctld-acct.log
SlurmdLogFile=/var/log/slurm/slurmd-acct.log
CONF
    shared_conf
    node_conf
}

write_dbd_conf() {
    cat <<CONF
# written by lute slurm-accounting.sh: slurmdbd of cluster lute-acct
AuthType=auth/munge
DbdHost=localhost
DbdPort=6919
SlurmUser=root
LogFile=/var/log/slurm/slurmdbd-acct.log
PidFile=$STATE/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageLoc=$DB_NAME
StorageUser=$DB_USER
StoragePass=$1
CONF
}

# Write a configuration file unless it is someone else's; succeeds when it changed.
update_conf() {
    local file=$1 marker=$2 text=$3
    if [ -f "$file" ] && ! grep -q "$marker" "$file"; then return 1; fi
    if printf '%s\n' "$text" | cmp -s - "$file" 2>/dev/null; then return 1; fi
    printf '%s\n' "$text" > "$file"
}

sql() { mariadb --no-defaults -S "$SOCKET" -u root -N -e "$1"; }

start_mariadb() {
    if [ -n "$(started_pid mariadb)" ]; then return 0; fi
    mkdir -p "$DATA" /run/mysqld
    chown mysql:mysql "$DATA" /run/mysqld
    if [ ! -d "$DATA/mysql" ]; then
        log "initialising the MariaDB datadir $DATA"
        mariadb-install-db --no-defaults --user=mysql --datadir="$DATA" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$STATE/mariadb-install.out" 2>&1 \
            || { log "mariadb-install-db failed: see $STATE/mariadb-install.out"; exit 1; }
    fi
    # --no-defaults: nothing of /etc/mysql (a system MariaDB's port, socket, datadir); its
# log goes to mariadb.out. It runs as mysql: its pid file is in /run/mysqld.
    setsid nohup mariadbd --no-defaults --user=mysql --datadir="$DATA" --socket="$SOCKET" \
        --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
        --pid-file=/run/mysqld/lute-slurm-acct.pid >"$STATE/mariadb.out" 2>&1 9>&- &
    echo $! > "$STATE/mariadb.started"
    for _ in $(seq 1 150); do
        if mariadb-admin --no-defaults -S "$SOCKET" -u root ping >/dev/null 2>&1; then
            return 0
        fi
        alive "$(started_pid mariadb)" || break
        sleep 0.2
    done
    log "MariaDB did not answer: see $STATE/mariadb.out"
    exit 1
}

# The database and slurmdbd's user (idempotent; the password is the one in slurmdbd.conf).
setup_database() {
    local pass=$1 host
    sql "CREATE DATABASE IF NOT EXISTS $DB_NAME"
    for host in 127.0.0.1 localhost; do
        sql "CREATE USER IF NOT EXISTS '$DB_USER'@'$host' IDENTIFIED BY '$pass';
             ALTER USER '$DB_USER'@'$host' IDENTIFIED BY '$pass';
             GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'$host'"
    done
}

# Run a SLURM daemon from a symlink of its own, so `pgrep -x slurmctld` of slurm-local.sh
# (which sees the file name) never takes this cluster's daemons for the first cluster's;
# argv[0] stays the real name, which SLURM checks (a slurmctld named otherwise is not
# taken for one by its own plugins, and crashes). Daemons close fd 9 (the lock of
# start/stop), which would otherwise stay held while they run; their cores go to $STATE.
start_daemon() {
    local name=$1; shift
    mkdir -p "$STATE/bin"
    ln -sf "/usr/sbin/$name" "$STATE/bin/$name-acct"
    (
        cd "$STATE" && trap '' HUP
        # setsid: a session of its own, so that a signal to the starting process's group
        # (a test run killed with its children) leaves the shared cluster running.
        exec setsid bash -c 'exec -a "$0" "$@"' "$name" "$STATE/bin/$name-acct" "$@"
    ) >"$STATE/$name.out" 2>&1 </dev/null 9>&- &
    echo $! > "$STATE/$name.started"
}

wait_for() {
    local what=$1 tries=$2; shift 2
    for _ in $(seq 1 "$tries"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    log "$what did not answer; see $STATE/*.out and /var/log/slurm/*-acct.log"
    exit 1
}

start() {
    [ "$(id -u)" = 0 ] || { log "needs root"; exit 1; }
    for command in slurmctld slurmdbd mariadbd; do
        command -v "$command" >/dev/null || { log "$command is not installed"; exit 1; }
    done
    mkdir -p "$STATE" "$CONF_DIR" /var/spool/slurmctld-acct /var/spool/slurmd-acct /var/log/slurm
    start_munge
    local pass reload=0
    pass=$(sed -n 's/^StoragePass=//p' "$DBD_CONF" 2>/dev/null || true)
    [ -n "$pass" ] || pass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    # slurmdbd refuses a slurmdbd.conf that others than SlurmUser (root) can read.
    update_conf "$DBD_CONF" "written by lute slurm-accounting" "$(write_dbd_conf "$pass")" || true
    chown root:root "$DBD_CONF" && chmod 0600 "$DBD_CONF"
    if update_conf "$CONF" "written by lute slurm-accounting" "$(write_conf)"; then reload=1; fi

    start_mariadb
    setup_database "$pass"
    if [ -z "$(started_pid slurmdbd)" ]; then
        start_daemon slurmdbd -D
    fi
    # The first start creates slurmdbd's tables, which takes a while.
    wait_for slurmdbd 300 timeout 5 sacctmgr -n list cluster
    if ! timeout 10 sacctmgr -n -P list cluster format=cluster | grep -qx lute-acct; then
        timeout 10 sacctmgr -i add cluster lute-acct >/dev/null
    fi
    if [ -z "$(started_pid slurmctld)" ]; then
        start_daemon slurmctld -D
        reload=0
        # A slurmd left from the controller before may never register with this one.
        stop_daemon slurmd
    fi
    if [ -z "$(started_pid slurmd)" ]; then
        start_daemon slurmd -D -N localhost
    fi
    if [ "$reload" = 1 ]; then
        log "slurm.conf changed: scontrol reconfigure"
        timeout 20 scontrol reconfigure || log "scontrol reconfigure failed"
    fi
    local state
    for _ in $(seq 1 150); do
        if [ -z "$(started_pid slurmctld)" ]; then
            log "slurmctld exited: $(tail -n 3 "$STATE/slurmctld.out" | paste -sd' ' -)"
            exit 1
        fi
        state=$(node_state)
        case "$state" in
            idle|mix|alloc) break ;;
            down*|drain*|fail*)
                timeout 5 scontrol update NodeName=localhost State=RESUME 2>/dev/null || true ;;
        esac
        sleep 0.2
    done
    case "$state" in
        idle|mix|alloc) ;;
        *) log "the node did not become usable (state: ${state:-no answer}); see $STATE/*.out and /var/log/slurm/*-acct.log"
           exit 1 ;;
    esac
    wait_for sacct 100 timeout 5 sacct -n -X -j 1 -o JobID
    log "node is $state, accounting answers"
}

stop() {
    if still_leased "${1:-}"; then return 0; fi
    stop_daemon slurmd
    stop_daemon slurmctld
    stop_daemon slurmdbd
    stop_daemon mariadb
}

status() {
    for name in mariadb slurmdbd slurmctld slurmd; do
        printf '%-10s %s\n' "$name" "$(started_pid "$name")"
    done
    echo "node: $(node_state)"
    timeout 5 squeue -h -o '%i %T %r %j' 2>&1 || true
    echo "cluster in slurmdbd: $(timeout 5 sacctmgr -n -P list cluster format=cluster 2>&1 | paste -sd' ' -)"
}

command=${1:-}
lease=""
if [ "${2:-}" = "--lease" ]; then
    lease=${3:?--lease needs a pid}
fi
mkdir -p "$STATE"
# One start or stop at a time: a stop must not kill daemons a concurrent start counts on.
exec 9>"$STATE/lock"
case "$command" in
    start) flock 9; start; if [ -n "$lease" ]; then take_lease "$lease"; fi ;;
    stop) flock 9; stop "$lease" ;;
    status) status; echo "leases: $(other_leases | paste -sd' ' -)" ;;
    *) echo "usage: $0 start|stop [--lease PID] | status" >&2; exit 2 ;;
esac
