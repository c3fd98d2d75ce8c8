"""CLUE3D: tracksters from the layer clusters of an HGCAL endcap (CMS TICL's pattern recognition,
``PatternRecognitionbyCLUE3D``), with its parameters' meaning and CMS defaults:

* positions are compared projectively: layer cluster j seen from layer cluster i sits at
  (x_j, y_j)·|z_i|/|z_j|, so a shower pointing at the vertex keeps its transverse distances;
* density ρ_i: its own energy plus ``kernel_density_factor`` (0.2) × the energy of every layer cluster on
  the other layers within ``sibling_layers`` (3) and within ``density_xy_distance`` (18 mm, i.e.
  densityXYDistanceSqr = 3.24 cm²) (densityOnSameLayer = false: the same layer adds nothing);
* nearest higher: the closest layer cluster of higher density on the other layers within
  ``sibling_layers`` (nearestHigherOnSameLayer = false), δ = (its transverse distance, layer distance);
* seeds: (δ_xy > ``critical_xy_distance`` (18 mm) or δ_layers > ``critical_z_distance_layers`` (5)) and
  ρ ≥ ``critical_density`` (0.6 GeV) and E/ρ > ``critical_self_density`` (0.15); outliers:
  δ_xy > ``outlier_multiplier`` (2) × critical_xy_distance and ρ < critical_density; the rest follow;
* tracksters with fewer than ``min_layer_clusters`` (2) layer clusters are dropped.

Endcaps are never mixed: ``side`` (the sign of z) separates them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from src.reco.clue import follow_peaks, nearest_higher


@dataclass(frozen=True)
class CLUE3DConfig:
    """Parameters of CLUE3D (CMS ``ticlTrackstersCLUE3DHigh`` defaults; distances in mm)."""

    sibling_layers: int = 3
    density_xy_distance: float = 18.0
    kernel_density_factor: float = 0.2
    critical_density: float = 0.6
    critical_self_density: float = 0.15
    critical_xy_distance: float = 18.0
    critical_z_distance_layers: int = 5
    outlier_multiplier: float = 2.0
    min_layer_clusters: int = 2


def _projective_pairs(
    pos: np.ndarray, layer: np.ndarray, *, radius: float, layers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i, j) on different layers of one endcap within ``layers`` layers and within ``radius`` (mm)
    of each other projected on i's layer, both directions; returns (i, j, transverse distance at z_i).
    ``pos`` [N, 3] are the positions (mm), ``layer`` the layers (the sign of z separates the endcaps)."""
    x, y, z = pos[:, 0], pos[:, 1], pos[:, 2]
    side = np.sign(z)
    absz = np.abs(z)
    u, v = x / absz, y / absz  # tan θ components: constant along a line from the origin
    scale = radius / absz.min()  # in (u, v), the largest radius any layer can need
    stacked = np.stack([u / scale, v / scale, (layer + 4096.0 * (side > 0)) / max(layers, 1)], axis=1)
    pairs = cKDTree(stacked).query_pairs(1.0 + 1e-9, p=np.inf, output_type="ndarray")
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([pairs[:, 1], pairs[:, 0]])
    dxy = absz[i] * np.hypot(u[i] - u[j], v[i] - v[j])
    ok = (dxy <= radius) & (layer[i] != layer[j]) & (np.abs(layer[i] - layer[j]) <= layers)
    return i[ok], j[ok], dxy[ok]


def clue3d(pos: np.ndarray, layer: np.ndarray, energy: np.ndarray, config: CLUE3DConfig) -> np.ndarray:
    """Trackster index of every layer cluster (−1: in none), numbered 0…T−1 by seed order.

    ``pos`` [N, 3] (mm) are the layer clusters' positions, ``layer`` their layer within the endcap
    (both endcaps count from 0; the sign of z tells them apart) and ``energy`` (GeV).
    """
    n = len(energy)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    c = config
    layer = np.asarray(layer, dtype=np.int64)
    energy = np.asarray(energy, dtype=np.float64)
    reach = max(c.density_xy_distance, c.outlier_multiplier * c.critical_xy_distance)
    pos = np.asarray(pos, dtype=np.float64)
    i, j, dxy = _projective_pairs(pos, layer, radius=reach, layers=c.sibling_layers)
    near = dxy <= c.density_xy_distance
    rho = energy + c.kernel_density_factor * np.bincount(i[near], weights=energy[j[near]], minlength=n)
    parent, delta = nearest_higher(i, j, dxy, rho, n)
    has = parent >= 0
    delta_layers = np.full(n, np.iinfo(np.int64).max)
    delta_layers[has] = np.abs(layer[has] - layer[parent[has]])
    far = (delta > c.critical_xy_distance) | (delta_layers > c.critical_z_distance_layers)
    seed = far & (rho >= c.critical_density) & (energy / rho > c.critical_self_density)
    outlier = (delta > c.outlier_multiplier * c.critical_xy_distance) & (rho < c.critical_density)
    label = follow_peaks(parent, seed, outlier)
    counts = np.bincount(label[label >= 0], minlength=int(seed.sum()))
    keep = counts >= c.min_layer_clusters
    new_id = np.where(keep, np.cumsum(keep) - 1, -1)
    return np.where(label >= 0, new_id[np.maximum(label, 0)], -1)
