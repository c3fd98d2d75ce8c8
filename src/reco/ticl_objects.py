"""Properties of TICL's objects from their members: layer clusters from hits, tracksters from layer clusters.

Layer clusters (``lc_*`` of :data:`src.event_model.LAYER_CLUSTER_FIELDS`): energy = Σ hit energies;
position = logarithmically weighted mean of the hits, w = max(0, w0 + ln(E_hit / E_cluster)) (CMS's
thresholdW0 = 2.9), falling back to energy weights when every w is 0; time = energy-weighted mean of the
hits above ``time_min_energy``, when at least ``time_min_hits`` of them (else NO_TIME).

Tracksters (``trackster_*`` of :data:`src.event_model.TRACKSTERS`): TICL's ``assignPCAtoTracksters`` on the
layer clusters, weighted by energy: barycentre, eigenvalues EV1 ≥ EV2 ≥ EV3 of the covariance, the
principal axis eVector0 (pointing away from the origin) and sigmaPCA_k = √EV_k; raw_energy, raw_em_energy
(the part on CE-E layers) and the energy-weighted time of the layer clusters that have one.
"""

from __future__ import annotations

import numpy as np

from src.event_model import NO_TIME


def group_sum(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values`` [N] or [N, K] per group index (0…n−1) of each row."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        return np.bincount(group, weights=values, minlength=n)
    return np.stack(
        [np.bincount(group, weights=values[:, k], minlength=n) for k in range(values.shape[1])], 1
    )


def csr(labels: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Members of each group as CSR (ptr [n_groups + 1], member rows sorted by group then row); rows
    labelled −1 belong to none."""
    rows = np.flatnonzero(labels >= 0)
    rows = rows[np.argsort(labels[rows], kind="stable")]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(labels[rows], minlength=n_groups))]).astype(np.int64)
    return ptr, rows.astype(np.int32)


def _weighted_time(
    group: np.ndarray, energy: np.ndarray, time: np.ndarray, use: np.ndarray, *, n: int, min_count: int
) -> np.ndarray:
    """Energy-weighted mean time per group over the rows in ``use``; NO_TIME with fewer than
    ``min_count`` such rows."""
    w = np.where(use, energy, 0.0)
    count = np.bincount(group, weights=use.astype(np.float64), minlength=n)
    wsum = np.bincount(group, weights=w, minlength=n)
    tsum = np.bincount(group, weights=w * time, minlength=n)
    ok = (count >= max(min_count, 1)) & (wsum > 0)
    return np.where(ok, tsum / np.where(ok, wsum, 1.0), NO_TIME).astype(np.float32)


def layer_cluster_properties(
    hits: dict[str, np.ndarray],
    hit_lc: np.ndarray,
    *,
    w0: float,
    time_min_energy: float,
    time_min_hits: int,
) -> dict[str, np.ndarray]:
    """The ``lc_*`` arrays of the clusters 0…C−1 that ``hit_lc`` (−1: none) assigns the hits to.

    ``hits`` holds per-hit ``x``, ``y``, ``z`` (mm), ``energy`` (GeV), ``time`` (ns) and ``layer``.
    """
    n = int(hit_lc.max()) + 1 if len(hit_lc) else 0
    member = hit_lc >= 0
    g = hit_lc[member]
    e = hits["energy"][member].astype(np.float64)
    e_lc = np.bincount(g, weights=e, minlength=n)
    w = np.maximum(0.0, w0 + np.log(np.maximum(e, 1e-12) / np.maximum(e_lc[g], 1e-12)))
    wsum = np.bincount(g, weights=w, minlength=n)
    w = np.where(wsum[g] > 0, w, e)  # all log weights 0: energy weights
    wsum = np.bincount(g, weights=w, minlength=n)
    pos = group_sum(g, np.stack([hits[k][member] for k in ("x", "y", "z")], 1) * w[:, None], n)
    pos /= np.maximum(wsum, 1e-300)[:, None]
    layer = np.zeros(n, dtype=np.int16)
    layer[g] = hits["layer"][member]
    time = hits["time"][member].astype(np.float64)
    return {
        "lc_x": pos[:, 0].astype(np.float32),
        "lc_y": pos[:, 1].astype(np.float32),
        "lc_z": pos[:, 2].astype(np.float32),
        "lc_energy": e_lc.astype(np.float32),
        "lc_time": _weighted_time(g, e, time, e >= time_min_energy, n=n, min_count=time_min_hits),
        "lc_layer": layer,
        "lc_n_hits": np.bincount(g, minlength=n).astype(np.int32),
    }


def trackster_properties(lc: dict[str, np.ndarray], lc_trackster: np.ndarray, *, em_layers: int) -> dict:
    """The ``trackster_*`` arrays (but id probabilities and association) of the tracksters 0…T−1 that
    ``lc_trackster`` (−1: none) assigns the layer clusters to; layers below ``em_layers`` are CE-E."""
    n = int(lc_trackster.max()) + 1 if len(lc_trackster) else 0
    member = lc_trackster >= 0
    g = lc_trackster[member]
    e = lc["lc_energy"][member].astype(np.float64)
    p = np.stack([lc[k][member] for k in ("lc_x", "lc_y", "lc_z")], 1).astype(np.float64)
    e_t = np.bincount(g, weights=e, minlength=n)
    safe = np.maximum(e_t, 1e-300)
    bary = group_sum(g, p * e[:, None], n) / safe[:, None]
    d = p - bary[g]
    cov = group_sum(g, (d[:, :, None] * d[:, None, :]).reshape(-1, 9) * e[:, None], n).reshape(n, 3, 3)
    cov /= safe[:, None, None]
    values, vectors = np.linalg.eigh(cov)  # ascending
    values = np.maximum(values[:, ::-1], 0.0)
    axis = vectors[:, :, 2]
    axis *= np.where(np.sum(axis * bary, axis=1) < 0, -1.0, 1.0)[:, None]
    r = np.hypot(bary[:, 0], bary[:, 1])
    em = lc["lc_layer"][member] < em_layers
    ptr, index = csr(lc_trackster, n)
    lc_time = lc["lc_time"][member].astype(np.float64)
    out = {
        "trackster_barycenter_x": bary[:, 0],
        "trackster_barycenter_y": bary[:, 1],
        "trackster_barycenter_z": bary[:, 2],
        "trackster_barycenter_eta": np.arcsinh(bary[:, 2] / np.maximum(r, 1e-9)),
        "trackster_barycenter_phi": np.arctan2(bary[:, 1], bary[:, 0]),
        "trackster_eVector0_x": axis[:, 0],
        "trackster_eVector0_y": axis[:, 1],
        "trackster_eVector0_z": axis[:, 2],
        **{f"trackster_EV{k + 1}": values[:, k] for k in range(3)},
        **{f"trackster_sigmaPCA{k + 1}": np.sqrt(values[:, k]) for k in range(3)},
        "trackster_raw_energy": e_t,
        "trackster_raw_em_energy": np.bincount(g, weights=np.where(em, e, 0.0), minlength=n),
        "trackster_time": _weighted_time(g, e, lc_time, lc_time != NO_TIME, n=n, min_count=1),
    }
    out = {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}
    return out | {"trackster_lc_ptr": ptr, "trackster_lc_index": index}
