"""Topological clustering of calorimeter hits: the classical clustering the learned models must beat.

Generic over the ``hit_*`` arrays of :data:`src.event_model.CALO_HITS`, so it runs on simulated hits and
on real EDM4hep hits alike. With each hit's significance s = E/σ (σ: the noise of its subdetector):

1. neighbours are hits of the same subdetector group (``groups``: ECAL, HCAL, HGCAL, ...) at most
   ``layer_reach`` layers apart (``hit_layer`` + ``layer_offset`` of the subdetector; 1: the same or an
   adjacent layer) whose distance transverse to the direction from the origin is at most
   ``neighbour_factor`` × the cell size;
2. hits with s ≥ ``neighbour_threshold`` that are neighbours join one cluster (a bridge of such hits
   merges two showers), and a cluster is kept if it holds at least one seed, s ≥ ``seed_threshold`` and,
   with ``seed_mip`` > 0, an energy of at least ``seed_mip`` × the subdetector's MIP signal (``mip``, GeV:
   where the hardware threshold already lies above 4σ, as in CLIC's silicon, every hit is a 4σ seed and
   the MIP cut is what keeps isolated noise and tail hits from seeding clusters of their own);
3. hits with ``cell_threshold`` ≤ s < ``neighbour_threshold`` join the cluster of their most significant
   neighbour in a cluster (they do not grow it further); hits below ``cell_threshold`` join none;
4. optionally (:mod:`src.reco.topo_refine`): clusters with two or more local maxima of at least
   ``peak_energy`` (GeV, a hit plus its neighbours, in ``peak_subdetectors``) more than
   ``peak_separation`` cells apart are split, one piece per maximum (close-by showers that step 2
   bridged); then clusters below ``fragment_energy`` (GeV) join the nearest more energetic cluster
   within ``merge_cone`` (rad, hit to hit seen from the origin) — the sparse tails of a shower, its ECAL
   and HCAL parts.
   Clusters are numbered by decreasing seed energy (pieces without a seed after them).

The default 4-2-0 thresholds are those of ATLAS's topological clusters. Cell sizes (mm) and the distance
between adjacent layers are taken from ``cell_size`` and ``layer_gap`` where given, else derived from the
event: the 10th percentile of each hit's distance to its nearest hit in the same layer (the cells of a
shower sit one pitch apart), and to its nearest hit in the next layer. Noise σ (GeV) must be given for
every subdetector that has hits. Steps 1-3 with ``seed_mip``, ``peak_energy`` and ``fragment_energy`` at 0 and
``layer_reach`` 1 are the plain topological clustering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from src.event_model import SUBDETECTORS
from src.reco.cluster_properties import cluster_properties
from src.reco.topo_refine import merge_fragments, split_at_maxima

#: Which subdetectors' hits may neighbour each other.
DEFAULT_GROUPS: dict[str, str] = {
    "ecal_barrel": "ecal",
    "ecal_endcap": "ecal",
    "hcal_barrel": "hcal",
    "hcal_endcap": "hcal",
    "hgcal_ce_e": "hgcal",
    "hgcal_ce_h_si": "hgcal",
    "hgcal_ce_h_scint": "hgcal",
    "other": "other",
}
#: Layer coordinate separating layers in the k-d trees used to derive cell sizes (mm).
_LAYER_SPACING = 1.0e6


def _percentile_nearest(points: np.ndarray, queries: np.ndarray, *, exclude_self: bool) -> float:
    """10th percentile of the distance from ``queries`` to the nearest of ``points`` (NaN if none)."""
    if len(points) < 2:
        return float("nan")
    dist, _ = cKDTree(points).query(queries, k=2 if exclude_self else 1)
    dist = dist[:, 1] if exclude_self else dist
    dist = dist[(dist > 1e-6) & (dist < 0.5 * _LAYER_SPACING)]  # hits at one position: not a pitch
    return float(np.percentile(dist, 10)) if len(dist) else float("nan")


def derive_cell_size(xyz: np.ndarray, layer: np.ndarray) -> tuple[float, float]:
    """(cell size, gap between adjacent layers) in mm of one subdetector's hits, from the data."""
    points = np.c_[xyz, layer * _LAYER_SPACING]
    cell = _percentile_nearest(points, points, exclude_self=True)
    next_layer = np.c_[xyz, (layer + 1) * _LAYER_SPACING]
    gap = _percentile_nearest(points, next_layer, exclude_self=False)
    return cell, gap


class TopoClustering:
    """Topological clustering with per-subdetector ``noise`` σ (GeV, keyed by subdetector name) and
    thresholds in units of σ; called on an event's ``hit_*`` arrays it returns the ``cluster_*`` arrays
    and ``hit_cluster`` (int32, −1 for none)."""

    def __init__(
        self,
        *,
        noise: Mapping[str, float],
        cell_size: Mapping[str, float] | None = None,
        layer_gap: Mapping[str, float] | None = None,
        seed_threshold: float = 4.0,
        neighbour_threshold: float = 2.0,
        cell_threshold: float = 0.0,
        neighbour_factor: float = 1.5,
        groups: Mapping[str, str] | None = None,
        layer_offset: Mapping[str, int] | None = None,
        mip: Mapping[str, float] | None = None,
        seed_mip: float = 0.0,
        layer_reach: int = 1,
        peak_energy: float = 0.0,
        peak_separation: float = 4.0,
        peak_subdetectors: Sequence[str] | None = None,
        fragment_energy: float = 0.0,
        merge_cone: float = 0.05,
    ) -> None:
        if not seed_threshold >= neighbour_threshold >= cell_threshold:
            raise ValueError(
                f"topo clustering needs seed >= neighbour >= cell thresholds, got {seed_threshold}, "
                f"{neighbour_threshold}, {cell_threshold}"
            )
        if layer_reach < 1:
            raise ValueError(
                f"topo clustering: layer_reach must be >= 1 (adjacent layers), got {layer_reach}"
            )
        unknown = set(noise) | set(cell_size or {}) | set(layer_gap or {}) | set(layer_offset or {})
        unknown |= set(mip or {}) | set(peak_subdetectors or ())
        unknown -= set(SUBDETECTORS)
        if unknown:
            raise ValueError(f"unknown subdetectors {sorted(unknown)}; known: {list(SUBDETECTORS)}")
        self.noise = {k: float(v) for k, v in noise.items()}
        self.cell_size = {k: float(v) for k, v in (cell_size or {}).items()}
        self.layer_gap = {k: float(v) for k, v in (layer_gap or {}).items()}
        self.thresholds = (float(seed_threshold), float(neighbour_threshold), float(cell_threshold))
        self.neighbour_factor = float(neighbour_factor)
        self.groups = dict(groups or DEFAULT_GROUPS)
        self.layer_offset = {k: int(v) for k, v in (layer_offset or {}).items()}
        self.mip = {k: float(v) for k, v in (mip or {}).items()}
        self.seed_mip = float(seed_mip)
        self.layer_reach = int(layer_reach)
        self.peak = (float(peak_energy), float(peak_separation))
        self.peak_subdetectors = list(SUBDETECTORS if peak_subdetectors is None else peak_subdetectors)
        self.fragments = (float(fragment_energy), float(merge_cone))

    def describe(self) -> dict[str, Any]:
        """Every setting, for fingerprints."""
        return {
            "noise": self.noise,
            "cell_size": self.cell_size,
            "layer_gap": self.layer_gap,
            "thresholds": list(self.thresholds),
            "neighbour_factor": self.neighbour_factor,
            "groups": self.groups,
            "layer_offset": self.layer_offset,
            "mip": self.mip,
            "seed_mip": self.seed_mip,
            "layer_reach": self.layer_reach,
            "peak": list(self.peak),
            "peak_subdetectors": self.peak_subdetectors,
            "fragments": list(self.fragments),
        }

    def _per_hit(self, sub: np.ndarray, table: Mapping[str, float], what: str) -> np.ndarray:
        """A per-subdetector value for each hit; a ``ValueError`` names a subdetector without one."""
        values = np.full(len(SUBDETECTORS), np.nan)
        for k, v in table.items():
            values[SUBDETECTORS.index(k)] = v
        missing = sorted({SUBDETECTORS[i] for i in np.unique(sub) if np.isnan(values[i])})
        if missing:
            raise ValueError(f"topo clustering: no {what} for subdetectors {missing} of this event's hits; "
                             f"pass {what}={{'{missing[0]}': ..., ...}}")  # fmt: skip
        return values[sub]

    def _geometry(self, xyz: np.ndarray, sub: np.ndarray, layer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per hit: cell size and adjacent-layer gap (mm), given or derived from the event."""
        cell = dict(self.cell_size)
        gap = dict(self.layer_gap)
        for i in np.unique(sub):
            name = SUBDETECTORS[i]
            if name in cell and name in gap:
                continue
            sel = sub == i
            c, g = derive_cell_size(xyz[sel], layer[sel])
            cell.setdefault(name, c if np.isfinite(c) else 0.0)
            gap.setdefault(name, g if np.isfinite(g) else 0.0)
        return self._per_hit(sub, cell, "cell_size"), self._per_hit(sub, gap, "layer_gap")

    def _layout(self, hits: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        """Per hit: position (mm), subdetector, layer counted across its region, cell size and layer gap."""
        xyz = np.stack([np.asarray(hits[f"hit_{a}"], dtype=np.float64) for a in "xyz"], axis=1)
        sub = np.asarray(hits["hit_subdetector"], dtype=np.int64)
        offset = np.zeros(len(SUBDETECTORS), dtype=np.int64)
        for k, v in self.layer_offset.items():
            offset[SUBDETECTORS.index(k)] = v
        layer = np.asarray(hits["hit_layer"], dtype=np.int64) + offset[sub]
        cell, gap = self._geometry(xyz, sub, layer)
        return xyz, sub, layer, cell, gap

    def neighbours(self, hits: Mapping[str, np.ndarray]) -> np.ndarray:
        """Neighbouring hit pairs [m, 2] (i < j) of an event."""
        return self._pairs(*self._layout(hits))

    def _pairs(
        self, xyz: np.ndarray, sub: np.ndarray, layer: np.ndarray, cell: np.ndarray, gap: np.ndarray
    ) -> np.ndarray:
        """Neighbouring hit pairs [m, 2] (i < j) of hits given by their layout."""
        limit = self.neighbour_factor * cell
        group_of = np.array([self.groups.get(name, name) for name in SUBDETECTORS])[sub]
        pairs = []
        for group in np.unique(group_of):
            idx = np.flatnonzero(group_of == group)
            depth = (self.layer_reach + 1) * gap[idx].max()
            radius = float(np.sqrt(limit[idx].max() ** 2 + depth**2))
            if len(idx) < 2 or radius <= 0:
                continue
            found = cKDTree(xyz[idx]).query_pairs(radius, output_type="ndarray")
            pairs.append(idx[found])
        if not pairs:
            return np.zeros((0, 2), dtype=np.int64)
        i, j = np.concatenate(pairs).T
        delta = xyz[j] - xyz[i]
        mid = 0.5 * (xyz[i] + xyz[j])
        axis = mid / np.linalg.norm(mid, axis=1, keepdims=True).clip(1e-9)
        transverse = np.linalg.norm(delta - (delta * axis).sum(axis=1, keepdims=True) * axis, axis=1)
        near = np.abs(layer[i] - layer[j]) <= self.layer_reach
        ok = near & (transverse <= np.maximum(limit[i], limit[j]))
        return np.stack([i[ok], j[ok]], axis=1)

    def _seeds(self, sub: np.ndarray, energy: np.ndarray, sig: np.ndarray) -> np.ndarray:
        """Which hits may seed a cluster: significance and, with ``seed_mip``, energy in MIPs."""
        seed = sig >= self.thresholds[0]
        if self.seed_mip > 0:
            seed &= energy >= self.seed_mip * self._per_hit(sub, self.mip, "mip")
        return seed

    def cluster(self, hits: Mapping[str, np.ndarray]) -> tuple[np.ndarray, int]:
        """Each hit's cluster (−1: none) and the number of clusters."""
        n = len(hits["hit_energy"])
        if n == 0:
            return np.zeros(0, dtype=np.int32), 0
        xyz, sub, layer, cell, gap = self._layout(hits)
        energy = np.asarray(hits["hit_energy"], dtype=np.float64)
        sig = energy / self._per_hit(sub, self.noise, "noise")
        _, grow_t, cell_t = self.thresholds
        grow = sig >= grow_t
        seed = self._seeds(sub, energy, sig)
        pairs = self._pairs(xyz, sub, layer, cell, gap)
        i, j = pairs[:, 0], pairs[:, 1]
        both = grow[i] & grow[j]
        graph = coo_matrix((np.ones(both.sum()), (i[both], j[both])), shape=(n, n))
        _, component = connected_components(graph, directed=False)
        # keep the components holding a seed
        has_seed = np.zeros(component.max() + 1, dtype=bool)
        has_seed[component[seed]] = True
        kept = np.flatnonzero(has_seed)
        label = np.full(len(has_seed), -1, dtype=np.int64)
        label[kept] = np.arange(len(kept))
        hit_cluster = np.where(grow, label[component], -1)
        # boundary hits join the cluster of their most significant clustered neighbour
        boundary = (sig >= cell_t) & ~grow
        a = np.concatenate([i, j])
        b = np.concatenate([j, i])
        edge = boundary[a] & (hit_cluster[b] >= 0)
        a, b = a[edge], b[edge]
        order = np.lexsort((-sig[b], a))
        first = order[np.unique(a[order], return_index=True)[1]]
        hit_cluster[a[first]] = hit_cluster[b[first]]
        n_clusters = len(kept)
        peak_energy, peak_separation = self.peak
        if peak_energy > 0 and n_clusters:
            can_peak = np.isin(np.asarray(SUBDETECTORS)[sub], self.peak_subdetectors)
            hit_cluster, n_clusters = split_at_maxima(
                hit_cluster, n_clusters, pairs, energy, xyz, cell=cell, can_peak=can_peak,
                peak_energy=peak_energy, peak_separation=peak_separation,
            )  # fmt: skip
        fragment_energy, merge_cone = self.fragments
        if fragment_energy > 0 and n_clusters:
            hit_cluster, n_clusters = merge_fragments(
                hit_cluster, n_clusters, energy, xyz, fragment_energy=fragment_energy, merge_cone=merge_cone
            )
        return _by_seed_energy(hit_cluster, n_clusters, energy, seed), n_clusters

    def __call__(self, hits: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The ``cluster_*`` arrays and ``hit_cluster`` of an event's hits."""
        hit_cluster, n_clusters = self.cluster(hits)
        return {**cluster_properties(hit_cluster, n_clusters, hits), "hit_cluster": hit_cluster}


def _by_seed_energy(
    hit_cluster: np.ndarray, n_clusters: int, energy: np.ndarray, seed: np.ndarray
) -> np.ndarray:
    """Clusters renumbered by decreasing energy of their most energetic seed (clusters without a seed, split
    off at a maximum, after them by their most energetic hit)."""
    member = np.flatnonzero(hit_cluster >= 0)
    c = hit_cluster[member]
    best_seed = np.full(n_clusters, -np.inf)
    np.maximum.at(best_seed, c[seed[member]], energy[member][seed[member]])
    best_hit = np.full(n_clusters, -np.inf)
    np.maximum.at(best_hit, c, energy[member])
    order = np.lexsort((-best_hit, -best_seed))
    rank = np.empty(n_clusters, dtype=np.int64)
    rank[order] = np.arange(n_clusters)
    out = np.full(len(hit_cluster), -1, dtype=np.int32)
    out[member] = rank[c]
    return out


def detector_clustering(detector: Any, **options: Any) -> TopoClustering:
    """The topological clustering with a simulated detector's cell noise, MIP signal, cell sizes, layer
    pitches and layer offsets (``detector``: a :class:`src.sim.calo.simulate.CaloSimulator`; ``options``:
    thresholds and the splitting/merging settings), as ``dataset=sim_calo`` clusters its events."""
    return TopoClustering(
        noise=detector.noise_by_subdetector(),
        mip=detector.mip_by_subdetector(),
        **detector.cell_geometry(),
        **options,
    )
