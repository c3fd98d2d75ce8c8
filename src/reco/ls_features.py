"""The 23 features of an LST line segment (as the HEPT-CMS study's ntuple processing computes them from the
four hits) and its truth: sim-matched when its four hits come from one particle, else a fake.

:func:`ntuple_branches` gives the same event as CMS LST's ntuple writer lays it out (mini-doublets and
line segments, see :mod:`src.io.lst_ntuple`), so simulated events can be written as LST ntuples and read
back into exactly the view :func:`line_segment_event` gives.
"""

from __future__ import annotations

import numpy as np

from src.event_model import ls_feature_matrix
from src.reco.lst import LineSegments
from src.sim.tracker.config import SimEvent
from src.sim.tracker.layout import CURVATURE

#: LST's value of a sim-track quantity for a line segment matched to no sim track.
NO_SIM_VALUE = -999.0


def ls_angles_pt(a0: np.ndarray, e0: np.ndarray, b_field: float) -> np.ndarray:
    """``LS_phi, LS_eta, LS_pt`` [n, 3] as LST's ntuple writer computes them from the anchor hits of the
    two MDs (positions [n, 3], cm): φ of A0, η of E0, pT of the circle through the origin, A0 and E0."""
    r_a, r_e = np.hypot(a0[:, 0], a0[:, 1]), np.hypot(e0[:, 0], e0[:, 1])
    cross = np.abs(a0[:, 0] * e0[:, 1] - a0[:, 1] * e0[:, 0])
    chord = np.hypot(e0[:, 0] - a0[:, 0], e0[:, 1] - a0[:, 1])
    radius = r_a * r_e * chord / (2.0 * np.maximum(cross, 1e-12))  # circle through origin, A0 and E0
    return np.c_[np.arctan2(a0[:, 1], a0[:, 0]), np.arcsinh(e0[:, 2] / r_e), CURVATURE * b_field * radius]


def _rxyz(pos: np.ndarray) -> np.ndarray:
    """(r, x, y, z) [..., 4] of positions [..., 3]."""
    return np.concatenate([np.hypot(pos[..., :1], pos[..., 1:2]), pos], axis=-1)


def ls_features(
    pos: np.ndarray, dpc_a: np.ndarray, dpc_e: np.ndarray, layers: np.ndarray, b_field: float
) -> np.ndarray:
    """The 23 LS features of ``src.event_model`` from hit positions [n, 4, 3] (A0, A1, E0, E1)."""
    pos = np.asarray(pos, dtype=np.float64)
    angles = ls_angles_pt(pos[:, 0], pos[:, 2], b_field)
    return ls_feature_matrix(_rxyz(pos), np.c_[dpc_a, dpc_e], layers, angles)


def _hit_indices(ls: LineSegments) -> np.ndarray:
    """Hit indices [n_ls, 4] of the line segments: A0, A1, E0, E1."""
    md = ls.md
    return np.c_[md.lower[ls.inner], md.upper[ls.inner], md.lower[ls.outer], md.upper[ls.outer]]


def _truth(ls: LineSegments, event: SimEvent) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per LS: the particle id (−1 = fake, when the four hits are not all of one particle) and the
    simulated pT and η of that particle (NaN for fakes)."""
    pid = event.hits["particle_id"][_hit_indices(ls)]
    matched = (pid[:, 0] > 0) & (pid == pid[:, :1]).all(axis=1)
    particle_id = np.where(matched, pid[:, 0], -1).astype(np.int64)
    sim_pt = np.full(len(pid), np.nan, dtype=np.float32)
    sim_eta = np.full(len(pid), np.nan, dtype=np.float32)
    row = particle_id[matched] - 1  # particle ids are 1-based rows of the particle table
    sim_pt[matched] = event.particle_pt[row]
    sim_eta[matched] = event.particle_eta[row]
    return particle_id, sim_pt, sim_eta


def line_segment_event(ls: LineSegments, event: SimEvent, b_field: float) -> dict[str, np.ndarray]:
    """Features and truth of the line segments of ``event`` (see ``simulate_ls_event``)."""
    md, hits = ls.md, event.hits
    idx = _hit_indices(ls)
    pos = np.stack([hits["x"], hits["y"], hits["z"]], axis=-1).astype(np.float64)[idx]
    layer = hits["layer"].astype(np.float64)
    layers = np.c_[layer[idx[:, 0]], layer[idx[:, 2]]]
    x = ls_features(pos, md.dphichange[ls.inner], md.dphichange[ls.outer], layers, b_field)
    particle_id, sim_pt, sim_eta = _truth(ls, event)
    track_length = np.zeros(len(idx), dtype=np.int64)
    matched = particle_id >= 0
    _, inverse, counts = np.unique(particle_id[matched], return_inverse=True, return_counts=True)
    track_length[matched] = counts[inverse]
    return {
        "x": x,
        "particle_id": particle_id,
        "sim_pt": sim_pt,
        "sim_eta": sim_eta,
        "track_length": track_length,
    }


def ntuple_branches(ls: LineSegments, event: SimEvent, b_field: float) -> dict[str, np.ndarray]:
    """One event's branches of an LST ntuple (names and meaning of :data:`src.io.lst_ntuple.BRANCHES`).

    Mini-doublets are those used by a line segment, in order of first use as LST's writer lists them;
    ``MD_0`` is the lower (anchor) hit, ``MD_1`` the upper one. Positions and angles stay float64 so that
    reading the ntuple back gives exactly :func:`line_segment_event`. ``LS_SimTrkIdx`` holds the
    simulation's particle id (−1 for fakes), ``sim_*`` one entry per simulated particle with
    ``sim_trkNtupIdx`` its id; sim-track values of fake LS are ``NO_SIM_VALUE`` as in LST.
    """
    md, hits = ls.md, event.hits
    used, first = np.unique(np.c_[ls.inner, ls.outer].reshape(-1), return_index=True)
    used = used[np.argsort(first, kind="stable")]  # MDs in order of first use
    slot = np.empty(len(md.lower), dtype=np.int64)
    slot[used] = np.arange(len(used))
    pos = np.stack([hits["x"], hits["y"], hits["z"]], axis=-1).astype(np.float64)
    lower, upper = pos[md.lower[used]], pos[md.upper[used]]
    out: dict[str, np.ndarray] = {}
    for k, hit in (("0", lower), ("1", upper)):
        for c, values in zip("rxyz", _rxyz(hit).T, strict=True):
            out[f"MD_{k}_{c}"] = values
    out["MD_eta"] = np.arcsinh(lower[:, 2] / np.hypot(lower[:, 0], lower[:, 1]))
    out["MD_phi"] = np.arctan2(lower[:, 1], lower[:, 0])
    out["MD_dphichange"] = md.dphichange[used].astype(np.float64)
    out["MD_layer"] = hits["layer"][md.lower[used]].astype(np.int32)
    out["MD_detId"] = md.module[used].astype(np.int32)
    angles = ls_angles_pt(pos[md.lower[ls.inner]], pos[md.lower[ls.outer]], b_field)
    out["LS_phi"], out["LS_eta"], out["LS_pt"] = angles.T
    out["LS_MD_idx0"] = slot[ls.inner].astype(np.int32)
    out["LS_MD_idx1"] = slot[ls.outer].astype(np.int32)
    particle_id, sim_pt, sim_eta = _truth(ls, event)
    out["LS_isFake"] = (particle_id < 0).astype(np.int32)
    out["LS_SimTrkIdx"] = particle_id.astype(np.int32)
    out["LS_sim_pt"] = np.where(particle_id < 0, NO_SIM_VALUE, sim_pt).astype(np.float32)
    out["LS_sim_eta"] = np.where(particle_id < 0, NO_SIM_VALUE, sim_eta).astype(np.float32)
    out["sim_pt"] = event.particle_pt.astype(np.float32)
    out["sim_eta"] = event.particle_eta.astype(np.float32)
    out["sim_phi"] = np.arctan2(event.particles["py"], event.particles["px"]).astype(np.float32)
    out["sim_q"] = event.particles["q"].astype(np.int32)
    out["sim_trkNtupIdx"] = event.particles["particle_id"].astype(np.int32)
    return out
