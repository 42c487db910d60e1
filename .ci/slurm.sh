#!/usr/bin/env bash
# A one-node SLURM cluster bound to 127.0.0.1 for the CI tests (Debian 12, root, no systemd).
#   .ci/slurm.sh install   apt-get install slurmctld, slurmd, slurm-client and munge
#   .ci/slurm.sh start     write slurm.conf, start munged, slurmctld and slurmd, wait for idle
#   .ci/slurm.sh stop      stop the daemons that `start` started, by the PIDs in their pid files
# State, logs and pid files go under $SLURM_CI_DIR (default /tmp/strainer-ci-slurm).
set -euo pipefail

STATE_DIR="${SLURM_CI_DIR:-/tmp/strainer-ci-slurm}"
CONF=/etc/slurm/slurm.conf
MUNGE_PID=/run/munge/munged.pid

log() { echo "[slurm.sh] $*" >&2; }

install() {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null
    log "installed slurm-client $(dpkg-query -W -f '${Version}' slurm-client)"
}

write_conf() {
    local cpus memory_mb
    cpus=$(nproc)
    memory_mb=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 500 ))
    mkdir -p "$STATE_DIR"/{state,spool,log} /etc/slurm
    # The node is called localhost and the daemons bind to what it resolves to (127.0.0.1),
    # not to every address. Without accounting storage, sacct does not work: the workflow
    # checks job states with squeue instead, which MinJobAge=300 makes see finished jobs.
    cat >"$CONF" <<EOF
ClusterName=strainer-ci
SlurmctldHost=localhost
SlurmUser=root
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
MinJobAge=300
ReturnToService=2
MailProg=/bin/true
NodeName=localhost CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        log "munged already runs"
        return
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey --create --keyfile=/etc/munge/munge.key
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 600 /etc/munge/munge.key
    runuser -u munge -- munged --pid-file="$MUNGE_PID"
    cp "$MUNGE_PID" "$STATE_DIR/munged.pid"
    munge -n | unmunge >/dev/null
}

start() {
    # Starting over live daemons would overwrite their pid files, so skip the start when slurmctld responds.
    if scontrol ping 2>/dev/null | grep -q "is UP"; then
        log "slurmctld already responds; not starting a second cluster"
        return
    fi
    write_conf
    start_munge
    slurmctld
    slurmd -N localhost
    for _ in $(seq 1 120); do
        if [ "$(sinfo -h -o %t 2>/dev/null)" = "idle" ]; then
            log "cluster up: $(sinfo -h -o '%P %D %t %c CPUs %m MB')"
            return
        fi
        sleep 0.5
    done
    log "the node did not become idle within 60 s; slurmctld log:"
    tail -n 20 "$STATE_DIR/log/slurmctld.log" >&2 || true
    return 1
}

stop_pid_file() {
    local name=$1 pid_file=$2 pid
    [ -s "$pid_file" ] || return 0
    pid=$(cat "$pid_file")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        log "stopped $name (pid $pid)"
    fi
    rm -f "$pid_file"
}

stop() {
    stop_pid_file slurmd "$STATE_DIR/slurmd.pid"
    stop_pid_file slurmctld "$STATE_DIR/slurmctld.pid"
    stop_pid_file munged "$STATE_DIR/munged.pid"
}

case "${1:-}" in
    install | start | stop) "$1" ;;
    *)
        echo "usage: $0 install|start|stop" >&2
        exit 2
        ;;
esac
