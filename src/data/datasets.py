"""Dataset builders named by ``conf/dataset/*.yaml``: a source of events wrapped in the DataModule."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from src.data.datamodule import EventDataModule
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
