"""The event model: every collection an event can hold, declared once — its fields, units and how it marks
objects that belong to no particle (fakes and noise) — and the description of a view's inputs that
backbones are built from.

Readers (:mod:`src.io`), sources and views (:mod:`src.data`) and the evaluation use these declarations;
this package imports nothing else of the project, so every layer may import it. Modules: ``core``
(building blocks and the tracker's collections), ``calo``, ``ticl``, ``pf``; every name is importable from
the package.
"""

from src.event_model.calo import (
    CALO_HITS,
    CALO_PARTICLE_TYPES,
    CALO_TYPE_NAMES,
    CLUSTERS,
    GEN_ORIGIN_FIELDS,
    GEN_PARTICLES,
    SUBDETECTORS,
    TRACKS,
    calo_particle_type,
)
from src.event_model.core import (
    HITS,
    LS,
    LS_FEATURE_NAMES,
    LS_TRUTH_FIELDS,
    N_LS_FEATURES,
    Collection,
    InputSpec,
    ls_feature_matrix,
)
from src.event_model.pf import (
    CLIC_PF_FIELDS,
    PF_CLASS_PDG,
    PF_CLASSES,
    PF_CLUSTER_FEATURES,
    PF_ELEMENT_TYPES,
    PF_ELEMENT_WIDTH,
    PF_PARTICLE_FEATURES,
    PF_PARTICLE_KINEMATICS,
    PF_TRACK_FEATURES,
)
from src.event_model.ticl import (
    LAYER_CLUSTER_FIELDS,
    LINK_FEATURE_NAMES,
    NO_TIME,
    PARTICLE_TYPES,
    SIM_PARTICLES,
    TRACKSTER_FEATURE_NAMES,
    TRACKSTERS,
)

__all__ = [
    "CALO_HITS",
    "CALO_PARTICLE_TYPES",
    "CALO_TYPE_NAMES",
    "CLIC_PF_FIELDS",
    "CLUSTERS",
    "GEN_ORIGIN_FIELDS",
    "GEN_PARTICLES",
    "HITS",
    "LAYER_CLUSTER_FIELDS",
    "LINK_FEATURE_NAMES",
    "LS",
    "LS_FEATURE_NAMES",
    "LS_TRUTH_FIELDS",
    "NO_TIME",
    "N_LS_FEATURES",
    "PARTICLE_TYPES",
    "PF_CLASSES",
    "PF_CLASS_PDG",
    "PF_CLUSTER_FEATURES",
    "PF_ELEMENT_TYPES",
    "PF_ELEMENT_WIDTH",
    "PF_PARTICLE_FEATURES",
    "PF_PARTICLE_KINEMATICS",
    "PF_TRACK_FEATURES",
    "SIM_PARTICLES",
    "SUBDETECTORS",
    "TRACKS",
    "TRACKSTERS",
    "TRACKSTER_FEATURE_NAMES",
    "Collection",
    "InputSpec",
    "calo_particle_type",
    "ls_feature_matrix",
]
