"""Metrics of trackster linking (TICL): energy-weighted edge classification and supercluster energies.

Edges: each candidate link has a truth (same simulated particle), a decision and a weight, the larger raw
energy of its two tracksters (the study's ``calc_weights``). TP/FP/FN/TN are sums of weights, so a wrong
link between two 100 GeV tracksters counts a hundred times one between 1 GeV fragments; precision, recall
and F1 follow from them (NaN where undefined: no predicted or no true edge). Edges are split by the origin
of their ends: signal–signal, pileup–pileup and signal–pileup (the last are all false by construction:
their false-link rate FP / (FP + TN) is what matters there).

Superclusters: the connected components of the linked edges (every trackster is in one, alone if nothing
links it), optionally after :func:`single_parent`, which keeps for every trackster only its best link to a
more energetic one: with plain components one false link through a small fragment merges two whole
particles (the TICL GNN's energy-dependent cuts guard against the same). Each scored simulated particle p
(those some trackster is associated to: a particle that only adds a little energy to other particles'
tracksters has no supercluster of its own, and matching it would count their whole energy as its
contamination) is matched to the supercluster c* with which it shares most energy,
S(c, p) = Σ_{t∈c} S(t, p) (the trackster–particle shared energies). With E_p = Σ_t S(t, p) the particle's
energy in tracksters and E_c the raw energy of supercluster c:

* missed energy        E_p − S(c*, p)   (p's energy left in other superclusters),
* contaminating energy E_c* − S(c*, p)  (energy of c* that is not p's),

summed over signal particles and over pileup particles, and given as fractions of Σ E_p.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

#: Suffixes of the edge categories (index = category code).
CATEGORIES = ("sig_sig", "pu_pu", "sig_pu")
#: The sums of :func:`supercluster_energies` (GeV).
ENERGY_SUMS = tuple(
    f"{m}_{s}" for m in ("particle_energy", "missed_energy", "contaminating_energy") for s in ("sig", "pu")
)


def _div(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def weighted_confusion(pred: npt.ArrayLike, truth: npt.ArrayLike, weight: npt.ArrayLike) -> dict[str, float]:
    """Energy-weighted ``tp``, ``fp``, ``fn``, ``tn`` of boolean decisions against boolean truth."""
    p, t = np.asarray(pred, dtype=bool), np.asarray(truth, dtype=bool)
    w = np.asarray(weight, dtype=np.float64)
    if not p.shape == t.shape == w.shape:
        raise ValueError(f"pred, truth and weight differ in shape: {p.shape}, {t.shape}, {w.shape}")
    return {
        "tp": float(w[p & t].sum()),
        "fp": float(w[p & ~t].sum()),
        "fn": float(w[~p & t].sum()),
        "tn": float(w[~p & ~t].sum()),
    }


def rates(counts: Mapping[str, float]) -> dict[str, float]:
    """``precision``, ``recall``, ``f1`` and ``false_link_rate`` (FP / (FP + TN)) of weighted counts."""
    tp, fp, fn, tn = (counts[k] for k in ("tp", "fp", "fn", "tn"))
    precision, recall = _div(tp, tp + fp), _div(tp, tp + fn)
    f1 = _div(2 * tp, 2 * tp + fp + fn) if tp + fn > 0 else math.nan
    return {"precision": precision, "recall": recall, "f1": f1, "false_link_rate": _div(fp, fp + tn)}


def best_f1_threshold(
    scores: npt.ArrayLike, truth: npt.ArrayLike, weight: npt.ArrayLike
) -> tuple[float, float]:
    """The highest energy-weighted F1 over thresholds ``score >= t`` and the (highest) t reaching it;
    (NaN, NaN) without true edges or with NaN scores. Tied scores move together."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    t = np.asarray(truth, dtype=bool).ravel()
    w = np.asarray(weight, dtype=np.float64).ravel()
    positives = float(w[t].sum())
    if positives <= 0 or np.isnan(s).any():
        return math.nan, math.nan
    order = np.argsort(-s, kind="stable")
    s, t, w = s[order], t[order], w[order]
    tp, kept = np.cumsum(w * t), np.cumsum(w)
    last = np.append(np.flatnonzero(s[1:] != s[:-1]), len(s) - 1)
    f1 = 2 * tp[last] / (kept[last] + positives)
    k = int(np.argmax(f1))
    return float(f1[k]), float(s[last[k]])


def edge_metrics(
    decision: npt.ArrayLike, truth: npt.ArrayLike, weight: npt.ArrayLike, category: npt.ArrayLike
) -> dict[str, float]:
    """``edge_precision``, ``edge_recall``, ``edge_f1`` over all edges, the same with ``_sig_sig`` and
    ``_pu_pu`` suffixes, and ``edge_false_link_rate`` over all and per category (``_sig_pu`` too)."""
    d, t, w, c = (np.asarray(a) for a in (decision, truth, weight, category))
    out: dict[str, float] = {}
    scopes = {"": np.ones(len(c), dtype=bool)} | {f"_{n}": c == k for k, n in enumerate(CATEGORIES)}
    for suffix, sel in scopes.items():
        r = rates(weighted_confusion(d[sel], t[sel], w[sel]))
        if suffix != "_sig_pu":
            out |= {f"edge_{m}{suffix}": r[m] for m in ("precision", "recall", "f1")}
        out[f"edge_false_link_rate{suffix}"] = r["false_link_rate"]
    return out


def single_parent(
    edges: np.ndarray, linked: npt.ArrayLike, priority: npt.ArrayLike, energy: np.ndarray
) -> np.ndarray:
    """The linked edges that remain when every trackster keeps only one link to a trackster of higher
    raw energy, the one of highest ``priority`` (ties: the first edge): each edge belongs to its
    lower-energy end (ties in energy: the edge's inner end)."""
    i, j = np.asarray(edges)
    linked = np.asarray(linked, dtype=bool)
    priority = np.asarray(priority, dtype=np.float64)
    child = np.where(energy[i] <= energy[j], i, j)
    candidates = np.flatnonzero(linked)
    order = candidates[np.lexsort((candidates, -priority[candidates], child[candidates]))]
    first = np.ones(len(order), dtype=bool)
    first[1:] = child[order][1:] != child[order][:-1]
    keep = np.zeros(len(linked), dtype=bool)
    keep[order[first]] = True
    return keep


def superclusters(n_nodes: int, edges: np.ndarray, linked: npt.ArrayLike) -> np.ndarray:
    """Supercluster index [n_nodes] of every trackster: connected components of the ``linked`` edges."""
    e = np.asarray(edges)[:, np.asarray(linked, dtype=bool)]
    graph = coo_matrix((np.ones(e.shape[1]), (e[0], e[1])), shape=(n_nodes, n_nodes))
    return connected_components(graph, directed=False)[1]


def supercluster_energies(
    labels: np.ndarray,
    node_energy: np.ndarray,
    *,
    pair_node: np.ndarray,
    pair_sim: np.ndarray,
    pair_shared: np.ndarray,
    sim_pileup: np.ndarray,
    scored: np.ndarray | None = None,
) -> dict[str, float]:
    """Sums over one event's particles (GeV): ``particle_energy``, ``missed_energy`` and
    ``contaminating_energy``, each with ``_sig`` and ``_pu`` suffixes.

    ``labels`` [T] the supercluster of each trackster, ``node_energy`` [T] its raw energy; the association
    as pairs (trackster ``pair_node``, particle ``pair_sim``, shared energy ``pair_shared``);
    ``sim_pileup`` [P] whether each particle is pileup; ``scored`` [P] which particles count (default all).
    """
    n_c, n_p = int(labels.max()) + 1 if len(labels) else 0, len(sim_pileup)
    out = dict.fromkeys(ENERGY_SUMS, 0.0)
    if n_c == 0 or n_p == 0 or len(pair_node) == 0:
        return out
    shared = coo_matrix(
        (pair_shared.astype(np.float64), (labels[pair_node], pair_sim)), shape=(n_c, n_p)
    ).tocsc()
    e_p = np.asarray(shared.sum(axis=0)).ravel()
    best = np.asarray(shared.argmax(axis=0)).ravel()
    s_best = np.asarray(shared.max(axis=0).todense()).ravel()
    e_c = np.bincount(labels, weights=node_energy.astype(np.float64), minlength=n_c)
    has = (e_p > 0) & (np.ones(n_p, dtype=bool) if scored is None else np.asarray(scored, dtype=bool))
    for name, sel in (("sig", has & ~sim_pileup.astype(bool)), ("pu", has & sim_pileup.astype(bool))):
        out[f"particle_energy_{name}"] = float(e_p[sel].sum())
        out[f"missed_energy_{name}"] = float((e_p - s_best)[sel].sum())
        out[f"contaminating_energy_{name}"] = float((e_c[best] - s_best)[sel].sum())
    return out


def energy_fractions(sums: Mapping[str, float]) -> dict[str, float]:
    """Missed and contaminating energy as fractions of the particles' energy (from summed
    :func:`supercluster_energies`), and their sum ``missed_plus_contaminating_{sig,pu}``."""
    out: dict[str, float] = {}
    for s in ("sig", "pu"):
        total = sums[f"particle_energy_{s}"]
        missed = _div(sums[f"missed_energy_{s}"], total)
        contaminating = _div(sums[f"contaminating_energy_{s}"], total)
        out |= {
            f"missed_energy_{s}": missed,
            f"contaminating_energy_{s}": contaminating,
            f"missed_plus_contaminating_{s}": missed + contaminating,
        }
    return out
