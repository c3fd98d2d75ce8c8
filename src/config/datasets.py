"""Schemas of ``dataset=`` (a source of events and the DataModule options).

Value checks (``pileup >= 0``, a split that fits the events, …) are field metadata applied to the composed
config by :func:`src.config.checks.validate` before anything is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING

from src.config.checks import at_least, checked, interval, one_of, split


@dataclass
class LoaderConf:
    """DataModule options shared by every dataset."""

    _target_: str = MISSING
    split: Any = checked(split())  # three fractions, three counts, or 'all'
    split_seed: Any = MISSING
    batch_size: int = checked(at_least(1))
    num_workers: int = checked(at_least(0))
    in_memory: bool = MISSING
    progress: bool = MISSING
    on_bad_event: str = checked(one_of("fail", "skip"))


@dataclass
class SimLSDatasetConf(LoaderConf):
    """``dataset=sim_ls``: line segments of the built-in tracker simulation and LST reconstruction."""

    _target_: str = "src.data.datasets.simulated_line_segments"
    pileup: float = checked(at_least(0))
    n_events: int = checked(at_least(1))
    seed: int = checked(at_least(0))
    cache_dir: str = MISSING
    phi_sector: Any = checked(interval(-math.pi, math.pi))  # [lo, hi] or null
    generator: dict[str, Any] = MISSING
    reco: dict[str, Any] = MISSING


@dataclass
class HeptCmsRawDatasetConf(LoaderConf):
    """``dataset=hept_cms_raw``: real CMS LST events (``graph_N.pt``) of the HEPT-CMS study."""

    _target_: str = "src.data.datasets.hept_cms_raw"
    path: str = MISSING
    n_events: Any = checked(at_least(1, optional=True))  # int or null (every file)
    max_event_size: Any = checked(at_least(1, optional=True))  # LS per event, or null


@dataclass
class LSTNtupleDatasetConf(LoaderConf):
    """``dataset=lst_ntuple``: CMS LST ntuples (ROOT), read into the 23-feature LS event."""

    _target_: str = "src.data.datasets.lst_ntuple"
    path: str = MISSING
    tree: str = MISSING
    n_events: Any = checked(at_least(1, optional=True))  # int or null (every entry)
    max_event_size: Any = checked(at_least(1, optional=True))  # LS per event, or null


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
    detector: str = MISSING  # trackml | lst
    pileup: float = checked(at_least(0))
    n_events: int = checked(at_least(1))
    seed: int = checked(at_least(0))
    cache_dir: str = MISSING
    particles: Any = checked(interval(1))  # [lo, hi] or null (whole events)
    noise: bool = MISSING
    subsets_per_event: int = checked(at_least(1))
    max_vertex_r: Any = checked(at_least(0, optional=True))  # mm or null
    min_hits: int = checked(at_least(0))
    generator: dict[str, Any] = MISSING


@dataclass
class TrackMLDatasetConf(LoaderConf):
    """``dataset=trackml``: a directory of TrackML CSV events (``dataset.path``), whole or as subsets."""

    _target_: str = "src.data.datasets.trackml"
    path: str = MISSING
    n_events: Any = checked(at_least(1, optional=True))
    b_field: float = checked(at_least(0))
    particles: Any = checked(interval(1))
    noise: bool = MISSING
    subsets_per_event: int = checked(at_least(1))
    max_vertex_r: Any = checked(at_least(0, optional=True))
    min_hits: int = checked(at_least(0))
    seed: int = checked(at_least(0))
    recompute_weights: bool = MISSING
    max_event_size: Any = checked(at_least(1, optional=True))  # hits per event, or null


@dataclass
class EDM4hepDatasetConf(LoaderConf):
    """``dataset=edm4hep``: calorimeter events of EDM4hep files (a file or a directory of ``*.root``)."""

    _target_: str = "src.data.datasets.edm4hep"
    path: str = MISSING
    n_events: Any = checked(at_least(1, optional=True))  # int or null (every event)
    cache_dir: str = MISSING
    hits: str = checked(one_of("auto", "reco", "sim"))
    particles: Any = MISSING  # MCParticle collection name or null
    clusters: Any = MISSING  # Cluster collection name or null
    b_field: Any = checked(at_least(0, optional=True))  # tesla or null
    max_event_size: Any = checked(at_least(1, optional=True))  # hits per event, or null


@dataclass
class SimCaloDatasetConf(LoaderConf):
    """``dataset=sim_calo`` (and its close-by-particles preset ``sim_calo_closeby``): calorimeter events of a
    generator and a detector of the built-in simulation."""

    _target_: str = "src.data.datasets.simulated_calo"
    generator: Any = MISSING  # from the generator group (defaults: /generator@generator)
    detector: Any = MISSING  # from the detector group (defaults: /detector@detector)
    decays: bool = MISSING  # K0S, Λ, ... decay in flight before the calorimeter
    tracks: bool = MISSING  # tracks of the charged particles
    clustering: Any = MISSING  # options of the topological clustering (thresholds in noise σ), or null
    n_events: int = MISSING
    seed: int = MISSING
    cache_dir: str = MISSING


@dataclass
class TICLNtupleDatasetConf(LoaderConf):
    """``dataset=ticl_ntuple``: ticlDumper ROOT ntuples (a file or a directory of them)."""

    _target_: str = "src.data.ticl.ticl_ntuple"
    path: str = MISSING
    n_events: Any = checked(at_least(1, optional=True))  # int or null (every event)
    trackster_tree: str = MISSING
    sim_tree: str = MISSING
    max_event_size: Any = checked(at_least(1, optional=True))  # layer clusters per event, or null


@dataclass
class TICLSimDatasetConf(LoaderConf):
    """``dataset=ticl_sim``: TICL events of the built-in simulation (signal + pileup → HGCAL → CLUE3D)."""

    _target_: str = "src.data.ticl.simulated_tracksters"
    generator: Any = MISSING  # the signal: from the generator group (defaults: /generator@generator)
    pileup_generator: Any = MISSING  # from the generator group, or null without pileup
    pileup: float = MISSING
    luminous_region: dict[str, float] = MISSING
    decays: bool = MISSING
    detector: Any = MISSING  # from the detector group (defaults: /detector@detector)
    reco: dict[str, Any] = MISSING
    n_events: int = MISSING
    seed: int = MISSING
    cache_dir: str = MISSING


@dataclass
class ClicPFDatasetConf(LoaderConf):
    """``dataset=clic_pf``: PF events in the MLPF CLIC dataset layout (parquet), ours or CLIC's."""

    _target_: str = "src.data.datasets.clic_pf"
    path: str = MISSING
    n_events: Any = checked(at_least(1, optional=True))  # int or null (every event)


SCHEMAS = {
    ("dataset", "ticl_sim"): TICLSimDatasetConf,
    ("dataset", "ticl_ntuple"): TICLNtupleDatasetConf,
    ("dataset", "sim_ls"): SimLSDatasetConf,
    ("dataset", "hept_cms_raw"): HeptCmsRawDatasetConf,
    ("dataset", "lst_ntuple"): LSTNtupleDatasetConf,
    ("dataset", "filtered"): FilteredDatasetConf,
    ("dataset", "sim_hits"): SimHitsDatasetConf,
    ("dataset", "trackml"): TrackMLDatasetConf,
    ("dataset", "edm4hep"): EDM4hepDatasetConf,
    ("dataset", "sim_calo"): SimCaloDatasetConf,
    ("dataset", "sim_pf"): SimCaloDatasetConf,
    ("dataset", "clic_pf"): ClicPFDatasetConf,
    ("dataset", "sim_calo_closeby"): SimCaloDatasetConf,
}
