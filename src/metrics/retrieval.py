"""Embedding quality as retrieval: AP@k of the HEPT-CMS study, event by event.

For an object i of a track with L objects in its event (L ≥ 2), take its L − 1 nearest other objects in
the embedding (Euclidean); precision at k is the fraction of the first k that belong to i's track, and

    AP@k(i) = (1 / (L − 1)) · Σ_{k = 1 … L − 1} precision@k(i),

the study's definition ("for each LS … check how many of its k = 1, 2, …, L − 1 nearest neighbours belong
to the same sim track, and average across k and across all LS"). The mean over objects (pooled over events)
is the reported AP@k. Also returned per object: ``r_precision`` = precision@(L − 1) alone, which is what the
study's code (``calc_AP_at_k``) computes; it is kept under its own name so the two are never confused.

L counts the track's objects among the *candidates* passed in (the objects of the event that neighbours
are searched among). Pass only sim-matched objects for the study's setting; pass every object (fakes
included, ``particle_id < 0``) to see how fakes crowd the neighbourhoods. Fakes are never queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from src.metrics.naming import with_threshold


class APAtK(NamedTuple):
    """Per query: ``index`` of the query object, its ``track_length`` L, ``ap`` and ``r_precision``."""

    index: np.ndarray
    track_length: np.ndarray
    ap: np.ndarray
    r_precision: np.ndarray


def _empty() -> APAtK:
    return APAtK(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))


def average_precision_at_k(
    embedding: npt.ArrayLike,
    particle_id: npt.ArrayLike,
    batch: npt.ArrayLike | None = None,
    *,
    query: npt.ArrayLike | None = None,
) -> APAtK:
    """AP@k of every query object (``particle_id >= 0``, L ≥ 2, and ``query`` where given).

    Args:
        embedding: [N, D] object embeddings.
        particle_id: [N] true track per object, ``< 0`` for an object of no track.
        batch: [N] event of each object (neighbours are searched within the event); ``None``: one event.
        query: optional [N] boolean mask restricting which objects are queries (e.g. a pT threshold).

    Ties in distance are broken by the k-d tree (stable for a given input); the object itself is never
    its own neighbour, even when another object has the same embedding.
    """
    emb = np.asarray(embedding, dtype=np.float64)
    n = len(emb)
    if emb.ndim != 2:
        raise ValueError(f"embedding must be [N, D], got shape {emb.shape}")
    pid = np.asarray(particle_id, dtype=np.int64).reshape(-1)
    if len(pid) != n:
        raise ValueError(f"particle_id has {len(pid)} entries, expected {n} (one per object)")
    ev = np.zeros(n, dtype=np.int64) if batch is None else np.asarray(batch, dtype=np.int64).reshape(-1)
    if len(ev) != n:
        raise ValueError(f"batch has {len(ev)} entries, expected {n} (one per object)")
    allowed = np.ones(n, bool) if query is None else np.asarray(query, dtype=bool).reshape(-1)
    if len(allowed) != n:
        raise ValueError(f"query has {len(allowed)} entries, expected {n} (one per object)")

    parts = []
    for e in np.unique(ev):
        idx = np.flatnonzero(ev == e)
        p = pid[idx]
        _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
        length = np.where(p >= 0, counts[inverse], 0)
        q = np.flatnonzero((p >= 0) & (length >= 2) & allowed[idx])
        if len(q) == 0:
            continue
        kmax = int(length[q].max()) - 1
        # one extra neighbour so that dropping the query itself still leaves kmax
        _, nbr = cKDTree(emb[idx]).query(emb[idx][q], k=kmax + 1)
        nbr = nbr.reshape(len(q), kmax + 1)
        not_self = nbr != q[:, None]
        # move the query's own slot (wherever ties put it) to the end, keep the order of the others
        order = np.argsort(~not_self, axis=1, kind="stable")
        nbr = np.take_along_axis(nbr, order, axis=1)[:, :kmax]
        hits = p[nbr] == p[q][:, None]
        precision = np.cumsum(hits, axis=1) / np.arange(1, kmax + 1)
        lq = length[q]
        in_range = np.arange(1, kmax + 1)[None, :] <= (lq - 1)[:, None]
        ap = (precision * in_range).sum(axis=1) / (lq - 1)
        r_prec = precision[np.arange(len(q)), lq - 2]
        parts.append(APAtK(idx[q], lq, ap, r_prec))
    if not parts:
        return _empty()
    return APAtK(*(np.concatenate(col) for col in zip(*parts, strict=True)))


def mean_at_thresholds(
    values: npt.ArrayLike, pt: npt.ArrayLike, thresholds: Iterable[float], *, prefix: str
) -> dict[str, float]:
    """``{prefix<t>: mean of values with pt >= t}`` (NaN where no value qualifies; NaN pT never does,
    except at a threshold <= 0 which takes every value)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    pt = np.asarray(pt, dtype=np.float64).reshape(-1)
    if len(pt) != len(values):
        raise ValueError(f"pt has {len(pt)} entries, expected {len(values)}")
    out = {}
    for t in thresholds:
        sel = np.ones(len(values), bool) if t <= 0 else pt >= t
        out[with_threshold(prefix, t)] = float(values[sel].mean()) if sel.any() else float("nan")
    return out
