"""Train, validate and test one task × model × dataset composed by Hydra.

python -m src.train task=pileup model=hept
python -m src.train task=pileup model=mlp dataset.pileup=100 trainer.max_epochs=5
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig

from src import config as _config  # registers the typed config schemas
from src.compose import build_datamodule, build_task, build_trainer
from src.utils.run import StopFileCallback, report_test, run_metadata, scalar_metrics

log = logging.getLogger(__name__)
_config.register()


def train(cfg: DictConfig) -> tuple[dict[str, float], dict[str, Any]]:
    """Fit then test; write checkpoints, plots and ``summary.json`` in the run directory."""
    start = time.time()
    L.seed_everything(cfg.seed, workers=True)
    out = Path(cfg.paths.output_dir)
    task = build_task(cfg)
    datamodule = build_datamodule(cfg, task.view)
    task.run_metadata = run_metadata(cfg, fingerprint=datamodule.fingerprint)

    checkpoint = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best",
        monitor=task.monitor,
        mode=task.monitor_mode,
        save_last=True,
        enable_version_counter=False,
    )
    trainer = build_trainer(cfg, out, [checkpoint, StopFileCallback(cfg.paths.stop_file)])
    trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    fit_metrics = scalar_metrics(trainer.callback_metrics, "val/")

    best = checkpoint.best_model_path or checkpoint.last_model_path
    if best and Path(best).name != "best.ckpt":
        shutil.copyfile(best, out / "checkpoints" / "best.ckpt")
    trainer.test(task, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    provenance = {
        "dataset_fingerprint": datamodule.fingerprint,
        "seed": cfg.seed,
        "git_commit": task.run_metadata["git_commit"],
        "best_checkpoint": str(out / "checkpoints" / "best.ckpt"),
        "epochs_completed": trainer.current_epoch,
    }
    test_metrics = report_test(trainer, out, provenance, start=start)
    return {**fit_metrics, **test_metrics}, {"datamodule": datamodule, "task": task, "trainer": trainer}


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Command-line entry point; returns the metric named by ``optimized_metric`` (for sweeps)."""
    metrics, _ = train(cfg)
    name = cfg.get("optimized_metric")
    return metrics.get(name) if name else None


if __name__ == "__main__":
    main()
