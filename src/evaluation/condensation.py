"""Object-condensation inference: clusters from per-token condensation scores β and clustering coordinates,
then each cluster's type, charge, energy and direction from the per-token predictions.

:func:`condense` (after Kieseler 2020, arXiv:2002.03605): tokens with β above ``beta_threshold`` are candidate
condensation points, taken in decreasing β; a candidate becomes a seed unless it lies within
``distance_threshold`` of an earlier seed; every token joins its nearest seed if that lies within
``join_distance`` (≥ ``distance_threshold``: the outskirts of a shower, which the potential pulls in only
weakly, still reach their seed), and tokens near no seed stay unclustered (−1). The number of clusters is
the number of seeds: nothing bounds it.

:func:`cluster_kinematics` reads the clusters' properties either at the condensation point (the seed:
``"condensation_point"``) or as energy-weighted averages of the member hits' predictions
(``"energy_weighted"``); a cluster's energy is its summed hit energy times the predicted calibration factor
(exp of the predicted log energy factor), so with energy weighting it is Σ E_i·f_i over its hits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINEMATICS = ("condensation_point", "energy_weighted")


def condense(
    beta: np.ndarray,
    coords: np.ndarray,
    *,
    beta_threshold: float,
    distance_threshold: float | np.ndarray,
    join_distance: float,
    chunk: int = 4096,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster label per token (−1: none) and the seed token of each cluster (labels are seed ranks);
    ``distance_threshold`` per token is the radius within which a seed suppresses that candidate."""
    beta = np.asarray(beta, dtype=np.float64)
    radius = np.broadcast_to(np.asarray(distance_threshold, dtype=np.float64), beta.shape)
    if len(radius) and join_distance < radius.max():
        raise ValueError(
            f"task.evaluation.join_distance ({join_distance}) must be at least every seed radius (up to "
            f"{radius.max()}): a seed's own suppressed candidates must reach it"
        )
    coords = np.asarray(coords, dtype=np.float64).reshape(len(beta), -1)
    candidates = np.flatnonzero(beta > beta_threshold)
    candidates = candidates[np.argsort(-beta[candidates], kind="stable")]
    r2 = radius[candidates] ** 2
    # greedy suppression: the best remaining candidate is a seed and suppresses the candidates near it
    seeds = []
    free = np.ones(len(candidates), dtype=bool)
    points = coords[candidates]
    while free.any():
        c = int(np.argmax(free))
        seeds.append(candidates[c])
        free &= ((points - points[c]) ** 2).sum(1) >= r2
    seeds = np.asarray(seeds, dtype=np.int64)
    labels = np.full(len(beta), -1, dtype=np.int64)
    if not len(seeds):
        return labels, seeds
    seed_points = coords[seeds]
    for lo in range(0, len(beta), chunk):  # every token joins its nearest seed within the join radius
        d2 = ((coords[lo : lo + chunk, None, :] - seed_points[None]) ** 2).sum(-1)
        nearest = d2.argmin(axis=1)
        within = d2[np.arange(len(d2)), nearest] < join_distance**2
        labels[lo : lo + chunk] = np.where(within, nearest, -1)
    labels[seeds] = np.arange(len(seeds))
    return labels, seeds


@dataclass(frozen=True)
class ClusterKinematics:
    """Per cluster: summed hit energy, predicted energy (GeV), type class, charge (−1, 0, +1), unit
    direction [C, 3] and number of hits."""

    hit_energy: np.ndarray
    energy: np.ndarray
    type_id: np.ndarray
    charge: np.ndarray
    direction: np.ndarray
    n_hits: np.ndarray


def cluster_kinematics(
    labels: np.ndarray,
    seeds: np.ndarray,
    *,
    is_hit: np.ndarray,
    hit_energy: np.ndarray,
    type_prob: np.ndarray,
    charge_prob: np.ndarray,
    log_energy_factor: np.ndarray,
    direction: np.ndarray,
    mode: str,
) -> ClusterKinematics:
    """Properties of clusters ``0..len(seeds)-1`` given every token's label and predictions (``is_hit``
    marks the hit tokens, whose energies ``hit_energy`` are in token order); energies and energy weights
    come from the hits only, the condensation point may be any token (a track too)."""
    if mode not in KINEMATICS:
        raise ValueError(f"task.evaluation.kinematics must be one of {KINEMATICS}, got {mode!r}")
    n = len(seeds)
    labels = np.asarray(labels)[is_hit]
    member = labels >= 0
    c = labels[member]
    e = np.asarray(hit_energy, dtype=np.float64)[member]
    w = np.clip(e, 0.0, None)
    summed = np.bincount(c, weights=e, minlength=n)
    norm = np.bincount(c, weights=w, minlength=n)
    norm = np.where(norm > 0, norm, 1.0)[:, None]

    def weighted(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64).reshape(len(is_hit), -1)[is_hit][member]
        return np.stack([np.bincount(c, weights=w * v, minlength=n) for v in values.T], axis=1) / norm

    if mode == "condensation_point":
        types, charges, dirs = type_prob[seeds], charge_prob[seeds], np.asarray(direction, float)[seeds]
        energy = summed * np.exp(np.asarray(log_energy_factor, dtype=np.float64)[seeds])
    else:
        types, charges, dirs = weighted(type_prob), weighted(charge_prob), weighted(direction)
        factor = np.exp(np.asarray(log_energy_factor, dtype=np.float64).reshape(-1)[is_hit][member])
        energy = np.bincount(c, weights=e * factor, minlength=n)
    dirs = dirs / np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), 1e-12)
    return ClusterKinematics(
        hit_energy=summed,
        energy=energy,
        type_id=np.asarray(types).argmax(axis=1) if n else np.zeros(0, dtype=np.int64),
        charge=np.asarray(charges).argmax(axis=1) - 1 if n else np.zeros(0, dtype=np.int64),
        direction=dirs,
        n_hits=np.bincount(c, minlength=n),
    )
