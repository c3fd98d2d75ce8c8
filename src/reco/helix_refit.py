"""Helix refit of track candidates: fit a helix from the beam line to each candidate's hits, then give every
hit to the candidate whose helix passes closest to it.

A track from the beam line in a solenoid field is a circle through the origin in the transverse plane and a
straight line z = z0 + cot θ · s in the transverse arc length s from the origin. :func:`fit_helix` fits
both by linear least squares (the circle x² + y² = 2ax + 2by: centre (a, b), radius √(a² + b²)).
:class:`HelixRefit` then scores each hit against each candidate with at least ``min_hits`` hits: the
transverse distance to the circle over ``tol_r`` and the distance in z over ``tol_z``, added in quadrature;
a hit on the far side of the circle (the other turning sense) or beyond its reach (r > 2R) does not fit. A
hit moves to the best-fitting candidate when that cost is below 1 and otherwise keeps its label (an
unclustered hit stays unclustered); when ``min_hits`` or more hits of one candidate fit neither its helix
nor another, they become a candidate of their own (two tracks in one candidate: the fit follows the one
with more hits, the other splits off and is fitted in the next round). Each fit is repeated with the
candidate's hits beyond 3 tolerances removed one at a time, worst first, so that stray hits do not pull
the helix. ``n_iter`` rounds of fit and reassignment.

It works on any candidates: the clusters of a learned model and the tracks of a classical finder alike
(the track-regression test stage refits both, each with the tolerances that suit it best on validation
events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.reco.hough import transverse_arc


@dataclass(frozen=True)
class Helix:
    """A helix from the beam line: transverse circle centre (a, b) and radius, and z = z0 + cot θ · s."""

    a: float
    b: float
    radius: float
    z0: float
    cot_theta: float

    def arc_length(self, r: np.ndarray) -> np.ndarray:
        """Transverse arc length from the origin to radius ``r`` (mm) along the circle."""
        return transverse_arc(r, 0.5 / self.radius)

    def residuals(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per hit [N, 3] (mm): transverse distance to the circle, distance in z, turning side (±1: which
        side of the line from the origin to the centre) and whether the circle reaches its radius."""
        x, y, z = np.asarray(pos, dtype=np.float64).T
        r = np.hypot(x, y)
        d_r = np.abs(np.hypot(x - self.a, y - self.b) - self.radius)
        d_z = np.abs(z - (self.z0 + self.cot_theta * self.arc_length(r)))
        side = np.sign(self.a * y - self.b * x)
        return d_r, d_z, side, r <= 2.0 * self.radius * 1.02


def fit_helix(pos: np.ndarray) -> Helix:
    """Least-squares helix through the beam line (origin) of hits [N, 3] (mm), N ≥ 2."""
    x, y, z = np.asarray(pos, dtype=np.float64).T
    (a, b), *_ = np.linalg.lstsq(np.stack([2 * x, 2 * y], axis=1), x * x + y * y, rcond=None)
    circle = Helix(float(a), float(b), float(np.hypot(a, b)), 0.0, 0.0)
    s = circle.arc_length(np.hypot(x, y))
    (z0, cot), *_ = np.linalg.lstsq(np.stack([np.ones_like(s), s], axis=1), z, rcond=None)
    return Helix(circle.a, circle.b, circle.radius, float(z0), float(cot))


class HelixRefit:
    """Reassign hits between track candidates by helix fits (see the module docstring).

    Args:
        tol_r: transverse tolerance (mm): distance to the circle that costs 1.
        tol_z: longitudinal tolerance (mm): distance in z that costs 1.
        n_iter: rounds of fit and reassignment.
        min_hits: fewest hits of a candidate that is fitted.
    """

    def __init__(self, *, tol_r: float, tol_z: float, n_iter: int, min_hits: int = 3) -> None:
        if tol_r <= 0 or tol_z <= 0 or n_iter < 1 or min_hits < 3:
            raise ValueError(
                f"HelixRefit needs tol_r, tol_z > 0, n_iter >= 1 and min_hits >= 3 (a helix has 5 "
                f"parameters), got tol_r={tol_r}, tol_z={tol_z}, n_iter={n_iter}, min_hits={min_hits}"
            )
        self.tol_r, self.tol_z, self.n_iter, self.min_hits = tol_r, tol_z, n_iter, min_hits

    def _fit(self, pos: np.ndarray) -> tuple[Helix, float]:
        """The candidate's helix, refitted without its worst hit while that lies beyond 3 tolerances (and
        ``min_hits`` remain), and its turning side."""
        keep = np.ones(len(pos), dtype=bool)
        while True:
            helix = fit_helix(pos[keep])
            d_r, d_z, _, _ = helix.residuals(pos[keep])
            cost = (d_r / self.tol_r) ** 2 + (d_z / self.tol_z) ** 2
            if cost.max() <= 9.0 or keep.sum() <= self.min_hits:
                break
            keep[np.flatnonzero(keep)[cost.argmax()]] = False
        return helix, float(np.sign(np.median(helix.residuals(pos[keep])[2])))

    def cost(self, labels: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The fitted candidates' labels [C] and every hit's cost under each of them [N, C] (inf: does not
        fit)."""
        ids, sizes = np.unique(labels[labels >= 0], return_counts=True)
        ids = ids[sizes >= self.min_hits]
        cost = np.full((len(pos), len(ids)), np.inf)
        for k, c in enumerate(ids):
            helix, side = self._fit(pos[labels == c])
            d_r, d_z, hit_side, reach = helix.residuals(pos)
            fits = reach & (hit_side == side)
            cost[fits, k] = (d_r[fits] / self.tol_r) ** 2 + (d_z[fits] / self.tol_z) ** 2
        return ids, cost

    def __call__(self, labels: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """New label per hit (−1: none) from labels and hit positions [N, 3] (mm)."""
        labels = np.asarray(labels, dtype=np.int64).copy()
        pos = np.asarray(pos, dtype=np.float64)
        rows = np.arange(len(pos))
        for _ in range(self.n_iter):
            ids, cost = self.cost(labels, pos)
            if not len(ids):
                break
            best = cost.argmin(axis=1)
            fits = cost[rows, best] < 1.0
            fitted = np.isin(labels, ids)
            own = np.full(len(pos), np.inf)
            own[fitted] = cost[rows[fitted], np.searchsorted(ids, labels[fitted])]
            # the hits of a candidate that fit neither its helix nor another: their own candidate if enough
            rest = fitted & ~fits & (own >= 1.0)
            new = np.where(fits, ids[best], labels)
            next_label = labels.max(initial=-1) + 1
            for c in np.unique(labels[rest]):
                part = rest & (labels == c)
                if part.sum() >= self.min_hits:
                    new[part] = next_label
                    next_label += 1
            labels = new
        return labels
