"""Datasets filtered by a pileup model: each a cache entry of its own, next to (never in) its parent.

``python -m src.filter`` scores every LS of a dataset with a trained pileup model and, for each recall
target, keeps the LS whose score reaches the threshold at that recall. The kept events go to a new cache
directory ``<cache>/filtered-<fingerprint>/`` whose fingerprint hashes the parent's fingerprint, the
number of events, the checkpoint file, the recall and the threshold, so a different model, recall or
parent never reuses an entry, and the parent's files are only read.

Each filtered event has the parent's fields masked (``x``, ``particle_id``, ``sim_pt``, ``sim_eta``),
``track_length`` recounted on what is left, and ``pileup_score`` (the kept LS' scores). The entry's
``filter.json`` records where it came from (parent fingerprint and dataset config, checkpoint, recall,
threshold, split) and what the filter did (true LS kept, fake LS kept).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from src.data.cache import Event, EventCache
from src.data.sources import EventSource, describe_ls_event, track_lengths

log = logging.getLogger(__name__)

#: Bump when the filtered-event format changes.
FILTER_VERSION = 1
CACHE_NAME = "filtered"
INFO_FILE = "filter.json"


def filter_event(event: Event, scores: np.ndarray, threshold: float) -> Event:
    """The LS of ``event`` with ``score >= threshold``, track lengths recounted, scores attached."""
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    n = len(event["particle_id"])
    if len(scores) != n:
        raise ValueError(f"filter_event: {len(scores)} scores for an event of {n} LS")
    keep = torch.from_numpy(scores >= threshold)
    out = {k: v[keep] for k, v in event.items() if v.ndim >= 1 and len(v) == n}
    out["track_length"] = torch.from_numpy(track_lengths(out["particle_id"].numpy()))
    out["pileup_score"] = torch.from_numpy(scores[keep.numpy()])
    return out


def filtered_cache(cache_dir: str | Path, spec: Mapping[str, Any]) -> EventCache:
    """The cache entry of a filtered dataset described by ``spec``."""
    return EventCache(cache_dir, CACHE_NAME, {"source": "pileup_filter", "version": FILTER_VERSION, **spec})


class FilteredSource:
    """Read a filtered dataset written by ``python -m src.filter`` (a ``filtered-<fingerprint>`` folder)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        meta = self.path / "meta.json"
        if not meta.is_file():
            raise FileNotFoundError(
                f"dataset.path={self.path} is not a filtered dataset (no meta.json); write one with "
                "`python -m src.filter ckpt_path=<pileup checkpoint>` and pass the fingerprint it prints "
                "(dataset=filtered dataset.fingerprint=<fingerprint>)"
            )
        spec = json.loads(meta.read_text())
        self.cache = EventCache(self.path.parent, CACHE_NAME, spec)
        if self.cache.dir.resolve() != self.path.resolve():
            raise ValueError(
                f"{meta}: its specification hashes to {self.cache.fingerprint}, not to the folder name "
                f"{self.path.name}; the entry was altered — delete it and rerun python -m src.filter"
            )
        self.fingerprint = self.cache.fingerprint
        self.n_events = int(spec["n_events"])
        info = self.path / INFO_FILE
        self.info: dict[str, Any] = json.loads(info.read_text()) if info.is_file() else {}

    def __len__(self) -> int:
        return self.n_events

    def prepare(self, *, progress: bool = True) -> None:
        del progress
        missing = self.cache.missing(self.n_events)
        if missing:
            raise FileNotFoundError(
                f"{self.path}: {len(missing)} of {self.n_events} filtered events are missing "
                f"(first: {missing[0]}); rerun python -m src.filter to complete the entry"
            )

    def load(self, index: int) -> Event:
        return self.cache.load(index)


def write_filtered(
    parent: EventSource,
    scores: list[np.ndarray],
    *,
    cache_dir: str | Path,
    spec: Mapping[str, Any],
    threshold: float,
    info: Mapping[str, Any],
    progress: bool = True,
) -> tuple[EventCache, dict[str, Any]]:
    """Write (or complete) the filtered copy of ``parent`` at ``threshold``; return the entry and its stats.

    ``spec`` identifies the entry (it is hashed into the fingerprint); ``info`` is stored beside it.
    """
    cache = filtered_cache(cache_dir, {**spec, "n_events": len(parent), "threshold": float(threshold)})
    cache.build(
        len(parent),
        lambda i: filter_event(parent.load(i), scores[i], threshold),
        describe=describe_ls_event,
        progress=progress,
    )
    true_before = fake_before = true_after = fake_after = 0
    for i in range(len(parent)):
        before = scores[i] >= threshold
        pid = parent.load(i)["particle_id"].numpy()
        true_before += int((pid >= 0).sum())
        fake_before += int((pid < 0).sum())
        true_after += int(((pid >= 0) & before).sum())
        fake_after += int(((pid < 0) & before).sum())
    stats = {
        "fingerprint": cache.fingerprint,
        "path": str(cache.dir),
        "threshold": float(threshold),
        "true_ls_kept": true_after / max(true_before, 1),
        "fake_ls_kept": fake_after / max(fake_before, 1),
        "ls_kept": (true_after + fake_after) / max(true_before + fake_before, 1),
        "fake_fraction_after": fake_after / max(true_after + fake_after, 1),
    }
    (cache.dir / INFO_FILE).write_text(json.dumps({**info, **stats}, indent=2, sort_keys=True, default=str))
    return cache, stats


def file_digest(path: str | Path, *, length: int = 16) -> str:
    """Short content hash of a file (the pileup checkpoint that defines a filter)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:length]
