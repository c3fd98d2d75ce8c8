"""What the experiment loggers receive beyond metrics: the config, the test plots and the per-event table.

The loggers themselves are ``_target_`` configs (``conf/logger/``); this module only feeds them:
wandb gets images and a table, TensorBoard images and a text table, the CSV logger nothing more (the
files are already in the run directory).
"""

from __future__ import annotations

import csv
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

PER_EVENT_TABLE = "test_per_event.csv"


def log_config(loggers: Sequence[Logger], cfg: DictConfig) -> None:
    """Send the whole resolved config to every logger as its hyperparameters."""
    params = OmegaConf.to_container(cfg, resolve=True)
    for logger in loggers:
        logger.log_hyperparams(params)


def keep_csv_history(loggers: Sequence[Logger]) -> None:
    """Let a resumed run append to the run directory's ``metrics.csv`` instead of starting it over.

    Lightning's CSV writer deletes an existing ``metrics.csv`` when it is created; for a requeued job that
    would drop the epochs before the requeue. Create the writer, put the file back and give the writer its
    columns, so new rows are appended (and the file is rewritten with more columns when new ones appear).
    Call on global rank 0 only.
    """
    for logger in loggers:
        path = Path(logger.log_dir) / "metrics.csv" if isinstance(logger, CSVLogger) else None
        if path is None or not path.is_file():
            continue
        saved = path.read_text()
        writer = logger.experiment  # deletes metrics.csv
        path.write_text(saved)
        writer.metrics_keys = next(csv.reader([saved.splitlines()[0]])) if saved else []
        log.info("Appending to %s (%d earlier rows)", path, max(0, len(saved.splitlines()) - 1))


def log_test_artifacts(loggers: Sequence[Logger], out: Path, *, step: int | None = None) -> None:
    """Log ``plots/*.png`` as images and ``test_per_event.csv`` as a table where the logger supports it."""
    plots = sorted((out / "plots").glob("*.png"))
    table = out / PER_EVENT_TABLE
    for logger in loggers:
        if hasattr(logger, "log_image") and hasattr(logger, "log_table"):  # wandb
            for path in plots:
                logger.log_image(key=f"test/{path.stem}", images=[str(path)], step=step)
            if table.is_file():
                logger.log_table(key="test/per_event", dataframe=_read_table(table), step=step)
        elif isinstance(logger, TensorBoardLogger):
            _tensorboard_artifacts(logger, plots, table, step=step or 0)
        else:
            continue
        log.info("Logged %d plot(s) and %s to %s", len(plots), table.name, type(logger).__name__)


def _read_table(path: Path) -> Any:
    import pandas as pd

    return pd.read_csv(path)


def _tensorboard_artifacts(logger: TensorBoardLogger, plots: list[Path], table: Path, *, step: int) -> None:
    import matplotlib.image

    writer = logger.experiment
    for path in plots:
        writer.add_image(f"test/{path.stem}", matplotlib.image.imread(path)[..., :3], step, dataformats="HWC")
    if table.is_file():
        writer.add_text("test/per_event", f"```\n{table.read_text()}\n```", step)
    writer.flush()


def finish_loggers() -> None:
    """Close an open wandb run, so the next run of this process (a sweep trial) starts its own."""
    wandb = sys.modules.get("wandb")  # never import wandb when no run used it
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish()
