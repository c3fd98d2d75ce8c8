"""Running on clusters: process ranks, stable run directories, preemption and resuming from checkpoints.

Under ``srun`` every task is its own Hydra application, so everything a run directory depends on must be
the same in all of them and across requeues of the job:

- ``${hepreco.run_id:}`` names the run directory: ``$HEPRECO_RUN_ID`` when set (the sbatch launchers set it
  to ``slurm-<job id>``), ``slurm-<job id>`` inside any multi-task Slurm step, else the local time;
- ``${hepreco.if_rank_zero:A,B}`` is A in the process of global rank 0 and B in the others, so only rank 0
  writes ``.hydra/`` and the log file of the run directory;
- :func:`find_resume_checkpoint` picks the newest checkpoint of the run directory written by the same
  experiment, so a requeued job continues where it stopped;
- :class:`PreemptionCallback` turns the time-limit warning signal into a checkpoint and a clean stop;
- :class:`RNGStateCallback` keeps the random generators' states in every checkpoint and restores them, so
  a run resumed at an epoch boundary draws the batches and random numbers of an uninterrupted run;
- :class:`AtomicCheckpointIO` writes every checkpoint (Lightning's, the preemption callback's) to a
  temporary file beside the target and renames it, so a kill during a save leaves the previous complete
  checkpoint. Lightning's own writer goes through an fsspec transaction whose temporary file lives in the
  system temporary directory and is *moved* into place: across file systems (a node-local ``/tmp``, the
  outputs on a shared file system) that move is a copy, which a kill can cut short.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from omegaconf import DictConfig, OmegaConf

from src.utils.files import atomic_write, remove_stale_temporaries

log = logging.getLogger(__name__)

#: Environment variables that carry a process's rank, by launcher (torchrun, Lightning, srun, LSF jsrun).
RANK_VARIABLES = ("RANK", "NODE_RANK", "GROUP_RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")

#: The experiment's identity: a checkpoint is resumed only if these config nodes match.
EXPERIMENT_KEYS = ("task", "model", "attention", "dataset", "seed")


def is_rank_zero() -> bool:
    """Whether this process is global rank 0 (no rank variable set counts as rank 0)."""
    return all(int(os.environ.get(name, "0") or 0) == 0 for name in RANK_VARIABLES)


def slurm_job_id() -> str | None:
    """``<array job>_<task>`` for array jobs, else the job id; ``None`` outside Slurm."""
    if os.environ.get("SLURM_ARRAY_JOB_ID") and os.environ.get("SLURM_ARRAY_TASK_ID"):
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ.get("SLURM_JOB_ID")


def run_id() -> str:
    """The run directory's name: the same in every rank of a job and across requeues, else the time."""
    if os.environ.get("HEPRECO_RUN_ID"):
        return os.environ["HEPRECO_RUN_ID"]
    job = slurm_job_id()
    if job and os.environ.get("SLURM_STEP_ID") and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        return f"slurm-{job}"
    return time.strftime("%Y-%m-%d_%H-%M-%S")


def short_hash(text: str, length: int = 12) -> str:
    """A short stable hash, e.g. of the run directory, for ids that must survive a requeue."""
    return hashlib.sha1(str(text).encode()).hexdigest()[:length]


def register_resolvers() -> None:
    """Register the ``hepreco.*`` resolvers used by the configs (idempotent)."""
    resolvers = {
        "hepreco.run_id": (run_id, True),
        "hepreco.if_rank_zero": (lambda yes, no=None: yes if is_rank_zero() else no, False),
        "hepreco.hash": (short_hash, False),
        "hepreco.basename": (lambda path: Path(str(path)).name, False),
    }
    for name, (fn, cache) in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn, use_cache=cache)


def _experiment(config: Any) -> dict[str, Any]:
    config = OmegaConf.to_container(config, resolve=True) if isinstance(config, DictConfig) else config
    return {key: (config or {}).get(key) for key in EXPERIMENT_KEYS}


def find_resume_checkpoint(out: Path, cfg: DictConfig) -> Path | None:
    """The newest checkpoint in run directory ``out`` (``checkpoints/last.ckpt``, Lightning's
    ``hpc_ckpt_*.ckpt``, else ``checkpoints/best.ckpt`` when the others are unreadable, e.g. cut short by
    the kill of a requeue) written by the same experiment (task, model, attention, dataset, seed).

    A checkpoint of a different experiment in the same directory is left alone, with a warning.
    """
    ckpts = out / "checkpoints"
    remove_stale_temporaries(ckpts)  # the partial file of a save cut short by a kill
    paths = [ckpts / "last.ckpt", *out.glob("hpc_ckpt_*.ckpt"), ckpts / "best.ckpt"]  # best: if last is cut
    candidates = [p for p in paths if p.is_file()]
    for path in sorted(candidates, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            meta = torch.load(path, map_location="cpu", weights_only=True).get("hepreco", {})
        except Exception as err:  # a checkpoint cut short by the kill that requeued the job
            log.warning("Cannot read %s (%s); trying an older checkpoint", path, err)
            continue
        if _experiment(meta.get("config")) == _experiment(cfg):
            return path
        log.warning("%s belongs to another experiment (config differs); not resuming from it", path)
    return None


def same_experiment(path: str | Path, cfg: DictConfig) -> bool:
    """Whether checkpoint ``path`` was written by the experiment of ``cfg`` (task, model, attention,
    dataset, seed): then ``ckpt_path`` resumes it; otherwise it only initialises the weights."""
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={path} does not exist")
    meta = torch.load(path, map_location="cpu", weights_only=True).get("hepreco", {})
    return _experiment(meta.get("config")) == _experiment(cfg)


def initialise_weights(task: L.LightningModule, path: str | Path) -> None:
    """Load the weights (and fitted input normalisation) of checkpoint ``path`` into ``task``; the
    optimiser, schedule and epoch count start afresh (fine-tuning, e.g. on real events after
    simulation). The architecture must match: a differing one is an error naming the keys."""
    import torch

    ckpt = torch.load(Path(path).expanduser(), map_location="cpu", weights_only=True)
    theirs = _experiment(ckpt.get("hepreco", {}).get("config"))
    ours = _experiment(task.run_metadata["config"])
    changed = [k for k in ("task", "model", "attention") if theirs.get(k) != ours.get(k)]
    try:
        task.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise RuntimeError(
            f"ckpt_path={path} cannot initialise this run ({', '.join(changed) or 'the weights'} differ; "
            f"use a checkpoint of the same task, model and attention): {err}"
        ) from err
    log.info("Initialised the weights from %s (another experiment: fine-tuning, not resuming)", path)


def checkpoint_progress(path: str | Path) -> dict[str, int]:
    """Epoch and global step stored in a Lightning checkpoint."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    return {"epoch": int(ckpt.get("epoch", -1)), "global_step": int(ckpt.get("global_step", -1))}


class PreemptionCallback(L.Callback):
    """On ``signum`` (Slurm's time-limit warning, ``#SBATCH --signal=B:USR1@180`` forwarded by the
    launcher to the tasks), save ``checkpoints/last.ckpt`` at the next batch boundary and stop training.

    Every rank learns of the signal through an all-reduce, so all ranks stop at the same step. The run
    then skips testing; the sbatch launcher requeues the job, which resumes from that checkpoint.
    """

    def __init__(self, checkpoint: Path, signum: int = signal.SIGUSR1) -> None:
        self.checkpoint = Path(checkpoint)
        self.signum = signum
        self.received = False
        self.preempted = False
        try:
            signal.signal(signum, self._handler)
        except ValueError:  # not the main thread (e.g. a notebook worker): no preemption handling
            log.debug("Preemption handler not installed: not in the main thread")

    def _handler(self, signum: int, _frame: Any) -> None:
        self.received = True

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if self.preempted or not trainer.strategy.reduce_boolean_decision(self.received, all=False):
            return
        signame = signal.Signals(self.signum).name
        log.warning("Received %s: saving %s and stopping for the requeue", signame, self.checkpoint)
        trainer.save_checkpoint(self.checkpoint)
        self.preempted = True
        trainer.should_stop = True


class RNGStateCallback(L.Callback):
    """Store the states of torch's (CPU and CUDA), numpy's and Python's global random generators in every
    checkpoint and restore them when training resumes from it.

    A checkpoint is written at the end of an epoch, after everything of that epoch has drawn its numbers;
    restored before the next epoch's batches are drawn, the resumed run continues with the same shuffled
    order and random draws as a run that was never interrupted (plain types only: the checkpoint stays
    loadable with ``weights_only=True``). Under DDP the states of rank 0 are stored.
    """

    def state_dict(self) -> dict[str, Any]:
        """The generators' states now."""
        kind, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002 (the global state)
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
            "python": _plain_tuple(random.getstate()),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Set the generators to the stored states."""
        torch.set_rng_state(state_dict["torch"])
        if state_dict["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])
        kind, keys, pos, has_gauss, gauss = state_dict["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))  # noqa: NPY002
        version, internal, gauss_next = state_dict["python"]
        random.setstate((version, tuple(internal), gauss_next))


def _plain_tuple(state: tuple) -> list:
    """Python's random state as lists (loadable with ``weights_only=True``)."""
    version, internal, gauss_next = state
    return [version, list(internal), gauss_next]


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O, writing local checkpoints to a temporary file beside the target and
    renaming it into place (remote URLs keep Lightning's fsspec path)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        """Save ``checkpoint`` to ``path``: the old file or the complete new one, never a partial one."""
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        atomic_write(path, lambda fh: torch.save(checkpoint, fh))
