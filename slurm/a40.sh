#!/bin/bash
# Train on NVIDIA A40 nodes. Hydra overrides are the arguments; submit from the repository root:
#   sbatch slurm/a40.sh task=pileup model=hept                                  # 1 GPU (hardware=a40)
#   sbatch --gpus-per-node=4 --ntasks-per-node=4 slurm/a40.sh hardware=a40_ddp  # a whole 4-GPU node, DDP
#   sbatch --nodes=2 --gpus-per-node=4 --ntasks-per-node=4 slurm/a40.sh hardware=a40_ddp   # 2 nodes
# One task per GPU: Lightning's SLURMEnvironment reads ranks from srun; hardware.num_nodes is set from the
# allocation. Site settings come from the environment, never from this file:
#   SBATCH_ACCOUNT, SBATCH_PARTITION   account and partition (sbatch reads them itself)
#   HEPRECO_CONTAINER                  an apptainer/singularity image to run in (unset: the active Python)
#   HEPRECO_CACHE                      the event cache (shared file system); HEPRECO_PYTHON the interpreter
#   HEPRECO_SLURM_CPU=1                CPU only, no container (hardware=cpu): the local test cluster
# Preemption and time limit: 180 s before the end Slurm sends USR1 to this script, which forwards it to the
# training processes; they save checkpoints/last.ckpt and stop, then the script requeues the job. The
# requeued job reuses the run directory outputs/<task>-<model>/runs/slurm-<job id>/ and resumes.
#SBATCH --job-name=hepreco-a40
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=1
#SBATCH --cpus-per-task=8
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
tasks_per_node=${SLURM_NTASKS_PER_NODE:-1}
if [[ ${HEPRECO_SLURM_CPU:-0} == 1 ]]; then
    # CPU mode (local test cluster): no container, one CPU process per task, the user's hardware= replaced
    overrides=("$@" hardware=cpu "hardware.devices=${tasks_per_node}" "hardware.num_nodes=${nodes}")
    launcher=()
    bind=(--cpu-bind=none)
else
    overrides=(hardware=a40 "hardware.num_nodes=${nodes}" "$@")
    export NCCL_ASYNC_ERROR_HANDLING=1 TORCH_NCCL_ASYNC_ERROR_HANDLING=1
    export NCCL_SOCKET_IFNAME=${NCCL_SOCKET_IFNAME:-^lo,docker}
    bind=(--cpu-bind=cores)
    launcher=()
    if [[ -n ${HEPRECO_CONTAINER:-} ]]; then
        runtime=$(command -v apptainer || command -v singularity) \
            || { echo "hepreco: HEPRECO_CONTAINER is set but neither apptainer nor singularity is found" >&2; exit 2; }
        launcher=("${runtime}" exec --nv --bind "${PWD}" --pwd "${PWD}" "${HEPRECO_CONTAINER}")
    fi
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
