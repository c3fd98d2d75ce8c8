"""Views: how a task sees a raw event (which objects, which features, which coordinates and targets)."""

from __future__ import annotations

import torch
from torch_geometric.data import Data

from src.data.cache import Event
from src.data.schema import LS_FEATURE_NAMES

_INDEX = {name: i for i, name in enumerate(LS_FEATURE_NAMES)}
PERIODIC_COORDS = frozenset({"LS_phi"})


class LSView:
    """Line segments as model inputs.

    ``x`` holds the 23 LS features with φ replaced by (sin φ, cos φ) and pT by log pT (24 columns, not
    normalised: the task learns the normalisation from its training events). ``coords`` are the named
    LS columns used for locality (η, φ by default; φ is periodic). ``y`` is 1 for a sim-matched (true) LS
    and 0 for a fake, so the positive class of the classification metrics is the true LS. ``ls_pt`` is the
    reconstructed LS pT (GeV), for metrics by reconstructed pT where no simulated pT exists.
    """

    def __init__(self, coords: tuple[str, ...] | list[str] = ("LS_eta", "LS_phi")) -> None:
        unknown = [c for c in coords if c not in _INDEX]
        if unknown:
            raise ValueError(
                f"task.view.coords: unknown LS column(s) {unknown}; allowed: {list(LS_FEATURE_NAMES)}"
            )
        self.coords = tuple(coords)
        self.periodic = [c in PERIODIC_COORDS for c in self.coords]
        self.feature_names = ["LS_sinphi", "LS_cosphi", "LS_eta", "LS_logpt", *LS_FEATURE_NAMES[3:]]

    @property
    def num_features(self) -> int:
        """Number of input feature columns."""
        return len(self.feature_names)

    @property
    def coords_dim(self) -> int:
        """Number of coordinate columns."""
        return len(self.coords)

    def features(self, raw: torch.Tensor) -> torch.Tensor:
        """Model input features from the raw [N, 23] LS columns."""
        phi = raw[:, _INDEX["LS_phi"]]
        logpt = torch.log(raw[:, _INDEX["LS_pt"]].clamp_min(1e-3))
        return torch.cat(
            [
                torch.stack([torch.sin(phi), torch.cos(phi), raw[:, _INDEX["LS_eta"]], logpt], dim=1),
                raw[:, 3:],
            ],
            dim=1,
        ).float()

    def __call__(self, event: Event) -> Data:
        raw = event["x"].float()
        pid = event["particle_id"].long()
        return Data(
            x=self.features(raw),
            coords=raw[:, [_INDEX[c] for c in self.coords]].contiguous(),
            y=(pid >= 0).float(),
            particle_id=pid,
            sim_pt=event["sim_pt"].float(),
            sim_eta=event["sim_eta"].float(),
            track_length=event["track_length"].long(),
            ls_pt=raw[:, _INDEX["LS_pt"]].contiguous(),
            num_nodes=len(raw),
        )
