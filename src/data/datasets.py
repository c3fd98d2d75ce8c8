"""Dataset builders named by ``conf/dataset/*.yaml``: a source of events wrapped in the DataModule."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from src.data.datamodule import EventDataModule
from src.data.filtered import FilteredSource
from src.data.sources import HeptCmsRawSource, SimulatedLSSource
from src.data.tracker_sim import TrackerSimConfig


def simulated_line_segments(
    *,
    view: Callable,
    pileup: float,
    n_events: int,
    seed: int,
    cache_dir: str | Path,
    phi_sector: Sequence[float] | None = None,
    generator: Mapping[str, Any] | None = None,
    **loader: Any,
) -> EventDataModule:
    """The embedded default: line segments of the built-in tracker simulation at pileup ``pileup``.

    ``generator`` holds any further :class:`TrackerSimConfig` field; ``loader`` the DataModule options
    (split, split_seed, batch_size, num_workers, in_memory, progress).
    """
    sector = tuple(float(v) for v in phi_sector) if phi_sector is not None else None
    try:
        sim = TrackerSimConfig(pileup=float(pileup), phi_sector=sector, **dict(generator or {}))
    except TypeError as err:
        raise TypeError(f"dataset.generator: {err} (allowed: the fields of TrackerSimConfig)") from err
    source = SimulatedLSSource(sim, n_events=n_events, seed=seed, cache_dir=cache_dir)
    return EventDataModule(source, view, **loader)


def hept_cms_raw(
    *, view: Callable, path: str | Path, n_events: int | None = None, **loader: Any
) -> EventDataModule:
    """Real CMS LST events of the HEPT-CMS study (a directory of ``graph_N.pt`` files)."""
    return EventDataModule(HeptCmsRawSource(path, n_events=n_events), view, **loader)


def filtered_line_segments(
    *,
    view: Callable,
    path: str | Path,
    fingerprint: str | None = None,
    split: Sequence[float] | str | None = None,
    split_seed: int | None = None,
    **loader: Any,
) -> EventDataModule:
    """Events filtered by a pileup model (a cache entry written by ``python -m src.filter``).

    ``split``/``split_seed`` ``None`` take the parent dataset's, so the test events are those the
    tracking model was tested on before filtering; ``split="all"`` evaluates on every event.
    """
    source = FilteredSource(path)
    if fingerprint is not None and fingerprint != source.fingerprint:
        raise ValueError(f"dataset.fingerprint={fingerprint} but {path} holds entry {source.fingerprint}")
    parent = source.info.get("parent_dataset", {})
    split = split if split is not None else parent.get("split", [0.8, 0.1, 0.1])
    split_seed = split_seed if split_seed is not None else parent.get("split_seed", 0)
    return EventDataModule(source, view, split=split, split_seed=split_seed, **loader)
