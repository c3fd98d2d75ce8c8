"""Classical trackster linking by geometric and angular compatibility cuts (TICL before the GNN).

A candidate link (inner i, outer j) is accepted when the two principal axes are aligned (``axis_angle``
below ``max_axis_angle``), j's barycentre lies close to i's axis extrapolated to its z
(``miss_distance`` below ``max_miss_distance``, mm), i's axis points at j (``pointing_angle`` below
``max_pointing_angle``) and the two are not too far apart along z (``delta_z`` below ``max_delta_z``, mm).
The cuts act on the edge features of :mod:`src.reco.ticl_graph`; ``scripts/tune_linking_baseline.py``
chooses them on training and validation events.
"""

from __future__ import annotations

import numpy as np

from src.event_model import LINK_FEATURE_NAMES

_COL = {name: i for i, name in enumerate(LINK_FEATURE_NAMES)}


class GeometricLinker:
    """Accept or reject candidate links by cuts on their edge features."""

    def __init__(
        self,
        *,
        max_axis_angle: float = 0.25,
        max_miss_distance: float = 35.0,
        max_pointing_angle: float = 0.3,
        max_delta_z: float = 600.0,
    ) -> None:
        cuts = (max_axis_angle, max_miss_distance, max_pointing_angle, max_delta_z)
        if min(cuts) <= 0:
            raise ValueError(f"every cut of the geometric linker must be > 0, got {cuts}")
        self.max_axis_angle = max_axis_angle
        self.max_miss_distance = max_miss_distance
        self.max_pointing_angle = max_pointing_angle
        self.max_delta_z = max_delta_z

    def __call__(self, edge_attr: np.ndarray) -> np.ndarray:
        """Boolean decision [E] for raw edge features [E, 7] (columns of LINK_FEATURE_NAMES)."""
        e = np.asarray(edge_attr, dtype=np.float64).reshape(-1, len(LINK_FEATURE_NAMES))
        return (
            (e[:, _COL["axis_angle"]] < self.max_axis_angle)
            & (e[:, _COL["miss_distance"]] < self.max_miss_distance)
            & (e[:, _COL["pointing_angle"]] < self.max_pointing_angle)
            & (e[:, _COL["delta_z"]] < self.max_delta_z)
        )
