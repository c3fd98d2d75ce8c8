"""Properties of clusters of calorimeter hits (the ``cluster_*`` arrays of
:data:`src.event_model.CLUSTERS`) from the hits' cluster membership, vectorised over clusters."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from src.event_model import SUBDETECTORS

#: Subdetectors whose energy counts as ECAL (``cluster_energy_ecal``) and as HCAL; the rest is "other".
ECAL_SUBDETECTORS = ("ecal_barrel", "ecal_endcap", "hgcal_ce_e")
HCAL_SUBDETECTORS = ("hcal_barrel", "hcal_endcap", "hgcal_ce_h_si", "hgcal_ce_h_scint")


def _weighted_sums(cluster: np.ndarray, weight: np.ndarray, n: int, value: np.ndarray) -> np.ndarray:
    """Per cluster: Σ weight·value over its hits."""
    return np.bincount(cluster, weights=weight * value, minlength=n)


def best_particle(hit_cluster: np.ndarray, n_clusters: int, hits: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per cluster, the particle (gen row) with the most energy in it: from the hits' truth contributions
    where the event has them, else from ``hit_particle`` weighted by hit energy; −1 where none."""
    ptr = hits.get("hit_contrib_ptr")
    if ptr is not None and len(hits.get("hit_contrib_particle", ())) > 0:
        counts = np.diff(np.asarray(ptr, dtype=np.int64))
        cluster = np.repeat(hit_cluster, counts)
        particle = np.asarray(hits["hit_contrib_particle"], dtype=np.int64)
        energy = np.asarray(hits["hit_contrib_energy"], dtype=np.float64)
    else:
        cluster = hit_cluster
        particle = np.asarray(hits["hit_particle"], dtype=np.int64)
        energy = np.asarray(hits["hit_energy"], dtype=np.float64)
    ok = (cluster >= 0) & (particle >= 0)
    out = np.full(n_clusters, -1, dtype=np.int32)
    if not ok.any():
        return out
    cluster, particle, energy = cluster[ok], particle[ok], energy[ok]
    keys, inverse = np.unique(np.stack([cluster, particle], axis=1), axis=0, return_inverse=True)
    totals = np.bincount(inverse.ravel(), weights=energy)
    order = np.lexsort((-totals, keys[:, 0]))  # by cluster, then energy descending
    first = order[np.unique(keys[order, 0], return_index=True)[1]]
    out[keys[first, 0]] = keys[first, 1]
    return out


def cluster_properties(
    hit_cluster: np.ndarray, n_clusters: int, hits: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The ``cluster_*`` arrays of clusters 0..n_clusters−1 given each hit's cluster (−1: none): energy
    sums (total, ECAL, HCAL, other), energy-weighted position and spread (negative hit energies weigh
    0), hit count and the particle sharing most energy."""
    member = hit_cluster >= 0
    c = hit_cluster[member]
    energy = np.asarray(hits["hit_energy"], dtype=np.float64)[member]
    weight = np.clip(energy, 0.0, None)
    sub = np.asarray(hits["hit_subdetector"])[member]
    names = np.asarray(SUBDETECTORS)
    ecal = np.isin(names[sub], ECAL_SUBDETECTORS)
    hcal = np.isin(names[sub], HCAL_SUBDETECTORS)
    n = n_clusters
    total_w = np.bincount(c, weights=weight, minlength=n)
    norm = np.where(total_w > 0, total_w, 1.0)
    out: dict[str, np.ndarray] = {
        "cluster_energy": np.bincount(c, weights=energy, minlength=n).astype(np.float32)
    }
    spread = {}
    for axis in ("x", "y", "z"):
        pos = np.asarray(hits[f"hit_{axis}"], dtype=np.float64)[member]
        mean = _weighted_sums(c, weight, n, pos) / norm
        var = _weighted_sums(c, weight, n, (pos - mean[c]) ** 2) / norm
        out[f"cluster_{axis}"] = mean.astype(np.float32)
        spread[f"cluster_sigma_{axis}"] = np.sqrt(var).astype(np.float32)
    out["cluster_energy_ecal"] = _weighted_sums(c, energy, n, ecal).astype(np.float32)
    out["cluster_energy_hcal"] = _weighted_sums(c, energy, n, hcal).astype(np.float32)
    out["cluster_energy_other"] = _weighted_sums(c, energy, n, ~(ecal | hcal)).astype(np.float32)
    out["cluster_n_hits"] = np.bincount(c, minlength=n).astype(np.int32)
    out.update(spread)
    out["cluster_particle"] = best_particle(hit_cluster, n, hits)
    return out
