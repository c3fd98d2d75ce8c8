"""Linear discriminant analysis of line segments with the simulated track as class (HEPT-CMS study).

The projection maps LS features to a few coordinates in which LS of the same track lie close together; the
tracking task builds its candidate pairs with a radius graph there. It is fitted once on training LS
(sim-matched LS of tracks with at least two LS; fakes have no class) and then frozen: the task keeps it in
its state dict, so the checkpoint carries it to validation, test and any later evaluation (a filtered
dataset, real events).

Coordinates are sklearn's ``LinearDiscriminantAnalysis(solver="svd").transform``: centred on the training
mean and scaled so that the within-track covariance is the identity, i.e. one unit is the typical spread
of one track's LS along that direction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LDAProjection:
    """``transform(x) = (x − mean) @ scalings``: ``mean`` [F], ``scalings`` [F, C] (float64)."""

    mean: np.ndarray
    scalings: np.ndarray
    explained_variance_ratio: np.ndarray
    n_tracks: int
    n_objects: int

    def transform(self, x: npt.ArrayLike) -> np.ndarray:
        """Coordinates [N, C] of features [N, F]."""
        return (np.asarray(x, dtype=np.float64) - self.mean) @ self.scalings


def fit_lda(
    features: Sequence[npt.ArrayLike],
    particle_ids: Sequence[npt.ArrayLike],
    *,
    n_components: int = 3,
    min_track_length: int = 2,
    max_tracks: int | None = 20000,
    seed: int = 0,
) -> LDAProjection:
    """Fit the projection on the sim-matched objects of several events.

    Args:
        features: per event, the feature matrix [N_e, F].
        particle_ids: per event, the track of each object (``< 0``: fake, left out).
        n_components: output dimensions (at most F and the number of tracks − 1).
        min_track_length: tracks with fewer objects are left out (a single LS has no within-track spread).
        max_tracks: fit on at most this many tracks drawn at random (seeded) — the cost grows with the
            number of objects, and a few thousand tracks already pin down a 24-feature projection.
        seed: seed of that draw.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    if len(features) != len(particle_ids):
        raise ValueError(
            f"fit_lda: {len(features)} feature arrays but {len(particle_ids)} particle_id arrays"
        )
    xs, classes, offset = [], [], 0
    for event_x, event_pid in zip(features, particle_ids, strict=True):
        x = np.asarray(event_x, dtype=np.float64)
        pid = np.asarray(event_pid, dtype=np.int64).reshape(-1)
        if len(x) != len(pid):
            raise ValueError(f"fit_lda: an event has {len(x)} feature rows but {len(pid)} particle ids")
        _, inverse, counts = np.unique(pid, return_inverse=True, return_counts=True)
        keep = (pid >= 0) & (counts[inverse] >= min_track_length)
        xs.append(x[keep])
        classes.append(inverse[keep] + offset)  # classes are (event, track): ids repeat across events
        offset += len(counts)
    x, y = np.concatenate(xs), np.concatenate(classes)
    tracks = np.unique(y)
    if max_tracks is not None and len(tracks) > max_tracks:
        chosen = np.random.default_rng(seed).choice(tracks, size=max_tracks, replace=False)
        sel = np.isin(y, chosen)
        x, y, tracks = x[sel], y[sel], np.sort(chosen)
    if len(tracks) <= n_components:
        raise ValueError(
            f"fit_lda: {len(tracks)} track(s) with >= {min_track_length} sim-matched LS in the training "
            f"events, need more than n_components={n_components}; use more training events "
            "(dataset.n_events / dataset.split) or lower task.lda_components"
        )
    if n_components > x.shape[1]:
        raise ValueError(f"fit_lda: n_components={n_components} exceeds the {x.shape[1]} features")
    lda = LinearDiscriminantAnalysis(solver="svd", n_components=n_components).fit(x, y)
    log.info(
        "Fitted LDA on %d LS of %d tracks: explained variance ratio %s",
        len(x),
        len(tracks),
        np.round(lda.explained_variance_ratio_[:n_components], 4).tolist(),
    )
    return LDAProjection(
        mean=lda.xbar_.astype(np.float64),
        scalings=lda.scalings_[:, :n_components].astype(np.float64),
        explained_variance_ratio=lda.explained_variance_ratio_[:n_components].astype(np.float64),
        n_tracks=len(tracks),
        n_objects=len(x),
    )
