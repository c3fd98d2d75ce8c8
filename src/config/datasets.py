"""Schemas of ``dataset=`` (a source of events and the DataModule options)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING


@dataclass
class LoaderConf:
    """DataModule options shared by every dataset."""

    _target_: str = MISSING
    split: Any = MISSING  # three fractions, three counts, or 'all'
    split_seed: Any = MISSING
    batch_size: int = MISSING
    num_workers: int = MISSING
    in_memory: bool = MISSING
    progress: bool = MISSING


@dataclass
class SimLSDatasetConf(LoaderConf):
    """``dataset=sim_ls``: line segments of the built-in tracker simulation and LST reconstruction."""

    _target_: str = "src.data.datasets.simulated_line_segments"
    pileup: float = MISSING
    n_events: int = MISSING
    seed: int = MISSING
    cache_dir: str = MISSING
    phi_sector: Any = MISSING  # [lo, hi] or null
    generator: dict[str, Any] = MISSING
    reco: dict[str, Any] = MISSING


@dataclass
class HeptCmsRawDatasetConf(LoaderConf):
    """``dataset=hept_cms_raw``: real CMS LST events (``graph_N.pt``) of the HEPT-CMS study."""

    _target_: str = "src.data.datasets.hept_cms_raw"
    path: str = MISSING
    n_events: Any = MISSING  # int or null (every file)


@dataclass
class FilteredDatasetConf(LoaderConf):
    """``dataset=filtered``: a dataset filtered by a pileup model, written by ``python -m src.filter``."""

    _target_: str = "src.data.datasets.filtered_line_segments"
    fingerprint: str = MISSING
    path: str = MISSING


@dataclass
class SimHitsDatasetConf(LoaderConf):
    """``dataset=sim_hits``: hit-level events of the built-in simulation, whole or particle subsets."""

    _target_: str = "src.data.datasets.simulated_hits"
    pileup: float = MISSING
    n_events: int = MISSING
    seed: int = MISSING
    cache_dir: str = MISSING
    particles: Any = MISSING  # [lo, hi] or null (whole events)
    noise: bool = MISSING
    subsets_per_event: int = MISSING
    max_vertex_r: Any = MISSING  # mm or null
    min_hits: int = MISSING
    generator: dict[str, Any] = MISSING


@dataclass
class TrackMLDatasetConf(LoaderConf):
    """``dataset=trackml``: a directory of TrackML CSV events (``dataset.path``), whole or as subsets."""

    _target_: str = "src.data.datasets.trackml"
    path: str = MISSING
    n_events: Any = MISSING
    b_field: float = MISSING
    particles: Any = MISSING
    noise: bool = MISSING
    subsets_per_event: int = MISSING
    max_vertex_r: Any = MISSING
    min_hits: int = MISSING
    seed: int = MISSING
    recompute_weights: bool = MISSING


@dataclass
class EDM4hepDatasetConf(LoaderConf):
    """``dataset=edm4hep``: calorimeter events of EDM4hep files (a file or a directory of ``*.root``)."""

    _target_: str = "src.data.datasets.edm4hep"
    path: str = MISSING
    n_events: Any = MISSING  # int or null (every event)
    cache_dir: str = MISSING
    hits: str = MISSING  # auto | reco | sim
    particles: Any = MISSING  # MCParticle collection name or null
    clusters: Any = MISSING  # Cluster collection name or null
    b_field: Any = MISSING  # tesla or null


@dataclass
class SimCaloDatasetConf(LoaderConf):
    """``dataset=sim_calo``: calorimeter events of a generator and a detector of the built-in simulation."""

    _target_: str = "src.data.datasets.simulated_calo"
    generator: Any = MISSING  # from the generator group (defaults: /generator@generator)
    detector: Any = MISSING  # from the detector group (defaults: /detector@detector)
    decays: bool = MISSING  # K0S, Λ, ... decay in flight before the calorimeter
    tracks: bool = MISSING  # tracks of the charged particles
    clustering: Any = MISSING  # options of the topological clustering (thresholds in noise σ), or null
    n_events: int = MISSING
    seed: int = MISSING
    cache_dir: str = MISSING


SCHEMAS = {
    ("dataset", "sim_ls"): SimLSDatasetConf,
    ("dataset", "hept_cms_raw"): HeptCmsRawDatasetConf,
    ("dataset", "filtered"): FilteredDatasetConf,
    ("dataset", "sim_hits"): SimHitsDatasetConf,
    ("dataset", "trackml"): TrackMLDatasetConf,
    ("dataset", "edm4hep"): EDM4hepDatasetConf,
    ("dataset", "sim_calo"): SimCaloDatasetConf,
}
