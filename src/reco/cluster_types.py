"""Rule-based particle type, charge and direction of calorimeter clusters: what a classical reconstruction
says of a cluster without a learned model (the baseline of the hit-clustering task).

A track whose calorimeter entry point lies within ``track_dr`` (in η–φ) of a cluster's energy-weighted
centroid, the closest such cluster, makes that cluster a charged pion (π±, the most common charged
hadron) with the track's charge; an unmatched cluster with at least ``em_fraction`` of its energy in the
ECAL is a photon, any other a K0L (the most common neutral hadron of jets). Directions point from the
origin to the centroid; energies are the summed hit energies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from src.event_model import CALO_TYPE_NAMES, SUBDETECTORS

ECAL = ("ecal_barrel", "ecal_endcap", "hgcal_ce_e")


@dataclass(frozen=True)
class ClusterTyper:
    """Callable: ``(hit_cluster, n_clusters, hits, tracks) -> (type_id, charge, direction, energy)``."""

    track_dr: float = 0.1
    em_fraction: float = 0.8

    def __call__(
        self,
        hit_cluster: np.ndarray,
        n_clusters: int,
        hits: Mapping[str, np.ndarray],
        tracks: Mapping[str, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per cluster 0..n_clusters−1: type class, charge, unit direction [C, 3], summed hit energy."""
        member = hit_cluster >= 0
        c = hit_cluster[member]
        energy = np.asarray(hits["hit_energy"], dtype=np.float64)[member]
        weight = np.clip(energy, 0.0, None)
        pos = np.stack([np.asarray(hits[f"hit_{a}"], dtype=np.float64)[member] for a in "xyz"], axis=1)
        centroid = np.stack([np.bincount(c, weights=weight * p, minlength=n_clusters) for p in pos.T], 1)
        direction = centroid / np.maximum(np.linalg.norm(centroid, axis=1, keepdims=True), 1e-12)
        total = np.bincount(c, weights=energy, minlength=n_clusters)
        sub = np.asarray(SUBDETECTORS)[np.asarray(hits["hit_subdetector"], dtype=np.int64)[member]]
        ecal = np.bincount(c, weights=energy * np.isin(sub, ECAL), minlength=n_clusters)
        em = ecal >= self.em_fraction * np.where(total > 0, total, np.inf)
        type_id = np.where(em, CALO_TYPE_NAMES.index("gamma"), CALO_TYPE_NAMES.index("K0L"))
        charge = np.zeros(n_clusters, dtype=np.int64)
        track_pos = np.stack([np.asarray(tracks[f"track_calo_{a}"], dtype=np.float64) for a in "xyz"], 1)
        reach = np.isfinite(track_pos).all(axis=1)
        if n_clusters and reach.any():
            dr = _delta_r(track_pos[reach], centroid)
            nearest = dr.argmin(axis=1)
            ok = dr[np.arange(len(nearest)), nearest] < self.track_dr
            p = np.asarray(tracks["track_p"], dtype=np.float64)[reach][ok]
            q = np.asarray(tracks["track_charge"], dtype=np.int64)[reach][ok]
            for cluster, sign in zip(nearest[ok][np.argsort(p)], q[np.argsort(p)], strict=True):
                charge[cluster] = 1 if sign > 0 else -1  # the highest-momentum track comes last and wins
            type_id = np.where(charge > 0, CALO_TYPE_NAMES.index("pi+"), type_id)
            type_id = np.where(charge < 0, CALO_TYPE_NAMES.index("pi-"), type_id)
        return type_id.astype(np.int64), charge, direction, total


def _delta_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[len(a), len(b)] η–φ distances between points a and b (mm, from the origin)."""

    def eta_phi(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = np.maximum(np.hypot(p[:, 0], p[:, 1]), 1e-9)
        return np.arcsinh(p[:, 2] / r), np.arctan2(p[:, 1], p[:, 0])

    (ea, pa), (eb, pb) = eta_phi(a), eta_phi(b)
    dphi = np.angle(np.exp(1j * (pa[:, None] - pb[None, :])))
    return np.hypot(ea[:, None] - eb[None, :], dphi)
