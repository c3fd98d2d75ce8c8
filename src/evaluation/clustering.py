"""One clustering helper: group objects (hits, line segments) by their learned coordinates, per event.

Any scikit-learn clusterer with ``fit_predict`` works (``sklearn.cluster.HDBSCAN`` by default in the task
configs); it is cloned for every event so no state leaks between events. Tracking, track regression and
``scripts/tune_hdbscan.py`` all cluster through :func:`cluster`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import clone


def check_clusterer(clusterer: Any, key: str) -> Any:
    """``clusterer`` if it is a clustering estimator, else a ``ValueError`` naming the config key."""
    if clusterer is None or not hasattr(clusterer, "fit_predict"):
        raise ValueError(
            f"{key} must be a clustering estimator with fit_predict "
            f"(e.g. _target_: sklearn.cluster.HDBSCAN), got {clusterer!r}"
        )
    return clusterer


def smallest_input(clusterer: Any) -> int:
    """Fewest points the clusterer can be run on (HDBSCAN needs ``min_cluster_size`` and ``min_samples``)."""
    params = clusterer.get_params() if hasattr(clusterer, "get_params") else {}
    sizes = [2, int(params.get("min_cluster_size") or 2), int(params.get("min_samples") or 1)]
    return max(sizes)


def cluster(clusterer: Any, points: npt.ArrayLike, *, min_points: int = 0) -> np.ndarray:
    """Cluster label per point (−1: unclustered) of one event's points [N, D].

    Events with fewer points than the clusterer accepts (or than ``min_points``) come back all −1.
    """
    points = np.asarray(points, dtype=np.float64)
    if len(points) < max(smallest_input(clusterer), min_points):
        return np.full(len(points), -1, dtype=np.int64)
    return np.asarray(clone(clusterer).fit_predict(points), dtype=np.int64)
