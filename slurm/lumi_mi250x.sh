#!/bin/bash
# Train on LUMI-G (4 AMD MI250X = 8 GCDs per node, ROCm) in a container. Hydra overrides are the arguments;
# submit from the repository root:
#   sbatch slurm/lumi_mi250x.sh task=pileup model=hept                       # one full node, 8 GCDs, DDP
#   sbatch --nodes=4 slurm/lumi_mi250x.sh experiment=hept_cms_pu200          # 4 nodes = 32 GCDs
#   sbatch --partition=small-g --gpus-per-node=2 --ntasks-per-node=2 --mem-per-gpu=60G \
#       slurm/lumi_mi250x.sh task=pileup                                     # part of a node
# standard-g gives whole nodes; small-g shares them (ask for memory there). One task per GCD with 7 cores
# each (the eighth core of every CCD is reserved for the system), bound to the CCD nearest its GCD; each
# task sees all 8 GCDs and Lightning picks the one of its local rank.
# Site settings come from the environment, never from this file:
#   SBATCH_ACCOUNT=project_<number>    the LUMI project to bill (sbatch reads it itself)
#   HEPRECO_CONTAINER                  the .sif image with ROCm torch and hepreco's dependencies (required)
#   SINGULARITY_BIND                   extra folders to mount (project/scratch/flash holding data and cache)
#   HEPRECO_CACHE                      the event cache; HEPRECO_PYTHON the interpreter in the container
#   HEPRECO_SLURM_CPU=1                CPU only, no container, no binding (hardware=cpu): the test cluster
# Preemption and time limit: 180 s before the end Slurm sends USR1 to this script, which forwards it to the
# training processes; they save checkpoints/last.ckpt and stop, then the script requeues the job. The
# requeued job reuses the run directory outputs/<task>-<model>/runs/slurm-<job id>/ and resumes.
#SBATCH --job-name=hepreco-mi250x
#SBATCH --partition=standard-g
#SBATCH --nodes=1
#SBATCH --gpus-per-node=8
#SBATCH --ntasks-per-node=8
#SBATCH --cpus-per-task=7
#SBATCH --time=24:00:00
#SBATCH --signal=B:USR1@180
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=slurm-%x-%j.out
set -euo pipefail

cd "${HEPRECO_ROOT:-${SLURM_SUBMIT_DIR:-.}}"
job=${SLURM_JOB_ID}
[[ -n ${SLURM_ARRAY_JOB_ID:-} ]] && job=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}
# every rank and every requeue of this job writes to the same run directory
export HEPRECO_RUN_ID=slurm-${job}
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
echo "hepreco: job ${job} start $(date -Is) on ${SLURM_JOB_NODELIST} (restart ${SLURM_RESTART_COUNT:-0})"

python_cmd=("${HEPRECO_PYTHON:-python}" -m src.train)
nodes=${SLURM_JOB_NUM_NODES:-1}
tasks_per_node=${SLURM_NTASKS_PER_NODE:-8}
if [[ ${HEPRECO_SLURM_CPU:-0} == 1 ]]; then
    # CPU mode (local test cluster): no container, one CPU process per task, the user's hardware= replaced
    overrides=("$@" hardware=cpu "hardware.devices=${tasks_per_node}" "hardware.num_nodes=${nodes}")
    launcher=()
    bind=(--cpu-bind=none)
else
    : "${HEPRECO_CONTAINER:?set HEPRECO_CONTAINER to the .sif image (ROCm torch + hepreco dependencies), or HEPRECO_SLURM_CPU=1}"
    overrides=(hardware=mi250x "hardware.devices=${tasks_per_node}" "hardware.num_nodes=${nodes}" "$@")
    # MIOpen's kernel cache in a per-job folder on the node's local /tmp: the shared file system's locking
    # breaks it, and several jobs sharing one corrupts it
    export MIOPEN_USER_DB_PATH="/tmp/${USER:-hepreco}-miopen-${job}"
    export MIOPEN_CUSTOM_CACHE_DIR="${MIOPEN_USER_DB_PATH}"
    srun --ntasks-per-node=1 mkdir -p "${MIOPEN_USER_DB_PATH}"
    trap 'srun --ntasks-per-node=1 rm -rf "${MIOPEN_USER_DB_PATH}" || true' EXIT
    # RCCL over the Slingshot interfaces, GPU-direct RDMA through the CPU (libfabric CXI provider)
    export NCCL_SOCKET_IFNAME=hsn0,hsn1,hsn2,hsn3
    export NCCL_NET_GDR_LEVEL=PHB
    export NCCL_ASYNC_ERROR_HANDLING=1 TORCH_NCCL_ASYNC_ERROR_HANDLING=1
    export CXI_FORK_SAFE=1 CXI_FORK_SAFE_HP=1 FI_CXI_DISABLE_CQ_HUGETLB=1
    # task i (GCD i) on the 7 usable cores of its nearest CCD: GCD 0,1 -> CCD 6,7; 2,3 -> 2,3; 4,5 -> 0,1;
    # 6,7 -> 4,5 (core 0 of each CCD is left to the system)
    c=fe
    masks="0x${c}000000000000,0x${c}00000000000000,0x${c}0000,0x${c}000000,0x${c},0x${c}00,0x${c}00000000,0x${c}0000000000"
    bind=("--cpu-bind=mask_cpu:${masks}")
    runtime=$(command -v singularity || command -v apptainer) \
        || { echo "hepreco: neither singularity nor apptainer is found" >&2; exit 2; }
    launcher=("${runtime}" exec --bind "${PWD}" --pwd "${PWD}" "${HEPRECO_CONTAINER}")
fi

# run the training step in the background so this script can catch the time-limit warning
requeue=0
step=""
on_warning() {
    echo "hepreco: time limit near ($(date -Is)): checkpointing, then requeue"
    requeue=1
    [[ -n ${step} ]] && kill -USR1 "${step}" 2>/dev/null || true
}
trap on_warning USR1

srun --kill-on-bad-exit=1 "${bind[@]}" "${launcher[@]}" "${python_cmd[@]}" "${overrides[@]}" &
step=$!
while kill -0 "${step}" 2>/dev/null; do  # a trapped signal interrupts wait: keep waiting for the step
    wait "${step}" || true
done
status=0
wait "${step}" || status=$?
if (( requeue )); then
    echo "hepreco: requeueing job ${job}"
    scontrol requeue "${job}"
fi
echo "hepreco: job ${job} step exited ${status} at $(date -Is)"
exit "${status}"
