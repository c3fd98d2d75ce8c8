"""Dataset builders named by ``conf/dataset/*.yaml``: a source of events wrapped in the DataModule."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from src.data.calo import CaloChain, SimulatedCaloSource
from src.data.datamodule import EventDataModule
from src.data.edm4hep import EDM4hepSource
from src.data.filtered import FilteredSource
from src.data.hits import SubsetSpec, TrackMLSource
from src.data.pf import ClicPFSource
from src.data.sim_hits import SimulatedHitSource
from src.data.sources import HeptCmsRawSource, LSTNtupleSource, SimulatedLSSource
from src.reco.lst import LSTConfig
from src.sim.calo.simulate import CaloSimulator
from src.sim.generators import EventGenerator
from src.sim.tracker.config import TrackerSimConfig


def _tracker_config(pileup: float, generator: Mapping[str, Any] | None) -> TrackerSimConfig:
    """The tracker simulation's configuration: ``pileup`` and any further fields of ``generator``."""
    try:
        return TrackerSimConfig(pileup=float(pileup), **dict(generator or {}))
    except TypeError as err:
        raise TypeError(f"dataset.generator: {err} (allowed: the fields of TrackerSimConfig)") from err


def simulated_line_segments(
    *,
    view: Callable,
    pileup: float,
    n_events: int,
    seed: int,
    cache_dir: str | Path,
    phi_sector: Sequence[float] | None,
    generator: Mapping[str, Any] | None,
    reco: Mapping[str, Any] | None,
    **loader: Any,
) -> EventDataModule:
    """The embedded default: line segments of the built-in tracker simulation at pileup ``pileup``,
    reconstructed as LST does, in the φ sector ``phi_sector`` (None: the whole detector).

    ``generator`` holds any further :class:`TrackerSimConfig` field, ``reco`` any :class:`LSTConfig`
    field; ``loader`` the DataModule options (split, split_seed, batch_size, num_workers, in_memory,
    progress).
    """
    sim = _tracker_config(pileup, generator)
    sector = tuple(float(v) for v in phi_sector) if phi_sector is not None else None
    try:
        lst = LSTConfig(b_field=sim.b_field, phi_sector=sector, **dict(reco or {}))
    except TypeError as err:
        raise TypeError(f"dataset.reco: {err} (allowed: the fields of LSTConfig but b_field)") from err
    source = SimulatedLSSource(sim, lst, n_events=n_events, seed=seed, cache_dir=cache_dir)
    return EventDataModule(source, view, **loader)


def hept_cms_raw(
    *, view: Callable, path: str | Path, n_events: int | None, max_event_size: int | None, **loader: Any
) -> EventDataModule:
    """Real CMS LST events of the HEPT-CMS study (a directory of ``graph_N.pt`` files)."""
    source = HeptCmsRawSource(path, n_events=n_events, max_event_size=max_event_size)
    return EventDataModule(source, view, **loader)


def lst_ntuple(
    *,
    view: Callable,
    path: str | Path,
    tree: str,
    n_events: int | None,
    max_event_size: int | None,
    **loader: Any,
) -> EventDataModule:
    """CMS LST ntuples (a ``.root`` file or a directory of them), read into the 23-feature LS event."""
    source = LSTNtupleSource(path, tree=tree, n_events=n_events, max_event_size=max_event_size)
    return EventDataModule(source, view, **loader)


def filtered_line_segments(
    *,
    view: Callable,
    path: str | Path,
    fingerprint: str | None,
    split: Sequence[float] | str | None,
    split_seed: int | None,
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


def simulated_hits(
    *,
    view: Any,
    n_events: int,
    seed: int,
    cache_dir: str | Path,
    detector: str,
    pileup: float,
    particles: Sequence[int] | None,
    noise: bool,
    subsets_per_event: int,
    max_vertex_r: float | None,
    min_hits: int,
    generator: Mapping[str, Any] | None,
    **loader: Any,
) -> EventDataModule:
    """Hit-level events of the built-in simulation of ``detector`` (``trackml``: the TrackML-like tracker;
    ``lst``: the LST tracker of the line segments), whole events at ``pileup`` or subsets of
    ``particles=[lo, hi]`` particles; ``generator`` holds further :class:`TrackerSimConfig` fields."""
    sim = _tracker_config(pileup, generator)
    subsets = SubsetSpec(
        particles=None if particles is None else tuple(particles),
        noise=noise,
        per_event=subsets_per_event,
        max_vertex_r=max_vertex_r,
        min_hits=min_hits,
    )
    source = SimulatedHitSource(
        sim, n_events=n_events, seed=seed, cache_dir=cache_dir, subsets=subsets, detector=detector
    )
    return EventDataModule(source, view, **loader)


def trackml(
    *,
    view: Any,
    path: str | Path,
    n_events: int | None,
    b_field: float,
    particles: Sequence[int] | None,
    noise: bool,
    subsets_per_event: int,
    max_vertex_r: float | None,
    min_hits: int,
    seed: int,
    recompute_weights: bool,
    max_event_size: int | None,
    **loader: Any,
) -> EventDataModule:
    """Events of a directory of TrackML CSV files (``dataset.path``), whole or as particle subsets."""
    subsets = SubsetSpec(
        particles=None if particles is None else tuple(particles),
        noise=noise,
        per_event=subsets_per_event,
        max_vertex_r=max_vertex_r,
        min_hits=min_hits,
    )
    source = TrackMLSource(
        path,
        n_events=n_events,
        b_field=b_field,
        subsets=subsets,
        seed=seed,
        recompute_weights=recompute_weights,
        max_event_size=max_event_size,
    )
    return EventDataModule(source, view, **loader)


def edm4hep(
    *,
    view: Any,
    path: str | Path,
    n_events: int | None,
    cache_dir: str | Path,
    hits: str,
    particles: str | None,
    clusters: str | None,
    b_field: float | None,
    max_event_size: int | None,
    **loader: Any,
) -> EventDataModule:
    """Calorimeter events of EDM4hep files (``dataset.path``: a file or a directory of ``*.root``), read
    with :mod:`src.io.edm4hep` (``hits``: auto/reco/sim; ``particles``/``clusters``: collection names or
    None for the reader's choice; ``b_field``: tesla, for the pT of stored tracks; ``max_event_size``: most
    hits of an event, None for no limit)."""
    source = EDM4hepSource(
        path,
        n_events=n_events,
        cache_dir=cache_dir,
        hits=hits,
        particles=particles,
        clusters=clusters,
        b_field=b_field,
        max_event_size=max_event_size,
    )
    return EventDataModule(source, view, **loader)


def simulated_calo(
    *,
    view: Callable | None,
    generator: EventGenerator,
    detector: CaloSimulator,
    decays: bool,
    tracks: bool,
    clustering: Mapping[str, Any] | None,
    n_events: int,
    seed: int,
    cache_dir: str | Path,
    **loader: Any,
) -> EventDataModule:
    """Calorimeter events of the built-in simulation: ``generator`` (``dataset/generator``), decays in
    flight, the calorimeter ``detector``, tracks, and topological clusters with the options
    ``clustering`` (None: no clusters)."""
    chain = CaloChain(generator, detector, decays=decays, tracks=tracks, clustering=clustering)
    source = SimulatedCaloSource(chain, n_events=n_events, seed=seed, cache_dir=cache_dir)
    return EventDataModule(source, view, **loader)


def clic_pf(*, view: Callable, path: str | Path, n_events: int | None, **loader: Any) -> EventDataModule:
    """PF events of the MLPF CLIC dataset layout (a ``.parquet`` file or a directory of them)."""
    return EventDataModule(ClicPFSource(path, n_events=n_events), view, **loader)
