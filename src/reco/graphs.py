"""Candidate pairs of objects for contrastive training: a radius graph with a cap on neighbours per object.

Built on ``scipy.spatial.cKDTree`` event by event, so no compiled PyG extra (torch-cluster) is needed.
Unlike ``torch_cluster.radius_graph``, which keeps the *first* ``max_num_neighbors`` found, the cap here
keeps the *nearest* ones, so the graph does not depend on the order of the objects.

Conventions: ``pos`` [N, D] coordinates, ``batch`` [N] event index of each object (``None``: one event),
``particle_id`` [N] the true track of each object with ``< 0`` for an object of no track (a fake LS).
Edges are ``int64`` arrays [2, E] of (source, target) object indices, never across events, no self-loops.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

__all__ = [
    "graph_saturation",
    "max_neighbours",
    "radius_pairs",
    "same_track_pairs",
    "symmetrize",
    "unique_pairs",
]


def _events(batch: npt.ArrayLike | None, n: int) -> list[np.ndarray]:
    """Object indices of each event, in order of event index."""
    if batch is None:
        return [np.arange(n)]
    batch = np.asarray(batch).reshape(-1)
    if len(batch) != n:
        raise ValueError(f"batch has {len(batch)} entries, expected {n} (one per object)")
    order = np.argsort(batch, kind="stable")
    bounds = np.flatnonzero(np.diff(batch[order])) + 1
    return np.split(order, bounds) if n else []


def max_neighbours(n: int, factor: float, *, minimum: int = 1) -> int:
    """Neighbour cap for an event of ``n`` objects: ``max(minimum, round(factor · √n))`` (study: 0.2·√N)."""
    if factor <= 0:
        raise ValueError(f"max_neighbours_factor must be > 0, got {factor}")
    return max(minimum, round(factor * math.sqrt(max(n, 0))))


def radius_pairs(
    pos: npt.ArrayLike,
    batch: npt.ArrayLike | None = None,
    *,
    radius: float,
    factor: float | None = None,
    k: int | None = None,
    minimum: int = 1,
) -> np.ndarray:
    """Directed radius graph: each object points to its nearest others within ``radius`` in its event.

    At most ``k`` neighbours per object, or, with ``factor``, ``max_neighbours(n_event, factor)`` for an
    event of ``n_event`` objects (give exactly one of the two). Returns [2, E] (source, target), sorted by
    source then distance.
    """
    if (k is None) == (factor is None):
        raise ValueError("radius_pairs: give exactly one of k (fixed cap) or factor (cap = factor·√N)")
    if radius <= 0:
        raise ValueError(f"radius must be > 0, got {radius}")
    pos = np.asarray(pos, dtype=np.float64)
    if pos.ndim != 2:
        raise ValueError(f"pos must be [N, D], got shape {pos.shape}")
    chunks = []
    for idx in _events(batch, len(pos)):
        n = len(idx)
        cap = min(n - 1, k if k is not None else max_neighbours(n, factor, minimum=minimum))
        if cap < 1:
            continue
        _, nbr = cKDTree(pos[idx]).query(pos[idx], k=cap + 1, distance_upper_bound=radius)
        src = np.repeat(np.arange(n), cap + 1).reshape(n, cap + 1)
        keep = (nbr < n) & (nbr != src)
        # a duplicate point may take the self slot: drop self wherever it is, keep at most `cap` others
        keep &= np.cumsum(keep, axis=1) <= cap
        chunks.append(np.stack([idx[src[keep]], idx[nbr[keep]]]))
    return np.concatenate(chunks, axis=1) if chunks else np.zeros((2, 0), dtype=np.int64)


def symmetrize(edges: np.ndarray) -> np.ndarray:
    """Both directions of every edge, each once (sorted by source, then target)."""
    return unique_pairs(np.concatenate([edges, edges[::-1]], axis=1))


def unique_pairs(edges: np.ndarray) -> np.ndarray:
    """Distinct (source, target) pairs, sorted by source then target."""
    if edges.size == 0:
        return np.zeros((2, 0), dtype=np.int64)
    return np.unique(np.asarray(edges, dtype=np.int64), axis=1)


def same_track_pairs(particle_id: npt.ArrayLike, batch: npt.ArrayLike | None = None) -> np.ndarray:
    """Every ordered pair (i, j), i ≠ j, of objects of the same track (``particle_id >= 0``) and event."""
    pid = np.asarray(particle_id, dtype=np.int64).reshape(-1)
    ev = np.zeros(len(pid), dtype=np.int64) if batch is None else np.asarray(batch, dtype=np.int64)
    true = np.flatnonzero(pid >= 0)
    order = true[np.lexsort((pid[true], ev[true]))]
    key = np.stack([ev[order], pid[order]], axis=1)
    if len(order) == 0:
        return np.zeros((2, 0), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, np.any(key[1:] != key[:-1], axis=1)])
    sizes = np.diff(np.r_[starts, len(order)])
    chunks = []
    for size in np.unique(sizes[sizes > 1]):
        groups = order[starts[sizes == size][:, None] + np.arange(size)]  # [G, size]
        a, b = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        off = a != b
        chunks.append(np.stack([groups[:, a[off]].ravel(), groups[:, b[off]].ravel()]))
    return unique_pairs(np.concatenate(chunks, axis=1)) if chunks else np.zeros((2, 0), dtype=np.int64)


def graph_saturation(
    edges: np.ndarray, particle_id: npt.ArrayLike, batch: npt.ArrayLike | None = None
) -> float:
    """Fraction of ordered same-track pairs (i, j), i ≠ j, that are edges of the graph; NaN if none exist."""
    pid = np.asarray(particle_id, dtype=np.int64).reshape(-1)
    ev = np.zeros(len(pid), dtype=np.int64) if batch is None else np.asarray(batch, dtype=np.int64)
    true = pid >= 0
    _, counts = np.unique(np.stack([ev[true], pid[true]]), axis=1, return_counts=True)
    total = int((counts * (counts - 1)).sum())
    if total == 0:
        return float("nan")
    edges = unique_pairs(edges)
    src, dst = edges
    hit = (pid[src] >= 0) & (pid[src] == pid[dst]) & (ev[src] == ev[dst]) & (src != dst)
    return float(hit.sum()) / total
