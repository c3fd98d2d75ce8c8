"""A classical track finder: a Hough transform in (φ0, q/pT), then a line fit in (s, z), greedily.

For a track from the beam line in a solenoid field B, a hit at radius r and azimuth φ lies on the circle
of initial azimuth φ0 = φ + asin(r · κ), with κ = 0.00015 · B · q/pT (mm⁻¹, B in tesla, pT in GeV). Every
hit votes for one φ0 bin at each κ of a grid over |q/pT| <= 1/``pt_min``. The finder repeatedly takes the
best (κ, φ0) cell (two neighbouring φ0 bins), then among its free hits the best straight line
z = z0 + cot θ · s in the transverse arc length s (a second Hough over a z0 grid and cot θ bins). A line
with at least ``min_hits`` hits becomes a track and its hits' votes are withdrawn; a cell that yields none
is discarded. Hits left over are unassigned (label −1).
"""

from __future__ import annotations

import numpy as np

#: κ per unit q/pT and tesla: 1 / (2R) with R[mm] = pT[GeV] / (0.0003 B[T]).
HALF_CURVATURE = 0.00015


def transverse_arc(r: np.ndarray, kappa: float) -> np.ndarray:
    """Transverse arc length asin(r κ) / κ (mm) from the beam line to radius ``r`` (mm) on a circle through
    the beam line of curvature κ = ±1/2R (per mm): ``r`` itself where κ is 0, |r κ| held at 1 at most."""
    r = np.asarray(r, dtype=np.float64)
    return r if kappa == 0 else np.arcsin(np.clip(r * kappa, -1.0, 1.0)) / kappa


class HoughTrackFinder:
    """Greedy Hough-transform track finding on hit positions (mm). The defaults are those tuned on the
    validation events of simulated 10-50-particle events of the TrackML-like tracker
    (``scripts/tune_hough.py``).

    Args:
        pt_min: lowest pT (GeV) of the curvature grid.
        n_curvature: bins of q/pT in [−1/pt_min, 1/pt_min].
        n_phi: bins of φ0 over 2π.
        z0_max: half width (mm) of the z0 grid of the (s, z) line search.
        n_z0: z0 grid points.
        cot_width: width of the cot θ bins of the line search.
        min_hits: fewest hits of a track.
    """

    def __init__(
        self,
        *,
        pt_min: float = 0.2,
        n_curvature: int = 96,
        n_phi: int = 240,
        z0_max: float = 150.0,
        n_z0: int = 61,
        cot_width: float = 0.08,
        min_hits: int = 4,
    ) -> None:
        if not pt_min > 0 or min(n_curvature, n_phi, n_z0, min_hits) < 1 or not cot_width > 0 or z0_max < 0:
            raise ValueError(
                "baseline: need pt_min, cot_width > 0, z0_max >= 0 and grid sizes, min_hits >= 1"
            )
        self.pt_min = pt_min
        self.n_curvature = n_curvature
        self.n_phi = n_phi
        self.z0_max = z0_max
        self.n_z0 = n_z0
        self.cot_width = cot_width
        self.min_hits = min_hits

    def __call__(self, pos: np.ndarray, b_field: float) -> np.ndarray:
        """Track label per hit (−1: unassigned) for hit positions ``pos`` [N, 3] in mm."""
        pos = np.asarray(pos, dtype=np.float64)
        n = len(pos)
        labels = np.full(n, -1, dtype=np.int64)
        if n < self.min_hits:
            return labels
        r, phi, z = np.hypot(pos[:, 0], pos[:, 1]), np.arctan2(pos[:, 1], pos[:, 0]), pos[:, 2]
        kappa = np.linspace(-1.0, 1.0, self.n_curvature) * HALF_CURVATURE * abs(b_field) / self.pt_min
        arg = r[:, None] * kappa[None]
        valid = np.abs(arg) < 1.0
        phi0 = phi[:, None] + np.arcsin(np.clip(arg, -1.0, 1.0))
        bins = (
            np.floor(np.mod(phi0 + np.pi, 2 * np.pi) / (2 * np.pi) * self.n_phi).astype(np.int64) % self.n_phi
        )
        acc = np.zeros((self.n_curvature, self.n_phi), dtype=np.int64)
        k_idx = np.broadcast_to(np.arange(self.n_curvature), bins.shape)
        np.add.at(acc, (k_idx[valid], bins[valid]), 1)
        dead = np.zeros_like(acc, dtype=bool)
        free = np.ones(n, dtype=bool)
        z0_grid = np.linspace(-self.z0_max, self.z0_max, self.n_z0)
        track = 0
        while True:
            pair = acc + np.roll(acc, -1, axis=1)  # cells of two neighbouring φ0 bins
            pair[dead] = 0
            k, b = np.unravel_index(int(pair.argmax()), pair.shape)
            if pair[k, b] < self.min_hits:
                break
            cand = np.flatnonzero(
                free & valid[:, k] & ((bins[:, k] == b) | (bins[:, k] == (b + 1) % self.n_phi))
            )
            members = self._line(cand, r, z, kappa[k], z0_grid)
            if len(members) < self.min_hits:
                dead[k, b] = True
                continue
            labels[members] = track
            track += 1
            free[members] = False
            sel = valid[members]
            np.subtract.at(acc, (k_idx[members][sel], bins[members][sel]), 1)
        return labels

    def _line(
        self, cand: np.ndarray, r: np.ndarray, z: np.ndarray, kappa: float, z0_grid: np.ndarray
    ) -> np.ndarray:
        """The candidates on the best line z = z0 + cot θ · s (s: transverse arc length from the axis)."""
        if len(cand) < self.min_hits:
            return cand[:0]
        rc = r[cand]
        s = transverse_arc(rc, kappa)
        cot = np.clip(
            (z[cand][None] - z0_grid[:, None]) / np.maximum(s, 1e-9)[None], -50.0, 50.0
        )  # [n_z0, n_cand]
        cell = np.floor(cot / self.cot_width).astype(np.int64)
        cell -= cell.min() - 1  # >= 1, so that bin c - 1 exists
        width = int(cell.max()) + 1
        flat = (np.arange(len(z0_grid))[:, None] * width + cell).ravel()
        counts = np.bincount(flat, minlength=len(z0_grid) * width).reshape(len(z0_grid), width)
        pair = counts[:, :-1] + counts[:, 1:]  # a line may straddle two neighbouring cot bins
        j, c = np.unravel_index(int(pair.argmax()), pair.shape)
        return cand[(cell[j] == c) | (cell[j] == c + 1)]
