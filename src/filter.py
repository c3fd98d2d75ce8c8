"""Filter a dataset with a trained pileup model: one new, fingerprinted cache entry per recall target.

    python -m src.filter ckpt_path=outputs/pileup-hept/runs/<time>/checkpoints/best.ckpt \\
        recall=[0.99,0.995,0.999]
    python -m src.evaluate ckpt_path=<tracking checkpoint> dataset=filtered dataset.fingerprint=<printed>

The dataset is the one the pileup model was trained on (from its checkpoint) unless a ``dataset=…`` is
given. Every LS of every event is scored; for each recall R the threshold is the largest score that keeps
a fraction R of the true LS of all events pooled (the HEPT-CMS study's ``filter_model.py``), and the LS
at or above it are written to ``<cache>/filtered-<fingerprint>/`` (see :mod:`src.data.filtered`). The
parent dataset is only read. The run directory gets ``filtered.csv`` (one row per recall: threshold,
fractions kept, fingerprint, the evaluate command) and ``summary.json``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf
from torch_geometric.data import Batch

from src import config as _config
from src.compose import build_datamodule, input_errors_as_messages
from src.config.checks import validate
from src.data.filtered import file_digest, write_filtered
from src.evaluate import load_checkpoint
from src.metrics import threshold_at_recall
from src.utils.run import git_commit, print_metric_table, write_summary

log = logging.getLogger(__name__)
_config.register()


@torch.no_grad()
def score_events(task: torch.nn.Module, source: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per event: the model's probability that each LS is true, and its true label."""
    task.eval()
    scores, labels = [], []
    for i in range(len(source)):
        data = task.view(source.load(i))
        logits = task(Batch.from_data_list([data])).float().reshape(-1)
        if len(logits) != data.num_nodes:
            raise ValueError(
                f"ckpt_path: the model gives {len(logits)} outputs for event {i} of {data.num_nodes} LS; "
                "src.filter needs a per-LS classifier (a task=pileup checkpoint)"
            )
        scores.append(torch.sigmoid(logits).numpy())
        labels.append(data.y.numpy())
    return scores, labels


def filter_dataset(cfg: DictConfig) -> list[dict[str, Any]]:
    """Score the dataset with the checkpoint and write one filtered entry per recall; one row each out."""
    validate(cfg)  # value checks of the typed configs, before anything is built
    start = time.time()
    out = Path(cfg.paths.output_dir)
    ckpt_path = Path(cfg.ckpt_path).expanduser()
    task, meta = load_checkpoint(ckpt_path)
    data_cfg = cfg if cfg.get("dataset") is not None else OmegaConf.create(meta["config"])
    log.info("Filtering dataset <%s> with %s", data_cfg.dataset._target_, ckpt_path)
    datamodule = build_datamodule(data_cfg, task.view)
    datamodule.prepare_data()
    source = datamodule.source
    scores, labels = score_events(task, source)
    pooled_scores, pooled_labels = np.concatenate(scores), np.concatenate(labels)
    parent_dataset = OmegaConf.to_container(data_cfg.dataset, resolve=True)
    digest = file_digest(ckpt_path)
    rows = []
    for recall in cfg.recall:
        if not 0.0 < float(recall) <= 1.0:
            raise ValueError(f"recall={recall}: every recall target must be in (0, 1]")
        threshold = threshold_at_recall(pooled_scores, pooled_labels, recall=float(recall))
        cache, stats = write_filtered(
            source,
            scores,
            cache_dir=cfg.paths.cache_dir,
            spec={"parent": source.fingerprint, "pileup_checkpoint": digest, "recall": float(recall)},
            threshold=threshold,
            info={
                "parent_fingerprint": source.fingerprint,
                "parent_dataset": parent_dataset,
                "checkpoint": str(ckpt_path.resolve()),
                "recall": float(recall),
                "git_commit": git_commit(),
            },
            progress=bool(parent_dataset.get("progress", True)),
        )
        command = (
            "python -m src.evaluate ckpt_path=<tracking checkpoint> dataset=filtered "
            f"dataset.fingerprint={cache.fingerprint}"
        )
        log.info(
            "recall %.4g: threshold %.4g keeps %.2f%% of true and %.2f%% of fake LS -> %s\n  %s",
            recall,
            threshold,
            100 * stats["true_ls_kept"],
            100 * stats["fake_ls_kept"],
            cache.dir,
            command,
        )
        rows.append({"recall": float(recall), **stats, "evaluate": command})
    table = pd.DataFrame(rows)
    table.to_csv(out / "filtered.csv", index=False)
    summary: dict[str, Any] = {"parent_fingerprint": source.fingerprint, "checkpoint": str(ckpt_path)}
    for row in rows:
        key = f"filter/recall{row['recall']:g}"
        fields = ("threshold", "true_ls_kept", "fake_ls_kept", "fingerprint")
        summary |= {f"{key}/{name}": row[name] for name in fields}
    write_summary(out / "summary.json", {**summary, "wall_time_s": round(time.time() - start, 1)})
    print_metric_table(
        {k: v for k, v in summary.items() if isinstance(v, float)}, title=f"Filtered datasets ({out})"
    )
    return rows


@hydra.main(version_base="1.3", config_path="../conf", config_name="filter")
def main(cfg: DictConfig) -> None:
    """Command-line entry point."""
    with input_errors_as_messages():
        filter_dataset(cfg)


if __name__ == "__main__":
    main()
