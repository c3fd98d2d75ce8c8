"""The linking graph of an event's tracksters, as TICL builds it: node features, candidate edges, edge
features and truth.

* Node features: the 29 of :data:`src.event_model.TRACKSTER_FEATURE_NAMES`, in the study's order, from
  the TICL event. num_LCs and num_hits count the trackster's layer clusters and their hits, z_min/z_max
  are the smallest and largest z of its layer clusters (signed, as the study's ``ak.min(vertices_z)``),
  LC_density = num_LCs / 282 and trackster_density = (tracksters of the event) / 282, the study's
  normalisation (2 × (3.0 − 1.5) in η × 2 × 47 layers).
* Candidate edges (TICL's ``TICLLayerTile`` search): tiles of 0.1 in η and 2π/72 in φ; for each
  trackster, every trackster of the same endcap in the tiles that overlap η ± 0.1, φ ± 0.1 and lying
  further out in |z| (its barycentre) gives an edge (inner, outer).
* Edge features: :data:`src.event_model.LINK_FEATURE_NAMES`, computed from the node features alone (so a
  perturbed barycentre changes them consistently, :mod:`src.reco.ticl_perturb`).
* Truth: an edge is true when both ends are associated to the same simulated particle (never across
  signal and pileup, never for unassociated ends); categories 0 signal–signal, 1 pileup–pileup,
  2 signal–pileup by the interaction of each end's most-sharing particle (no particle: pileup).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

from src.event_model import LINK_FEATURE_NAMES, NO_TIME, TRACKSTER_FEATURE_NAMES

F = {name: i for i, name in enumerate(TRACKSTER_FEATURE_NAMES)}
#: The study's density normalisation: 2 × (3.0 − 1.5) in η × 2 × 47 layers.
DENSITY_NORM = 2 * (3.0 - 1.5) * (2 * 47)
#: TICL's tiles for the linking search (the study's ``TICLLayerTile``): η bins from −π, φ bins.
TILE_ETA, TILE_PHI_BINS = 0.1, 72
#: Categories of edges by the origin of their ends.
SIGNAL_SIGNAL, PILEUP_PILEUP, SIGNAL_PILEUP = 0, 1, 2
EDGE_CATEGORIES = ("sig_sig", "pu_pu", "sig_pu")


def trackster_features(ticl: dict[str, np.ndarray]) -> np.ndarray:
    """The [T, 29] node features of a TICL event's tracksters (float32)."""
    n = len(ticl["trackster_raw_energy"])
    ptr = ticl["trackster_lc_ptr"]
    members = ticl["trackster_lc_index"].astype(np.int64)
    owner = np.repeat(np.arange(n), np.diff(ptr))
    num_lcs = np.diff(ptr).astype(np.float64)
    num_hits = np.bincount(owner, weights=ticl["lc_n_hits"][members], minlength=n)
    lc_z = ticl["lc_z"][members].astype(np.float64)
    z_min, z_max = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(z_min, owner, lc_z)
    np.maximum.at(z_max, owner, lc_z)
    empty = num_lcs == 0
    bary_z = ticl["trackster_barycenter_z"]
    z_min, z_max = np.where(empty, bary_z, z_min), np.where(empty, bary_z, z_max)
    probabilities = ticl["trackster_id_probabilities"].reshape(n, 6)
    columns = {name: ticl.get(f"trackster_{name}") for name in TRACKSTER_FEATURE_NAMES}
    columns |= {
        "num_LCs": num_lcs,
        "num_hits": num_hits,
        "z_min": z_min,
        "z_max": z_max,
        "LC_density": num_lcs / DENSITY_NORM,
        "trackster_density": np.full(n, n / DENSITY_NORM),
    }
    for k, name in enumerate(TRACKSTER_FEATURE_NAMES[18:24]):
        columns[name] = probabilities[:, k]
    return np.stack(
        [np.asarray(columns[name], dtype=np.float64) for name in TRACKSTER_FEATURE_NAMES], 1
    ).astype(np.float32)


def _tile(eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.floor((eta + np.pi) / TILE_ETA).astype(np.int64),
        np.floor((phi + np.pi) / (2 * np.pi) * TILE_PHI_BINS).astype(np.int64) % TILE_PHI_BINS,
    )


def candidate_edges(eta: np.ndarray, phi: np.ndarray, z: np.ndarray, *, delta: float = 0.1) -> np.ndarray:
    """Candidate links [2, E] (inner, outer) of one event's tracksters (barycentre η, φ, z), TICL's tiles."""
    n = len(eta)
    if n < 2:
        return np.zeros((2, 0), dtype=np.int64)
    eta, phi, z = (np.asarray(a, dtype=np.float64) for a in (eta, phi, z))
    eta_bin, phi_bin = _tile(eta, phi)
    # every pair whose tiles can overlap lies within delta + one tile in η and in φ: preselect on
    # (η, cos φ, sin φ), where a chord never exceeds its angle, then test the tiles exactly
    reach = delta + max(TILE_ETA, 2 * np.pi / TILE_PHI_BINS)
    pts = np.stack([eta, np.cos(phi), np.sin(phi)], 1)
    pairs = cKDTree(pts).query_pairs(np.sqrt(2.0) * reach, output_type="ndarray")
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([pairs[:, 1], pairs[:, 0]])
    lo_eta, hi_eta = _tile(eta - delta, phi)[0], _tile(eta + delta, phi)[0]
    lo_phi = _tile(eta, phi - delta)[1]
    span = (_tile(eta, phi + delta)[1] - lo_phi) % TILE_PHI_BINS
    in_eta = (eta_bin[j] >= lo_eta[i]) & (eta_bin[j] <= hi_eta[i])
    in_phi = (phi_bin[j] - lo_phi[i]) % TILE_PHI_BINS <= span[i]
    outer = (np.sign(z[i]) == np.sign(z[j])) & (np.abs(z[j]) > np.abs(z[i]))
    keep = in_eta & in_phi & outer
    edges = np.unique(np.stack([i[keep], j[keep]], 1), axis=0)
    return edges.T.astype(np.int64).reshape(2, -1)


def edge_features(x: Tensor, edge_index: Tensor) -> Tensor:
    """The [E, 7] features of LINK_FEATURE_NAMES of edges (inner i, outer j) from node features x [N, 29]."""
    i, j = edge_index
    bary = x[:, [F["barycenter_x"], F["barycenter_y"], F["barycenter_z"]]]
    axis = x[:, [F["eVector0_x"], F["eVector0_y"], F["eVector0_z"]]]
    axis = axis / axis.norm(dim=1, keepdim=True).clamp_min(1e-9)
    energy, time = x[:, F["raw_energy"]], x[:, F["time"]]
    d = bary[j] - bary[i]
    cos_axes = (axis[i] * axis[j]).sum(1).clamp(-1.0, 1.0)
    timed = (time[i] != NO_TIME) & (time[j] != NO_TIME)
    a = axis[i]
    az = torch.where(a[:, 2].abs() < 1e-6, torch.full_like(a[:, 2], 1e-6), a[:, 2])
    step = (d[:, 2] / az).clamp(-1e5, 1e5)
    miss = (d[:, :2] - step[:, None] * a[:, :2]).norm(dim=1).clamp(max=1e4)
    cos_point = ((d * a).sum(1) / d.norm(dim=1).clamp_min(1e-9)).clamp(-1.0, 1.0)
    columns = {
        "delta_raw_energy": (energy[i] - energy[j]).abs(),
        "delta_z": d[:, 2].abs(),
        "delta_xy": d[:, :2].norm(dim=1),
        "axis_angle": torch.arccos(cos_axes),
        "delta_time": torch.where(timed, (time[i] - time[j]).abs(), torch.full_like(time[i], -1.0)),
        "miss_distance": miss,
        "pointing_angle": torch.arccos(cos_point),
    }
    return torch.stack([columns[n] for n in LINK_FEATURE_NAMES], 1)


def edge_truth(particle: np.ndarray, pileup: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true [E] bool, category [E]) of edges from each trackster's associated particle (−1: none) and
    whether it is pileup."""
    i, j = edges
    true = (particle[i] >= 0) & (particle[i] == particle[j]) & (pileup[i] == pileup[j])
    category = np.where(
        pileup[i] != pileup[j], SIGNAL_PILEUP, np.where(pileup[i], PILEUP_PILEUP, SIGNAL_SIGNAL)
    )
    return true, category.astype(np.int64)
