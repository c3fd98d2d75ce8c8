"""Refinements of topological clusters, vectorised over an event's hits: splitting clusters at local energy
maxima (close-by showers that the neighbour bridges merged) and merging small fragments into the nearest
more energetic cluster (the sparse tails of a shower that did not connect to it, its ECAL and HCAL parts).

* **Local maxima.** A hit's local energy ρ is its energy plus that of its neighbours in its cluster. A hit
  that may peak (``can_peak``) is a maximum candidate when ρ ≥ ``peak_energy`` and ρ exceeds ρ of every
  neighbour in its cluster; a candidate is dropped when a candidate of the same cluster with a higher ρ
  lies within ``peak_separation`` cell sizes of it, in angle seen from the origin (so the maxima of one
  shower in successive layers count once). A cluster with two or more maxima is split: the maxima grow
  through the neighbour pairs, one ring of neighbours per step, each hit joining the piece of its most
  energetic neighbour already in a piece.
* **Fragments.** A cluster below ``fragment_energy`` joins the more energetic cluster whose nearest hit, in
  angle from the origin, lies closest to one of its hits, if within ``merge_cone`` (rad); chains of such
  merges end at their most energetic cluster, and fragments with no such neighbour stay as they are.

Both functions take and return each hit's cluster (−1: none) and the number of clusters, with clusters
numbered 0..n−1 (in no particular order).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def _directions(xyz: np.ndarray) -> np.ndarray:
    """Unit vectors from the origin to the points [n, 3]."""
    return xyz / np.linalg.norm(xyz, axis=1, keepdims=True).clip(1e-9)


def _chord(angle: np.ndarray | float) -> np.ndarray | float:
    """Distance between two unit vectors at ``angle`` (rad)."""
    return 2.0 * np.sin(np.minimum(np.asarray(angle), np.pi) / 2.0)


def _first_per(keys: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Indices into ``keys``: for each distinct key, the row of the highest ``priority``."""
    order = np.lexsort((-priority, keys))
    return order[np.unique(keys[order], return_index=True)[1]]


def _relabel(hit_cluster: np.ndarray) -> tuple[np.ndarray, int]:
    """Clusters renumbered 0..n−1 in order of their current labels (−1 stays)."""
    member = hit_cluster >= 0
    ids, inverse = np.unique(hit_cluster[member], return_inverse=True)
    out = np.full(len(hit_cluster), -1, dtype=np.int64)
    out[member] = inverse
    return out, len(ids)


def local_maxima(
    hit_cluster: np.ndarray,
    pairs: np.ndarray,
    energy: np.ndarray,
    xyz: np.ndarray,
    *,
    cell: np.ndarray,
    can_peak: np.ndarray,
    peak_energy: float,
    peak_separation: float,
) -> np.ndarray:
    """Indices of the hits that are local maxima of their clusters (see the module docstring)."""
    i, j = pairs[:, 0], pairs[:, 1]
    same = (hit_cluster[i] >= 0) & (hit_cluster[i] == hit_cluster[j])
    i, j = i[same], j[same]
    weight = np.clip(energy, 0.0, None)
    rho = weight * (hit_cluster >= 0)
    rho = rho + np.bincount(i, weights=weight[j], minlength=len(rho))
    rho += np.bincount(j, weights=weight[i], minlength=len(rho))
    # ties broken by index, so that exactly one of two equal neighbours is higher
    rank = np.empty(len(rho), dtype=np.int64)
    rank[np.lexsort((np.arange(len(rho)), rho))] = np.arange(len(rho))
    beaten = np.zeros(len(rho), dtype=bool)
    beaten[i[rank[j] > rank[i]]] = True
    beaten[j[rank[i] > rank[j]]] = True
    candidate = np.flatnonzero((hit_cluster >= 0) & can_peak & (rho >= peak_energy) & ~beaten)
    if len(candidate) < 2:
        return candidate
    direction = _directions(xyz[candidate])
    reach = peak_separation * cell[candidate] / np.linalg.norm(xyz[candidate], axis=1).clip(1e-9)
    found = cKDTree(direction).query_pairs(float(_chord(reach.max())), output_type="ndarray")
    a, b = found[:, 0], found[:, 1]
    close = hit_cluster[candidate[a]] == hit_cluster[candidate[b]]
    dist = np.linalg.norm(direction[a] - direction[b], axis=1)
    lower = np.where(rank[candidate[a]] < rank[candidate[b]], a, b)
    dropped = np.zeros(len(candidate), dtype=bool)
    dropped[lower[close & (dist <= _chord(reach[lower]))]] = True
    return candidate[~dropped]


def split_at_maxima(
    hit_cluster: np.ndarray,
    n_clusters: int,
    pairs: np.ndarray,
    energy: np.ndarray,
    xyz: np.ndarray,
    *,
    cell: np.ndarray,
    can_peak: np.ndarray,
    peak_energy: float,
    peak_separation: float,
) -> tuple[np.ndarray, int]:
    """Clusters with two or more local maxima split into one piece per maximum."""
    maxima = local_maxima(
        hit_cluster,
        pairs,
        energy,
        xyz,
        cell=cell,
        can_peak=can_peak,
        peak_energy=peak_energy,
        peak_separation=peak_separation,
    )
    per_cluster = np.bincount(hit_cluster[maxima], minlength=n_clusters)
    split = per_cluster >= 2
    if not split.any():
        return hit_cluster, n_clusters
    maxima = maxima[split[hit_cluster[maxima]]]
    piece = np.full(len(hit_cluster), -1, dtype=np.int64)
    piece[maxima] = n_clusters + np.arange(len(maxima))
    i, j = pairs[:, 0], pairs[:, 1]
    inside = (hit_cluster[i] >= 0) & (hit_cluster[i] == hit_cluster[j]) & split[hit_cluster[i].clip(0)]
    a = np.concatenate([i[inside], j[inside]])
    b = np.concatenate([j[inside], i[inside]])
    weight = np.clip(energy, 0.0, None)
    while True:
        grow = (piece[a] >= 0) & (piece[b] < 0)
        if not grow.any():
            break
        first = _first_per(b[grow], weight[a[grow]])
        piece[b[grow][first]] = piece[a[grow][first]]
    out = np.where(piece >= 0, piece, hit_cluster)
    return _relabel(out)


def _nearest_above(
    direction: np.ndarray, c: np.ndarray, rank: np.ndarray, queries: np.ndarray, reach: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each query hit: distance to and cluster of the nearest hit (``direction``, clusters ``c``) within
    ``reach`` of a cluster ranked above the query's own (inf and −1 if none). Neighbours are searched 8,
    32, 128, ... at a time, so a compact cluster's own hits do not hide the others."""
    n, tree = len(direction), cKDTree(direction)
    best_d, best_c = np.full(len(queries), np.inf), np.full(len(queries), -1, dtype=np.int64)
    todo, k = np.arange(len(queries)), 8
    while len(todo):
        k = min(k, n)
        dist, near = tree.query(direction[queries[todo]], k=k, distance_upper_bound=reach)
        dist, near = dist.reshape(len(todo), k), near.reshape(len(todo), k)
        found = np.isfinite(dist)
        other = np.where(found, c[near.clip(max=n - 1)], -1)
        above = found & (rank[other.clip(0)] > rank[c[queries[todo]]][:, None])
        dist = np.where(above, dist, np.inf)
        col = dist.argmin(axis=1)
        got = np.isfinite(dist[np.arange(len(todo)), col])
        best_d[todo[got]] = dist[got, col[got]]
        best_c[todo[got]] = other[got, col[got]]
        todo = todo[~got & found[:, -1] & (k < n)]  # all k within reach: more may lie beyond
        k *= 4
    return best_d, best_c


def merge_fragments(
    hit_cluster: np.ndarray,
    n_clusters: int,
    energy: np.ndarray,
    xyz: np.ndarray,
    *,
    fragment_energy: float,
    merge_cone: float,
) -> tuple[np.ndarray, int]:
    """Clusters below ``fragment_energy`` merged into the nearest more energetic cluster within
    ``merge_cone`` (see the module docstring)."""
    member = np.flatnonzero(hit_cluster >= 0)
    c = hit_cluster[member]
    c_energy = np.bincount(c, weights=energy[member], minlength=n_clusters)
    small = c_energy < fragment_energy
    if not small.any() or n_clusters < 2:
        return hit_cluster, n_clusters
    rank = np.empty(n_clusters, dtype=np.int64)  # a strict order: by energy, ties by label
    rank[np.lexsort((np.arange(n_clusters), c_energy))] = np.arange(n_clusters)
    queries = np.flatnonzero(small[c])
    dist, other = _nearest_above(_directions(xyz[member]), c, rank, queries, float(_chord(merge_cone)))
    got = np.isfinite(dist)
    fragment, other, dist = c[queries][got], other[got], dist[got]
    first = _first_per(fragment, -dist)  # each fragment's hit closest to a more energetic cluster
    target = np.arange(n_clusters)
    target[fragment[first]] = other[first]
    for _ in range(n_clusters):  # ranks rise along a chain of merges, so it ends
        following = target[target]
        if (following == target).all():
            break
        target = following
    out = np.where(hit_cluster >= 0, target[hit_cluster.clip(0)], -1)
    return _relabel(out)
