#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (munged + slurmctld + slurmd on localhost), to run the sbatch
# launchers for real without a cluster: the tests (pytest -m slurm) use it, and so can you.
#
#   slurm/local_cluster.sh install   # apt-get install slurm-wlm munge (needs root and apt-get)
#   slurm/local_cluster.sh start     # idempotent; prints the SLURM_CONF line to export
#   eval "$(slurm/local_cluster.sh env)"
#   HEPRECO_SLURM_CPU=1 sbatch slurm/a40.sh task=pileup model=mlp
#   slurm/local_cluster.sh stop
#
# Everything lives under $HEPRECO_SLURM_DIR (default /tmp/hepreco-slurm): slurm.conf, spool and state
# directories, logs and pid files; nothing in /etc/slurm is touched. Partitions: `debug` (default) and
# LUMI's `standard-g` and `small-g`, all on this node, so the launchers' partition lines work unchanged.
# Runs as root (SlurmUser=root); process tracking by /proc (proctrack/linuxproc), no task binding
# (task/none), no cgroups, no accounting database.
set -euo pipefail

DIR=${HEPRECO_SLURM_DIR:-/tmp/hepreco-slurm}
CONF=$DIR/slurm.conf
export SLURM_CONF=$CONF

die() { echo "local_cluster.sh: $*" >&2; exit 1; }

need_root() { [[ $(id -u) == 0 ]] || die "needs root (it starts munged, slurmctld and slurmd)"; }

install() {
    need_root
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return 0
    fi
    command -v apt-get >/dev/null || die "slurm-wlm and munge are missing and apt-get is not available"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

write_conf() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(getconf _NPROCESSORS_ONLN)  # not nproc: it follows OMP_NUM_THREADS
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
    mkdir -p "$DIR"/{ctld,slurmd,log}
    cat >"$CONF" <<EOF
# Written by slurm/local_cluster.sh: a one-node test cluster.
ClusterName=hepreco-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# job credentials live 10 s (default 120): a requeued job may start again after that, not after 2 minutes
AuthInfo=cred_expire=10
CryptoType=crypto/munge
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/slurmd
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=${HEPRECO_SLURMCTLD_PORT:-6817}
SlurmdPort=${HEPRECO_SLURMD_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
JobRequeue=1
KillWait=5
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=standard-g Nodes=$host MaxTime=INFINITE State=UP
PartitionName=small-g Nodes=$host MaxTime=INFINITE State=UP
EOF
}

# without its config file scontrol looks for a controller through DNS for a minute: check the file first
running() { [[ -f $CONF ]] && timeout 20 scontrol ping 2>/dev/null | grep -q "is UP"; }

munge_ok() {  # the socket first: without munged, the munge client retries for about a minute
    [[ -S /run/munge/munge.socket.2 ]] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1
}

start_munge() {
    munge_ok && return 0
    [[ -s /etc/munge/munge.key ]] || { mungekey --create; chown munge:munge /etc/munge/munge.key; }
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged
    touch "$DIR/munged.ours"  # stop ends munged only if this script started it
    for _ in $(seq 50); do
        munge_ok && return 0
        sleep 0.1
    done
    die "munged did not start"
}

start() {
    need_root
    command -v slurmctld >/dev/null || die "Slurm is not installed: run '$0 install' first"
    if running; then
        echo "export SLURM_CONF=$CONF"
        return 0
    fi
    write_conf
    start_munge
    slurmctld -f "$CONF"
    slurmd -f "$CONF" -N "$(hostname -s)"
    local host
    host=$(hostname -s)
    for _ in $(seq 120); do
        if running && sinfo -h -n "$host" -o %t 2>/dev/null | grep -qE "^(idle|mix|alloc)"; then
            echo "export SLURM_CONF=$CONF"
            return 0
        fi
        sleep 0.5
    done
    echo "--- slurmctld.log" >&2; tail -n 30 "$DIR/log/slurmctld.log" >&2 || true
    echo "--- slurmd.log" >&2; tail -n 30 "$DIR/log/slurmd.log" >&2 || true
    die "the node did not become idle within 60 s"
}

stop() {
    local name pid
    for name in slurmd slurmctld; do
        if [[ -s $DIR/$name.pid ]]; then
            pid=$(cat "$DIR/$name.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            rm -f "$DIR/$name.pid"
        fi
    done
    if [[ -f $DIR/munged.ours && -s /run/munge/munged.pid ]]; then
        kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
        rm -f "$DIR/munged.ours"
    fi
}

case ${1:-} in
    install) install ;;
    start) start ;;
    stop) stop ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    status) if running; then sinfo; else echo "not running"; exit 1; fi ;;
    *) die "usage: $0 install|start|stop|status|env" ;;
esac
