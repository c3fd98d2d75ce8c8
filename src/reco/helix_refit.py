"""Helix refit of track candidates: fit a helix from the beam line to each candidate's hits, then give every
hit to the candidate whose helix passes closest to it.

A track from the beam line in a solenoid field is a circle through the origin in the transverse plane and a
straight line z = z0 + cot θ · s in the transverse arc length s from the origin. :func:`fit_helix` fits
both by linear least squares (the circle x² + y² = 2ax + 2by: centre (a, b), radius √(a² + b²)).
A track whose circle fits inside the tracker (2R below ``outer_radius``) turns back inside it and may go
round several times (a looper: pT < 0.3 GeV in 2 T): its arc length to a hit is R (α + 2πk), α the angle
swept around the centre and k the turn, and the fit finds the turns and the turning sense. Other tracks
leave the tracker within their first half turn.

:class:`HelixRefit` scores each hit against each candidate with at least ``min_hits`` hits: the
transverse distance to the circle over ``tol_r`` and the distance in z over ``tol_z``, added in quadrature;
a hit past the first half turn of a track that does not loop (on the far side of the circle, the other
turning sense) does not fit. A hit moves to the best-fitting candidate when that cost is below 1 and
otherwise keeps its label (an unclustered hit stays unclustered); when ``min_hits`` or more hits of one
candidate fit neither its helix nor another, they become a candidate of their own (two tracks in one
candidate: the fit follows the one with more hits, the other splits off and is fitted in the next round).
With ``merge_fraction``, two candidates whose hits fit each other's helix merge first (one track found
twice, such as the two halves of a looper). Each fit is repeated with the candidate's hits beyond
``fit_within`` tolerances removed one at a time, worst first, so that stray hits do not pull the helix.
``n_iter`` rounds of merging, fit and reassignment.

It works on any candidates: the clusters of a learned model and the tracks of a classical finder alike
(the track-regression test stage refits both, each with the settings that suit it best on validation
events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.reco.hough import transverse_arc


@dataclass(frozen=True)
class Helix:
    """A helix from the beam line: transverse circle centre (a, b) and radius, z = z0 + cot θ · s in the
    transverse arc length s, the turning sense (+1: anticlockwise seen from +z) and whether it loops (turns
    back inside the tracker, so that its hits past the first half turn and on later turns belong to it)."""

    a: float
    b: float
    radius: float
    z0: float
    cot_theta: float
    sense: int = 1
    loops: bool = False

    def arc_length(self, r: np.ndarray) -> np.ndarray:
        """Transverse arc length from the origin to radius ``r`` (mm) along the first half turn."""
        return transverse_arc(r, 0.5 / self.radius)

    def swept_angle(self, pos: np.ndarray) -> np.ndarray:
        """Angle in [0, 2π) swept around the centre, in the turning sense, from the origin to each hit's
        point of the circle (``pos`` [N, ≥2] mm)."""
        x, y = np.asarray(pos, dtype=np.float64)[:, :2].T
        return np.mod(self.sense * _turned(self.a, self.b, x, y), 2.0 * np.pi)

    def looped_arc(self, pos: np.ndarray) -> np.ndarray:
        """Transverse arc length R (α + 2πk) of each hit on a looping helix: α the swept angle, k ≥ 0 the
        turn whose z lies nearest the hit's."""
        z = np.asarray(pos, dtype=np.float64)[:, 2]
        return _looped_arc(self.swept_angle(pos), z, self.radius, self.z0, self.cot_theta)

    def residuals(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per hit [N, 3] (mm): transverse distance to the circle, distance in z, and whether the hit can
        lie on the track at all (a helix that does not loop: the first half turn, in its turning sense)."""
        x, y, z = np.asarray(pos, dtype=np.float64).T
        d_r = np.abs(np.hypot(x - self.a, y - self.b) - self.radius)
        if self.loops:
            d_z = np.abs(z - (self.z0 + self.cot_theta * self.looped_arc(pos)))
            return d_r, d_z, np.ones(len(z), dtype=bool)
        r = np.hypot(x, y)
        d_z = np.abs(z - (self.z0 + self.cot_theta * self.arc_length(r)))
        return d_r, d_z, (_side(self.a, self.b, x, y) == self.sense) & (r <= 2.0 * self.radius * 1.02)


def _turned(a: float, b: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Angle (radians, anticlockwise, not wrapped) of each point seen from the centre (a, b), less that of
    the origin."""
    return np.arctan2(y - b, x - a) - np.arctan2(-b, -a)


def _side(a: float, b: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which half of the circle of centre (a, b) through the origin each point lies on: +1 the half an
    anticlockwise track (sense +1) runs through first, −1 the other."""
    return -np.sign(a * y - b * x)


def _looped_arc(
    angle: np.ndarray, z: np.ndarray, radius: float, z0: np.ndarray | float, cot: np.ndarray | float
) -> np.ndarray:
    """R (α + 2πk) for swept angles α [..., N], with k ≥ 0 the turn of the helix (z0, cot θ) [...] nearest
    each z [N]."""
    z0, cot = np.asarray(z0, dtype=np.float64)[..., None], np.asarray(cot, dtype=np.float64)[..., None]
    arc = radius * angle
    pitch = 2.0 * np.pi * radius * cot  # z advance per turn
    loops = np.abs(pitch) > 1e-9
    turn = np.rint((z - z0 - cot * arc) / np.where(loops, pitch, 1.0))
    return arc + 2.0 * np.pi * radius * np.where(loops, np.maximum(turn, 0.0), 0.0)


def _line(s: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares (z0, cot θ) of z [N] = z0 + cot θ · s for each row of s [..., N] (cot θ = 0 where all
    s are equal)."""
    mean = s.mean(axis=-1)
    ds = s - mean[..., None]
    var = np.einsum("...n,...n->...", ds, ds)
    cot = np.where(var > 0, ds @ z / np.where(var > 0, var, 1.0), 0.0)
    return z.mean() - cot * mean, cot


def _turn_seeds(angle: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Guesses [3, N] of the swept angle (α plus whole turns) of the hits of a looping helix: all on the
    first turn, and the angle unwrapped along the hits in increasing and in decreasing z (a helix advances
    in z monotonically: between neighbours in z it turns by less than a turn when it crosses layers often)."""
    seeds = [angle]
    for order in (np.argsort(z, kind="stable"), np.argsort(-z, kind="stable")):
        step = np.mod(np.diff(angle[order]), 2.0 * np.pi)
        unwrapped = np.empty_like(angle)
        unwrapped[order] = angle[order[0]] + np.concatenate([[0.0], np.cumsum(step)])
        seeds.append(unwrapped)
    return np.stack(seeds)


def fit_helix(pos: np.ndarray, outer_radius: float | None = None) -> Helix:
    """Least-squares helix through the beam line (origin) of hits [N, 3] (mm), N ≥ 2.

    A helix whose circle fits inside ``outer_radius`` (mm; None: none does) loops: each hit's arc length
    counts the turns before it, and of the two turning senses (which fit the hits alike, one starting a
    whole turn away in z) the one starting nearer z = 0 is taken, unless its z residuals are clearly worse.
    Otherwise the turning sense is that of most hits."""
    pos = np.asarray(pos, dtype=np.float64)
    x, y, z = pos.T
    (a, b), *_ = np.linalg.lstsq(np.stack([2 * x, 2 * y], axis=1), x * x + y * y, rcond=None)
    radius = float(np.hypot(a, b))
    if outer_radius is None or 2.0 * radius >= outer_radius:
        z0, cot = _line(transverse_arc(np.hypot(x, y), 0.5 / radius), z)
        sense = int(np.sign(np.median(_side(a, b, x, y)))) or 1
        return Helix(float(a), float(b), radius, float(z0), float(cot), sense)
    turned = _turned(a, b, x, y)
    angle = np.mod(np.stack([turned, -turned]), 2.0 * np.pi)  # swept in sense +1 and in sense −1
    z0, cot = _line(radius * np.concatenate([_turn_seeds(row, z) for row in angle]), z)
    angle = np.repeat(angle, 3, axis=0)  # [6, N]: each sense's angles for each of its three seeds
    for _ in range(2):  # turns from the line, the line from the turns
        z0, cot = _line(_looped_arc(angle, z, radius, z0, cot), z)
    spread = np.median(
        np.abs(z - z0[:, None] - cot[:, None] * _looped_arc(angle, z, radius, z0, cot)), axis=1
    )
    good = np.flatnonzero(spread <= 2.0 * spread.min() + 1.0)
    k = good[np.argmin(np.abs(z0[good]))]  # of the good fits, the one starting nearest z = 0
    return Helix(float(a), float(b), radius, float(z0[k]), float(cot[k]), (1, -1)[k // 3], loops=True)


class HelixRefit:
    """Reassign hits between track candidates by helix fits (see the module docstring).

    Args:
        tol_r: transverse tolerance (mm): distance to the circle that costs 1.
        tol_z: longitudinal tolerance (mm): distance in z that costs 1.
        n_iter: rounds of fit and reassignment.
        min_hits: fewest hits of a candidate that is fitted.
        outer_radius: radius (mm) of the tracker's outermost layer: a helix whose circle fits inside it
            loops (its hits past the first half turn and on later turns fit it); None: no helix loops.
        fit_within: a candidate's helix is fitted without its hits beyond this many tolerances (dropped
            one at a time, worst first, while ``min_hits`` remain), so that stray hits do not pull it; it
            may be tighter than the tolerance that takes hits in (1).
        merge_fraction: two candidates merge at the start of a round when at least this fraction of the
            hits of each fits the other's helix (one track found twice: the two halves of a looper, say);
            None: candidates never merge.
    """

    def __init__(
        self,
        *,
        tol_r: float,
        tol_z: float,
        n_iter: int,
        outer_radius: float | None,
        fit_within: float,
        merge_fraction: float | None,
        min_hits: int = 3,
    ) -> None:
        if (
            tol_r <= 0
            or tol_z <= 0
            or n_iter < 1
            or min_hits < 3
            or (outer_radius is not None and outer_radius <= 0)
            or fit_within <= 0
            or (merge_fraction is not None and not 0 < merge_fraction <= 1)
        ):
            raise ValueError(
                f"HelixRefit needs tol_r, tol_z > 0, n_iter >= 1, min_hits >= 3 (a helix has 5 parameters), "
                f"outer_radius > 0 or None, fit_within > 0 and merge_fraction in (0, 1] or None, got "
                f"tol_r={tol_r}, tol_z={tol_z}, n_iter={n_iter}, min_hits={min_hits}, "
                f"outer_radius={outer_radius}, fit_within={fit_within}, merge_fraction={merge_fraction}"
            )
        self.tol_r, self.tol_z, self.n_iter, self.min_hits = tol_r, tol_z, n_iter, min_hits
        self.outer_radius, self.fit_within, self.merge_fraction = outer_radius, fit_within, merge_fraction

    def _fit(self, pos: np.ndarray) -> Helix:
        """The candidate's helix, refitted without its worst hit while that lies beyond ``fit_within``
        tolerances (and ``min_hits`` remain)."""
        keep = np.ones(len(pos), dtype=bool)
        while True:
            helix = fit_helix(pos[keep], self.outer_radius)
            d_r, d_z, _ = helix.residuals(pos[keep])
            cost = (d_r / self.tol_r) ** 2 + (d_z / self.tol_z) ** 2
            if cost.max() <= self.fit_within**2 or keep.sum() <= self.min_hits:
                return helix
            keep[np.flatnonzero(keep)[cost.argmax()]] = False

    def cost(
        self, labels: np.ndarray, pos: np.ndarray, cache: dict[bytes, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The fitted candidates' labels [C] and every hit's cost under each of them [N, C] (inf: does not
        fit). ``cache`` (for one ``pos``) keeps each candidate's column by its set of hits, so that a
        candidate unchanged since an earlier round is not fitted again."""
        ids, sizes = np.unique(labels[labels >= 0], return_counts=True)
        ids = ids[sizes >= self.min_hits]
        cache = {} if cache is None else cache
        cost = np.empty((len(pos), len(ids)))
        for k, c in enumerate(ids):
            member = labels == c
            key = np.packbits(member).tobytes()
            if key not in cache:
                d_r, d_z, fits = self._fit(pos[member]).residuals(pos)
                cache[key] = np.where(fits, (d_r / self.tol_r) ** 2 + (d_z / self.tol_z) ** 2, np.inf)
            cost[:, k] = cache[key]
        return ids, cost

    def merged(self, labels: np.ndarray, ids: np.ndarray, cost: np.ndarray) -> np.ndarray:
        """Labels with candidates merged pairwise, best pair first, where at least ``merge_fraction`` of
        the hits of each fit the other's helix (``ids``, ``cost`` as from :meth:`cost`)."""
        member = (labels[:, None] == ids[None, :]).astype(np.float64)  # [N, C]
        fits = (cost < 1.0).astype(np.float64)
        share = (member.T @ fits) / member.sum(axis=0)[:, None]  # [C, C]: of i's hits, the fraction fitting j
        mutual = np.triu(np.minimum(share, share.T), k=1)
        out, used = labels.copy(), set()
        for i, j in zip(*np.unravel_index(np.argsort(-mutual, axis=None), mutual.shape), strict=True):
            if mutual[i, j] < self.merge_fraction:
                break
            if i not in used and j not in used:
                out[labels == ids[j]] = ids[i]
                used.update((i, j))
        return out

    def __call__(self, labels: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """New label per hit (−1: none) from labels and hit positions [N, 3] (mm)."""
        labels = np.asarray(labels, dtype=np.int64).copy()
        pos = np.asarray(pos, dtype=np.float64)
        rows = np.arange(len(pos))
        cache: dict[bytes, np.ndarray] = {}
        for _ in range(self.n_iter):
            ids, cost = self.cost(labels, pos, cache)
            if not len(ids):
                break
            if self.merge_fraction is not None:
                merged = self.merged(labels, ids, cost)
                if not np.array_equal(merged, labels):
                    labels = merged
                    ids, cost = self.cost(labels, pos, cache)
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
