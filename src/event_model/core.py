"""The event model's building blocks (:class:`Collection`, :class:`InputSpec`) and the tracker's
collections: line segments (``LS``) and hits (``HITS``).

Line segments (``LS``): column order and meaning follow the HEPT-CMS study's ntuple processing exactly,
so a model trained on simulated events reads real ones and back. Per LS, with A = anchor (inner)
mini-doublet, E = end (outer) mini-doublet, and each mini-doublet (MD) made of a lower hit ``0`` and an
upper hit ``1``:

====  ==================  ===================================================================
col   name                meaning
====  ==================  ===================================================================
0     ``LS_phi``          LS azimuth (rad)
1     ``LS_eta``          LS pseudorapidity
2     ``LS_pt``           LS transverse-momentum estimate from its bending (GeV)
3-6   ``r, x, y, z``      centre: mean of the 4 hits A0, A1, E0, E1 (cm)
7     ``MD_dphichange``   mean of the two MDs' Δφ-change (angle of MD direction vs. position)
8-11  ``dr0..dz0``        E0 − A0 (lower hits of the two MDs)
12    ``ddphichange``     Δφ-change(E) − Δφ-change(A)
13-16 ``dr1..dz1``        E1 − A1 (upper hits of the two MDs)
17-20 ``drLS..dzLS``      ½[(A0 + E0) − (A1 + E1)]: mean (lower − upper) hit offset of the MDs
21    ``layer_anchor``    LST layer of A (1-6 barrel, 7-11 endcap disks)
22    ``layer_end``       LST layer of E
====  ==================  ===================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

LS_FEATURE_NAMES: tuple[str, ...] = (
    "LS_phi", "LS_eta", "LS_pt",
    "r", "x", "y", "z", "MD_dphichange",
    "dr0", "dx0", "dy0", "dz0", "ddphichange",
    "dr1", "dx1", "dy1", "dz1",
    "drLS", "dxLS", "dyLS", "dzLS",
    "layer_anchor", "layer_end",
)  # fmt: skip
N_LS_FEATURES = len(LS_FEATURE_NAMES)
assert N_LS_FEATURES == 23

#: Truth arrays every LS event carries next to ``x`` (one entry per LS).
LS_TRUTH_FIELDS: tuple[str, ...] = ("particle_id", "sim_pt", "sim_eta", "track_length")


def ls_feature_matrix(
    hits: np.ndarray, dphichange: np.ndarray, layers: np.ndarray, phi_eta_pt: np.ndarray
) -> np.ndarray:
    """The 23 LS features (float32 [n, 23]) from the four hits of each LS.

    ``hits`` [n, 4, 4]: hits A0, A1, E0, E1 (anchor MD lower and upper, end MD lower and upper), each
    (r, x, y, z) in cm; ``dphichange`` [n, 2] of the anchor and end MD; ``layers`` [n, 2] their LST layers;
    ``phi_eta_pt`` [n, 3] the LS's ``LS_phi, LS_eta, LS_pt``. The simulation (:mod:`src.reco.ls_features`)
    and the LST ntuple reader (:mod:`src.io.lst_ntuple`) both compute the columns here, in float64.
    """
    hits = np.asarray(hits, dtype=np.float64)
    a0, a1, e0, e1 = (hits[:, k] for k in range(4))
    dpc_a, dpc_e = np.asarray(dphichange, dtype=np.float64).T
    cols = [
        np.asarray(phi_eta_pt, dtype=np.float64),
        hits[..., 0].mean(axis=1),
        hits[..., 1:].mean(axis=1),
        0.5 * (dpc_a + dpc_e),
        e0 - a0,
        dpc_e - dpc_a,
        e1 - a1,
        0.5 * ((a0[:, 0] + e0[:, 0]) - a1[:, 0] - e1[:, 0]),
        0.5 * ((a0[:, 1:] + e0[:, 1:]) - (a1[:, 1:] + e1[:, 1:])),
        np.asarray(layers, dtype=np.float64),
    ]
    return np.column_stack(cols).astype(np.float32)


@dataclass(frozen=True)
class Collection:
    """One kind of object of an event: its fields (name → unit and meaning) and its truth convention.

    ``truth`` names the field holding the particle of each object; objects with ``truth < first_particle``
    belong to no particle (a fake line segment, a noise hit). Ids at or above it are particles, and which
    particle an id denotes is only meaningful within one event.
    """

    name: str
    fields: MappingProxyType
    truth: str
    first_particle: int

    def no_particle(self, ids: Any) -> np.ndarray:
        """Boolean mask of the objects that belong to no particle, from their truth ids."""
        return np.asarray(ids) < self.first_particle

    def describe(self) -> str:
        """One paragraph: the collection, its convention and its fields."""
        fields = "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        return f"{self.name} (no particle: {self.truth} < {self.first_particle}) — {fields}"


def _fields(**kw: str) -> MappingProxyType:
    return MappingProxyType(dict(kw))


#: CMS LST line segments (real HEPT-CMS events and the simulation alike): −1 is a fake; 0 is a real
#: track on real events (track ids start at 0 there).
LS = Collection(
    name="line segments",
    fields=_fields(
        x="float32 [N, 23], the LST features of LS_FEATURE_NAMES (cm, GeV, rad)",
        particle_id="int64, simulated track (>= 0) or -1 for a fake",
        sim_pt="float32, simulated pT of the track (GeV); NaN for fakes and on real events",
        sim_eta="float32, simulated eta of the track; NaN for fakes and on real events",
        track_length="int64, LS of the same track in the event (0 for fakes)",
    ),
    truth="particle_id",
    first_particle=0,
)

#: Tracker hits in TrackML's convention (the TrackML files and the simulation's hit events): particle
#: id 0 is a noise hit.
HITS = Collection(
    name="tracker hits",
    fields=_fields(
        hit_pos="float64 [N, 3], measured position (mm)",
        particle_id="int64, the particle that made the hit (> 0) or 0 for noise",
        truth_pos="float64 [N, 3], true position on the particle's path (mm)",
        truth_mom="float64 [N, 3], the particle's momentum at the hit (GeV)",
        weight="float64, the TrackML score weight of the hit",
        particle_vertex="float64 [N, 3], production vertex of the hit's particle (mm)",
        particle_mom="float64 [N, 3], momentum of the hit's particle at its vertex (GeV)",
        particle_q="int64, charge of the hit's particle",
        volume_id="int64, TrackML volume",
        layer_id="int64, TrackML layer",
        module_id="int64, module",
    ),
    truth="particle_id",
    first_particle=1,
)


@dataclass(frozen=True)
class InputSpec:
    """What a view gives a backbone, described once: the backbone is built from this and nothing else.

    ``feature_names`` are the columns of ``x``; ``coords`` the locality coordinates in ``coords`` with
    ``periodic`` flags (angles in radians wrap); ``links`` the (start, end) coordinate columns of objects
    that have two ends (line segments), else None; ``object_types`` the number of kinds of objects mixed
    in one event (e.g. tracks and clusters): with more than one, column 0 of ``x`` holds each object's
    type, 1..object_types, and reaches the backbone unnormalised; ``edge_features`` the width of
    ``edge_attr`` (0: no edges).
    """

    feature_names: tuple[str, ...]
    coords: tuple[str, ...]
    periodic: tuple[bool, ...]
    links: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    object_types: int = 1
    edge_features: int = 0

    def __post_init__(self) -> None:
        if len(self.periodic) < len(self.coords):
            raise ValueError(f"periodic has {len(self.periodic)} flags for {len(self.coords)} coordinates")
        if not self.feature_names:
            raise ValueError("a view must give at least one feature")

    @property
    def num_features(self) -> int:
        """Width of ``x``."""
        return len(self.feature_names)

    @property
    def coords_dim(self) -> int:
        """Width of ``coords`` (the named coordinates and, with links, the link columns)."""
        return len(self.periodic)
