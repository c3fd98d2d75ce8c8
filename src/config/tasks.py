"""Schemas of ``task=`` and of the views (``task.view``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING

from src.config.checks import at_least, checked, fraction, fractions


@dataclass
class LSViewConf:
    """``task.view`` for line-segment tasks."""

    _target_: str = "src.data.views.LSView"
    coords: list[str] = MISSING
    links: bool = MISSING


@dataclass
class HitViewConf:
    """``task.view`` for hit-level tasks: input features, locality coordinates and regression targets."""

    _target_: str = "src.data.views.HitView"
    features: list[str] = MISSING
    coords: list[str] = MISSING
    targets: list[str] = MISSING


@dataclass
class CaloHitViewConf:
    """``task.view`` for calorimeter hit tasks: hits (and optionally tracks) as tokens."""

    _target_: str = "src.data.calo_view.CaloHitView"
    with_time: bool = MISSING
    with_tracks: bool = MISSING


@dataclass
class TaskConf:
    """Fields shared by every task (the optimisation recipe and the monitored metric)."""

    _target_: str = MISSING
    monitor: str = MISSING
    monitor_mode: str = MISSING
    warmup_fraction: float = checked(fraction())
    min_lr_ratio: float = checked(fraction())
    normalizer_events: int = MISSING
    train_tiles: int = checked(at_least(1))
    tile_column: int = MISSING
    optimizer: Any = MISSING


@dataclass
class PileupTaskConf(TaskConf):
    """``task=pileup``: focal loss with per-event imbalance weight; precision at high recall."""

    _target_: str = "src.tasks.pileup.PileupTask"
    gamma: float = checked(at_least(0))
    imbalance_multiplier: float = MISSING
    recalls: list[float] = checked(fractions())
    beta: float = MISSING
    threshold_recall: float = checked(fraction())
    view: LSViewConf = MISSING


@dataclass
class TrackingTaskConf(TaskConf):
    """``task=tracking``: LS embedding with InfoNCE on LDA radius-graph pairs; AP@k and track candidates."""

    _target_: str = "src.tasks.tracking.TrackingTask"
    radius: float = MISSING
    max_neighbours_factor: float = MISSING
    all_positives: bool = MISSING
    sigma: float = MISSING
    tau: float = MISSING
    fake_negatives: bool = MISSING
    lda_components: int = MISSING
    lda_events: int = MISSING
    lda_max_tracks: int = MISSING
    lda_residual: float = MISSING
    evaluation: Any = MISSING
    view: LSViewConf = MISSING


@dataclass
class TrackRegressionTaskConf(TaskConf):
    """``task=track_regression``: per-hit track parameters (MSE), HDBSCAN, TrackML score."""

    _target_: str = "src.tasks.track_regression.TrackRegressionTask"
    cluster_val: bool = MISSING
    target_frame: str = MISSING  # plain | hit | helix
    weighted_loss: bool = MISSING
    frame_loss: bool = MISSING
    cluster_frame_weight: float = MISSING
    evaluation: Any = MISSING
    view: HitViewConf = MISSING


@dataclass
class LinkingViewConf:
    """``task.view`` of the linking task: TICL events as trackster graphs."""

    _target_: str = "src.data.linking.LinkingView"
    max_score: float = MISSING
    delta: float = MISSING


@dataclass
class LinkingTaskConf(TaskConf):
    """``task=linking``: TICL trackster linking (focal and contrastive losses, energy-weighted metrics)."""

    _target_: str = "src.tasks.linking.LinkingTask"
    gamma: float = MISSING
    alpha: Any = MISSING  # float or null (0.5 + fraction of negative training edges / 2)
    energy_scale: float = MISSING
    focal_weight: float = MISSING
    contrastive_weight: float = MISSING
    contrastive_margin: float = MISSING
    head_hidden: int = MISSING
    head_dropout: float = MISSING
    log_features: list[str] = MISSING
    log_edge_features: list[str] = MISSING
    working_point: str = MISSING
    evaluation: Any = MISSING
    view: LinkingViewConf = MISSING


@dataclass
class PFViewConf:
    """``task.view`` for particle flow: how a calorimeter event becomes PF elements, targets and the
    rule-based PF's candidates (each a component with its own ``_target_``)."""

    _target_: str = "src.data.pf.PFView"
    baseline: Any = MISSING
    jets: Any = MISSING
    targets: Any = MISSING
    calo_radius: float = MISSING
    calo_z: float = MISSING
    min_cluster_energy: float = MISSING


@dataclass
class ParticleFlowTaskConf(TaskConf):
    """``task=particle_flow``: MLPF heads and loss; jets and MET next to the rule-based PF."""

    _target_: str = "src.tasks.particle_flow.ParticleFlowTask"
    head_hidden: int = MISSING
    binary_weight: float = MISSING
    class_gamma: float = MISSING
    momentum_weight: float = MISSING
    angle_weight: float = MISSING
    evaluation: Any = MISSING
    view: PFViewConf = MISSING


@dataclass
class CaloClusteringTaskConf(TaskConf):
    """``task=calo_clustering``: object condensation with type, charge, energy and direction per hit."""

    _target_: str = "src.tasks.calo_clustering.CaloClusteringTask"
    cluster_dim: int = MISSING
    q_min: float = MISSING
    noise_weight: float = MISSING
    head_hidden: int = MISSING
    direction_prior: float = MISSING
    energy_weight_power: float = MISSING
    loss_weights: dict[str, float] = MISSING
    evaluation: Any = MISSING
    view: CaloHitViewConf = MISSING


SCHEMAS = {
    ("task", "linking"): LinkingTaskConf,
    ("task", "pileup"): PileupTaskConf,
    ("task", "tracking"): TrackingTaskConf,
    ("task", "track_regression"): TrackRegressionTaskConf,
    ("task", "particle_flow"): ParticleFlowTaskConf,
    ("task", "calo_clustering"): CaloClusteringTaskConf,
}
