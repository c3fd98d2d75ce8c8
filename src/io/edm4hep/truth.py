"""Truth bookkeeping of calorimeter events, pure numpy: the generator-level ancestor of each particle, the
per-hit contributions merged into CSR form, the particle behind each hit and each cluster, and the
energy-weighted spread of clusters."""

from __future__ import annotations

import numpy as np


def generator_ancestor(status: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Row of each particle's nearest ancestor-or-self with generator status 1 (final state of the
    generator), following ``parent`` (−1 = none); −1 where the chain ends without one."""
    n = len(status)
    out = np.where(status == 1, np.arange(n), -1).astype(np.int32)
    current = np.arange(n)
    todo = np.flatnonzero(out < 0)
    for _ in range(n):  # each pass climbs one generation; a chain is at most n long
        if not len(todo):
            break
        current[todo] = parent[current[todo]]
        alive = current[todo] >= 0
        todo = todo[alive]
        found = status[current[todo]] == 1
        out[todo[found]] = current[todo[found]]
        todo = todo[~found]
    return out


def merge_contributions(
    hit: np.ndarray, particle: np.ndarray, energy: np.ndarray, n_hits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR truth (``ptr`` [n_hits + 1], ``particle``, ``energy``) from raw contributions: those without a
    particle (< 0) are dropped, those of one particle in one hit summed; within a hit, particles keep the
    order of their first contribution."""
    keep = particle >= 0
    hit, particle, energy = hit[keep].astype(np.int64), particle[keep].astype(np.int64), energy[keep]
    if not len(hit):
        return np.zeros(n_hits + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
    key = hit * (int(particle.max()) + 1) + particle
    unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    summed = np.zeros(len(unique), np.float64)
    np.add.at(summed, inverse.reshape(-1), energy.astype(np.float64))
    order = np.lexsort((first, hit[first]))
    rows = hit[first][order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_hits))]).astype(np.int64)
    return ptr, particle[first][order].astype(np.int32), summed[order].astype(np.float32)


def segment_argmax(ptr: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index (into ``values``) of the largest value of each CSR segment (the first on ties), −1 for an
    empty segment."""
    n = len(ptr) - 1
    out = np.full(n, -1, dtype=np.int64)
    if not len(values):
        return out
    counts = np.diff(ptr)
    segment = np.repeat(np.arange(n), counts)
    best = np.full(n, -np.inf)
    np.maximum.at(best, segment, values)
    at_max = np.flatnonzero(values == best[segment])
    seg, first = np.unique(segment[at_max], return_index=True)
    out[seg] = at_max[first]
    return out


def hit_particles(ptr: np.ndarray, particle: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """The particle that left most energy in each hit, −1 for a hit without contributions."""
    best = segment_argmax(ptr, energy)
    return np.where(best >= 0, particle[np.maximum(best, 0)] if len(particle) else -1, -1).astype(np.int32)


def cluster_particles(
    hit_cluster: np.ndarray, ptr: np.ndarray, particle: np.ndarray, energy: np.ndarray, n_clusters: int
) -> np.ndarray:
    """The particle sharing most energy with each cluster (summed over its hits' contributions; the
    lowest row on ties), −1 where its hits carry no truth."""
    out = np.full(n_clusters, -1, dtype=np.int32)
    counts = np.diff(ptr)
    cluster = np.repeat(hit_cluster, counts)
    keep = cluster >= 0
    if not keep.any():
        return out
    n_particles = int(particle.max()) + 1
    shared = np.zeros((n_clusters, n_particles))
    np.add.at(shared, (cluster[keep], particle[keep]), energy[keep].astype(np.float64))
    has = shared.max(axis=1) > 0
    out[has] = shared[has].argmax(axis=1)
    return out


def cluster_spread(
    hit_cluster: np.ndarray, xyz: np.ndarray, energy: np.ndarray, n_clusters: int
) -> np.ndarray:
    """Energy-weighted standard deviation of the hit positions of each cluster [n_clusters, 3] (mm), NaN
    for a cluster with no hit (or no energy) among ``hit_cluster``."""
    keep = hit_cluster >= 0
    c, w, p = hit_cluster[keep], energy[keep].astype(np.float64), xyz[keep].astype(np.float64)

    def per_cluster(weights: np.ndarray) -> np.ndarray:
        return np.bincount(c, weights=weights, minlength=n_clusters).astype(np.float64)

    total = per_cluster(w)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.stack([per_cluster(w * p[:, k]) for k in range(3)], 1) / total[:, None]
        second = np.stack([per_cluster(w * (p[:, k] - mean[c, k]) ** 2) for k in range(3)], 1)
        spread = np.sqrt(second / total[:, None])
    spread[~(total > 0)] = np.nan
    return spread.astype(np.float32)
