"""Run bookkeeping shared by the entry points: provenance, callbacks, summary and the metric table."""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from src.utils.jobs import register_resolvers

log = logging.getLogger(__name__)
_REPO = Path(__file__).resolve().parents[2]
register_resolvers()  # hepreco.* resolvers of conf/hydra (run directory id, rank-0-only outputs)


def git_commit() -> str:
    """The project's git commit (``+dirty`` when the work tree has changes), or ``"unknown"``."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=_REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


def machine() -> dict[str, Any]:
    """What the run ran on: CPU model and count, torch threads, the load at the end (1, 5, 15 min), the
    accelerator if any, versions."""
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def command_line() -> str | None:
    """``python -m <entry point> <overrides>`` of this Hydra run (None outside a Hydra application)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    module = f"src.{hydra.job.name}" if hydra.job.name else "src"
    return " ".join(["python -m", module, *hydra.overrides.task])


def run_metadata(cfg: DictConfig, *, fingerprint: str) -> dict[str, Any]:
    """Provenance stored with every checkpoint and summary: config, data fingerprint, seed, commit."""
    return {
        "config": OmegaConf.to_container(cfg, resolve=True),
        "dataset_fingerprint": fingerprint,
        "seed": cfg.get("seed"),
        "git_commit": git_commit(),
    }


class StopFileCallback(L.Callback):
    """End training gracefully when a file (``STOP`` in the working directory) appears.

    Testing, plots and the summary still run afterwards; the file is left in place for the user to remove.
    """

    def __init__(self, path: str | Path = "STOP") -> None:
        self.path = Path(path)

    def _check(self, trainer: L.Trainer) -> None:
        if self.path.exists() and not trainer.should_stop:
            log.warning("Found %s: stopping training gracefully", self.path.resolve())
            trainer.should_stop = True

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        self._check(trainer)

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any) -> None:
        self._check(trainer)


def instantiate_loggers(cfg: DictConfig | None) -> list:
    """Every logger configured under ``logger`` (a mapping name -> config with ``_target_``)."""
    loggers = []
    for name, conf in (cfg or {}).items():
        if isinstance(conf, DictConfig) and "_target_" in conf:
            log.info("Instantiating logger %s <%s>", name, conf._target_)
            loggers.append(instantiate(conf))
    return loggers


def scalar_metrics(metrics: Mapping[str, Any], prefix: str | tuple[str, ...]) -> dict[str, float]:
    """Plain floats of the metrics whose key starts with ``prefix`` (or one of several prefixes)."""
    return {k: float(v) for k, v in sorted(metrics.items()) if k.startswith(prefix)}


def bad_event_report(datamodule: Any) -> dict[str, Any]:
    """``bad_events_skipped`` (count) and ``bad_events`` (index → message) of a DataModule that skipped
    bad events (``dataset.on_bad_event=skip``), for ``summary.json``."""
    bad = dict(getattr(datamodule, "bad_events", {}) or {})
    return {"bad_events_skipped": len(bad), "bad_events": {str(k): v for k, v in sorted(bad.items())}}


def write_summary(path: Path, summary: Mapping[str, Any]) -> None:
    """Write ``summary.json`` (NaN written as null so every JSON reader accepts it)."""
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in summary.items()}
    path.write_text(json.dumps(clean, indent=2, sort_keys=True))
    log.info("Wrote %s", path)


def report_test(
    trainer: L.Trainer, out: Path, provenance: Mapping[str, Any], *, start: float
) -> dict[str, float]:
    """Collect the test metrics, write ``summary.json`` (metrics + provenance + wall time) and print them.

    Test metrics are those logged as ``test/…``, plus ``baseline/…`` (what a task measures without its
    model on the same test events, e.g. tracking on the LDA coordinates) and ``reference/…`` (what the
    events themselves carry, e.g. a real file's own clusters). Only rank 0 writes and prints; every rank
    returns the test metrics.
    """
    metrics = scalar_metrics(trainer.callback_metrics, ("test/", "baseline/", "reference/"))
    if trainer.is_global_zero:
        run = {
            "wall_time_s": round(time.time() - start, 1),
            "cpu_time_s": round(time.process_time(), 1),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine(),
            "command": command_line(),
        }
        write_summary(out / "summary.json", {**metrics, **provenance, **run})
        print_metric_table(metrics, title=f"Test metrics ({out})")
    return metrics


def print_metric_table(metrics: Mapping[str, float], title: str) -> None:
    """Print the final metrics as a table on the terminal."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.4f}")
    Console().print(table)
