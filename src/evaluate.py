"""Re-evaluate a trained checkpoint on any dataset config and write ``summary.json`` in a new run directory.

    python -m src.evaluate ckpt_path=outputs/pileup-hept/runs/<time>/checkpoints/best.ckpt
    python -m src.evaluate ckpt_path=... dataset=hept_cms_raw dataset.path=../shared/data/hept-cms-lst/pu50 \
        dataset.split=all
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from src import config as _config
from src.compose import build_datamodule, build_task, build_trainer, input_errors_as_messages
from src.config.checks import validate
from src.utils.run import bad_event_report, git_commit, report_test

log = logging.getLogger(__name__)
_config.register()


def load_checkpoint(
    path: str | Path, task_overrides: DictConfig | None = None
) -> tuple[L.LightningModule, dict[str, Any]]:
    """Rebuild a task from the config stored in its checkpoint (with ``task_overrides`` merged into its
    ``task`` node: inference settings such as thresholds or a baseline) and load its weights."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={path} does not exist")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    meta = ckpt.get("hepreco")
    if not meta or "config" not in meta:
        raise KeyError(
            f"{path}: no 'hepreco' metadata with the training config; was it written by src.train?"
        )
    config = OmegaConf.create(meta["config"])
    if task_overrides:
        config = OmegaConf.merge(config, {"task": task_overrides})
    task = build_task(config)
    task.load_state_dict(ckpt["state_dict"])
    task.run_metadata = meta
    return task, meta


def load_split(
    path: str | Path, split: str, overrides: list[str], evaluation_type: type, task_name: str
) -> tuple[L.LightningModule, Any]:
    """A checkpoint's task in eval mode and the events of one split (``val``/``test``) of its own dataset
    config with the dotlist ``overrides`` (``task.*`` entries also reach the task), for scripts that tune
    inference settings; exits with a message when the checkpoint's test stage is not an
    ``evaluation_type`` or the split is empty."""
    dotlist = OmegaConf.from_dotlist(overrides)
    task, meta = load_checkpoint(path, dotlist.get("task"))
    if not isinstance(getattr(task, "evaluation", None), evaluation_type):
        raise SystemExit(f"{path}: not a checkpoint of task={task_name}")
    task.eval()
    cfg = OmegaConf.merge(OmegaConf.create(meta["config"]), dotlist)
    datamodule = build_datamodule(cfg, task.view)
    datamodule.prepare_data()
    datamodule.setup("fit")
    dataset = datamodule.datasets[split]
    if not len(dataset):
        raise SystemExit(f"no {split} events in the checkpoint's dataset split {list(cfg.dataset.split)}")
    log.info("Predicting %d %s events", len(dataset), split)
    return task, dataset


def evaluate(cfg: DictConfig) -> tuple[dict[str, float], dict[str, Any]]:
    """Test a checkpoint on ``cfg.dataset``; returns the test metrics."""
    validate(cfg)  # value checks of the typed configs, before anything is built
    start = time.time()
    L.seed_everything(cfg.seed, workers=True)
    out = Path(cfg.paths.output_dir)
    task, meta = load_checkpoint(cfg.ckpt_path, cfg.get("task"))
    datamodule = build_datamodule(cfg, task.view)
    trainer = build_trainer(cfg, out, [])
    trainer.test(task, datamodule=datamodule, verbose=False)
    provenance = {
        "checkpoint": str(Path(cfg.ckpt_path).resolve()),
        "dataset_fingerprint": datamodule.fingerprint,
        "train_dataset_fingerprint": meta.get("dataset_fingerprint"),
        "git_commit": git_commit(),
        "train_git_commit": meta.get("git_commit"),
        "seed": cfg.seed,
        **bad_event_report(datamodule),
    }
    metrics = report_test(trainer, out, provenance, start=start)
    return metrics, {"task": task, "datamodule": datamodule, "trainer": trainer}


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Command-line entry point."""
    with input_errors_as_messages():
        evaluate(cfg)


if __name__ == "__main__":
    main()
