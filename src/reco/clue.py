"""CLUE: density-peak clustering of the cells of each HGCAL layer into layer clusters (CMS, arXiv:2001.09761).

Every hit gets a local density ρ (its own energy plus half the energy of each hit of its layer within the
critical distance d_c), then δ, the distance to its nearest hit of higher density (searched up to
``outlier_factor`` × d_c). Hits with ρ ≥ ρ_c and δ > d_c are seeds, hits with ρ < ρ_c and
δ > ``outlier_factor`` × d_c are outliers, every other hit follows its nearest higher; a cluster is a seed
with everything that follows it. ρ_c = ``kappa`` × the hit's noise σ (CMS: κ = 9).

The same density-peak step (:func:`follow_peaks`) turns the nearest-higher pointers of CLUE3D into
tracksters (:mod:`src.reco.clue3d`). Everything is vectorised per event: one KD-tree over all layers, kept
apart by an offset along a third axis, and pointer jumping instead of CLUE's per-seed stacks.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

#: Separation (in KD-tree units) between the layers of an event stacked into one tree.
_LAYER_GAP = 1.0e7


def follow_peaks(parent: np.ndarray, seed: np.ndarray, outlier: np.ndarray) -> np.ndarray:
    """Cluster index of every point from its nearest-higher pointer ``parent`` (−1: none).

    Seeds start clusters 0…S−1 in index order; outliers and points without a nearest higher start none;
    every other point takes the cluster of the end of its chain of nearest highers (−1 if that end is not
    a seed, as in CLUE, where only seeds pass their index down).
    """
    n = len(parent)
    root = np.where(seed | outlier | (parent < 0), np.arange(n), parent).astype(np.int64)
    while True:  # pointer jumping: log2(longest chain) rounds
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    label = np.full(n, -1, dtype=np.int64)
    label[seed] = np.arange(int(seed.sum()))
    return label[root]


def nearest_higher(
    i: np.ndarray, j: np.ndarray, dist: np.ndarray, rho: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the nearest of its candidates of higher density, ties in density broken by index.

    Candidates are directed pairs: ``j[k]`` is a candidate of ``i[k]`` at distance ``dist[k]``. Returns
    (index of the nearest higher or −1, its distance or inf) per point.
    """
    higher = (rho[j] > rho[i]) | ((rho[j] == rho[i]) & (j > i))
    i, j, d = i[higher], j[higher], dist[higher]
    order = np.lexsort((j, d, i))
    i, j, d = i[order], j[order], d[order]
    first = np.ones(len(i), dtype=bool)
    first[1:] = i[1:] != i[:-1]
    parent = np.full(n, -1, dtype=np.int64)
    delta = np.full(n, np.inf)
    parent[i[first]] = j[first]
    delta[i[first]] = d[first]
    return parent, delta


def clue(
    x: np.ndarray,
    y: np.ndarray,
    layer_key: np.ndarray,
    energy: np.ndarray,
    *,
    noise: np.ndarray,
    dc: np.ndarray,
    kappa: float,
    outlier_factor: float,
) -> np.ndarray:
    """Layer cluster of every hit (−1: outlier), clustering only hits of equal ``layer_key``.

    ``x``, ``y`` positions (mm), ``energy`` (GeV), ``noise`` the noise σ of each hit's cell (GeV) and
    ``dc`` its critical distance (mm; per hit, so silicon and scintillator layers can differ). Clusters
    are numbered by seed, in hit order.
    """
    n = len(energy)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    _, key = np.unique(layer_key, return_inverse=True)
    pos = np.stack([x, y, key * _LAYER_GAP], axis=1).astype(np.float64)
    reach = float(np.max(dc)) * max(1.0, outlier_factor)
    pairs = cKDTree(pos).query_pairs(reach, output_type="ndarray")
    dist = np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)
    energy = np.asarray(energy, dtype=np.float64)
    # density: own energy + half of every neighbour within the critical distance of the receiving hit
    rho = energy.copy()
    for a, b in ((0, 1), (1, 0)):
        near = dist < dc[pairs[:, a]]
        rho += 0.5 * np.bincount(pairs[near, a], weights=energy[pairs[near, b]], minlength=n)
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([pairs[:, 1], pairs[:, 0]])
    d = np.concatenate([dist, dist])
    keep = d < outlier_factor * dc[i]  # the nearest higher is searched up to outlier_factor x d_c
    parent, delta = nearest_higher(i[keep], j[keep], d[keep], rho, n)
    rho_c = kappa * np.asarray(noise, dtype=np.float64)
    seed = (rho >= rho_c) & (delta > dc)
    outlier = (rho < rho_c) & (delta > outlier_factor * dc)
    return follow_peaks(parent, seed, outlier)
