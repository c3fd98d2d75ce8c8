"""PF elements of a calorimeter event in the MLPF CLIC dataset's definitions: tracks as rows of the 16
``PF_TRACK_FEATURES``, clusters as rows of the 17 ``PF_CLUSTER_FEATURES`` (:mod:`src.event_model`).

Tracks take their perigee quantities (pT, η, φ, p, tan λ, d0, ω, z0) and fit summaries as they are;
clusters take η, φ and iTheta (the polar angle) of their energy-weighted position seen from the origin,
and E_T = E sin θ. An event without a collection (no tracks, no clusters) gives zero rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from src.event_model import PF_CLUSTER_FEATURES, PF_ELEMENT_TYPES, PF_TRACK_FEATURES

#: Track fields of the event (``track_*``) in the order of PF_TRACK_FEATURES after (pt, eta, φ as
#: sin/cos).
_TRACK_TAIL = (
    "track_p",
    "track_chi2",
    "track_ndf",
    "track_dedx",
    "track_dedx_error",
    "track_inner_radius",
    "track_tan_lambda",
    "track_d0",
    "track_omega",
    "track_z0",
    "track_time",
)
_CLUSTER_TAIL = (
    "cluster_energy_ecal",
    "cluster_energy_hcal",
    "cluster_energy_other",
    "cluster_n_hits",
    "cluster_sigma_x",
    "cluster_sigma_y",
    "cluster_sigma_z",
)


def select_clusters(event: Mapping[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    """The event with only the clusters ``keep`` (mask over clusters); hits of the others belong to no
    cluster (``hit_cluster`` −1), the kept ones are renumbered in order."""
    keep = np.asarray(keep, dtype=bool)
    out = dict(event)
    for key, value in event.items():
        if key.startswith("cluster_"):
            out[key] = np.asarray(value)[keep]
    if "hit_cluster" in event:
        new = np.full(len(keep) + 1, -1, dtype=np.int32)  # last entry: hits of no cluster stay −1
        new[np.flatnonzero(keep)] = np.arange(int(keep.sum()), dtype=np.int32)
        hit_cluster = np.asarray(event["hit_cluster"], dtype=np.int64)
        out["hit_cluster"] = new[np.where(hit_cluster >= 0, hit_cluster, len(keep))]
    return out


def _column(event: Mapping[str, np.ndarray], key: str, n: int) -> np.ndarray:
    value = np.asarray(event[key], dtype=np.float64)
    if value.shape != (n,):
        raise ValueError(f"event field {key} has shape {value.shape}, expected ({n},) like its collection")
    return value


def count(event: Mapping[str, np.ndarray], prefix: str) -> int:
    """Number of objects of a collection (``track``/``cluster``) in the event; 0 where it is absent."""
    key = {"track": "track_pt", "cluster": "cluster_energy"}[prefix]
    return len(event[key]) if key in event else 0


def track_elements(event: Mapping[str, np.ndarray]) -> np.ndarray:
    """Track elements [n_tracks, 16] (float32) of a calorimeter event."""
    n = count(event, "track")
    out = np.zeros((n, len(PF_TRACK_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    phi = _column(event, "track_phi", n)
    head = [
        np.full(n, PF_ELEMENT_TYPES["track"]),
        _column(event, "track_pt", n),
        _column(event, "track_eta", n),
        np.sin(phi),
        np.cos(phi),
    ]
    out[:] = np.stack(head + [_column(event, k, n) for k in _TRACK_TAIL], axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def position_angles(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """(η, φ, θ) of positions seen from the origin."""
    r = np.hypot(x, y)
    theta = np.arctan2(r, z)
    eta = np.arcsinh(z / np.maximum(r, 1e-9))
    return eta, np.arctan2(y, x), theta


def cluster_elements(event: Mapping[str, np.ndarray]) -> np.ndarray:
    """Cluster elements [n_clusters, 17] (float32) of a calorimeter event."""
    n = count(event, "cluster")
    out = np.zeros((n, len(PF_CLUSTER_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    x, y, z = (_column(event, f"cluster_{c}", n) for c in "xyz")
    energy = _column(event, "cluster_energy", n)
    eta, phi, theta = position_angles(x, y, z)
    head = [
        np.full(n, PF_ELEMENT_TYPES["cluster"]),
        energy * np.sin(theta),
        eta,
        np.sin(phi),
        np.cos(phi),
        energy,
        x,
        y,
        z,
        theta,
    ]
    out[:] = np.stack(head + [_column(event, k, n) for k in _CLUSTER_TAIL], axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
