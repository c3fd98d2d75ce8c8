"""The 23 features of an LST line segment (as the HEPT-CMS study's ntuple processing computes them from the
four hits) and its truth: sim-matched when its four hits come from one particle, else a fake."""

from __future__ import annotations

import numpy as np

from src.reco.lst import LineSegments
from src.sim.tracker.config import SimEvent
from src.sim.tracker.layout import CURVATURE


def _delta(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(dr, dx, dy, dz) of q − p for [n, 3] positions."""
    return np.c_[np.hypot(q[:, 0], q[:, 1]) - np.hypot(p[:, 0], p[:, 1]), q - p]


def ls_features(
    pos: np.ndarray, dpc_a: np.ndarray, dpc_e: np.ndarray, layers: np.ndarray, b_field: float
) -> np.ndarray:
    """The 23 LS features of ``src.event_model`` from hit positions [n, 4, 3] (A0, A1, E0, E1)."""
    a0, a1, e0, e1 = (pos[:, k] for k in range(4))
    r_a, r_e = np.hypot(a0[:, 0], a0[:, 1]), np.hypot(e0[:, 0], e0[:, 1])
    cross = np.abs(a0[:, 0] * e0[:, 1] - a0[:, 1] * e0[:, 0])
    chord = np.hypot(e0[:, 0] - a0[:, 0], e0[:, 1] - a0[:, 1])
    radius = r_a * r_e * chord / (2.0 * np.maximum(cross, 1e-12))  # circle through origin, A0 and E0
    centre = pos.mean(axis=1)
    r_mean = np.hypot(pos[..., 0], pos[..., 1]).mean(axis=1)
    mid = 0.5 * ((a0 + e0) - (a1 + e1))
    cols = [
        np.arctan2(a0[:, 1], a0[:, 0]),
        np.arcsinh(e0[:, 2] / r_e),
        CURVATURE * b_field * radius,
        r_mean,
        centre,
        0.5 * (dpc_a + dpc_e),
        _delta(a0, e0),
        dpc_e - dpc_a,
        _delta(a1, e1),
        np.c_[0.5 * ((r_a + r_e) - np.hypot(a1[:, 0], a1[:, 1]) - np.hypot(e1[:, 0], e1[:, 1])), mid],
        layers,
    ]
    return np.column_stack(cols).astype(np.float32)


def line_segment_event(ls: LineSegments, event: SimEvent, b_field: float) -> dict[str, np.ndarray]:
    """Features and truth of the line segments of ``event`` (see ``simulate_ls_event``)."""
    md, hits = ls.md, event.hits
    idx = np.c_[md.lower[ls.inner], md.upper[ls.inner], md.lower[ls.outer], md.upper[ls.outer]]
    pos = np.stack([hits["x"], hits["y"], hits["z"]], axis=-1).astype(np.float64)[idx]
    layer = hits["layer"].astype(np.float64)
    layers = np.c_[layer[idx[:, 0]], layer[idx[:, 2]]]
    x = ls_features(pos, md.dphichange[ls.inner], md.dphichange[ls.outer], layers, b_field)
    pid = hits["particle_id"][idx]
    matched = (pid[:, 0] > 0) & (pid == pid[:, :1]).all(axis=1)
    particle_id = np.where(matched, pid[:, 0], -1).astype(np.int64)
    sim_pt = np.full(len(idx), np.nan, dtype=np.float32)
    sim_eta = np.full(len(idx), np.nan, dtype=np.float32)
    row = particle_id[matched] - 1  # particle ids are 1-based rows of the particle table
    sim_pt[matched] = event.particle_pt[row]
    sim_eta[matched] = event.particle_eta[row]
    track_length = np.zeros(len(idx), dtype=np.int64)
    _, inverse, counts = np.unique(particle_id[matched], return_inverse=True, return_counts=True)
    track_length[matched] = counts[inverse]
    return {
        "x": x,
        "particle_id": particle_id,
        "sim_pt": sim_pt,
        "sim_eta": sim_eta,
        "track_length": track_length,
    }
