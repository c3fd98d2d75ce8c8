"""Views: how a task sees a raw event (which objects, which features, which coordinates and targets)."""

from __future__ import annotations

import torch
from torch_geometric.data import Data

from src.data.cache import Event
from src.data.schema import LS_FEATURE_NAMES

_INDEX = {name: i for i, name in enumerate(LS_FEATURE_NAMES)}
PERIODIC_COORDS = frozenset({"LS_phi"})


def ls_endpoints(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchor and end points (lower hits of the inner and outer mini-doublet) [N, 3] of LS [N, 23].

    The features hold the centre c of the four hits, the lower-hit difference d0 = E0 − A0 and the mean
    lower-minus-upper offset m, so A0 = c + m/2 − d0/2 and E0 = c + m/2 + d0/2 exactly (real CMS LST
    events and simulated ones alike).
    """
    c = raw[:, [_INDEX["x"], _INDEX["y"], _INDEX["z"]]].double()
    d0 = raw[:, [_INDEX["dx0"], _INDEX["dy0"], _INDEX["dz0"]]].double()
    m = raw[:, [_INDEX["dxLS"], _INDEX["dyLS"], _INDEX["dzLS"]]].double()
    return c + 0.5 * m - 0.5 * d0, c + 0.5 * m + 0.5 * d0


def _eta_phi(p: torch.Tensor) -> torch.Tensor:
    r = torch.hypot(p[:, 0], p[:, 1]).clamp_min(1e-6)
    return torch.stack([torch.asinh(p[:, 2] / r), torch.atan2(p[:, 1], p[:, 0])], dim=1)


class LSView:
    """Line segments as model inputs.

    ``x`` holds the 23 LS features with φ replaced by (sin φ, cos φ) and pT by log pT (24 columns, not
    normalised: the task learns the normalisation from its training events). ``coords`` are the named
    LS columns used for locality (η, φ by default; φ is periodic). ``y`` is 1 for a sim-matched (true) LS
    and 0 for a fake, so the positive class of the classification metrics is the true LS. ``ls_pt`` is the
    reconstructed LS pT (GeV), for metrics by reconstructed pT where no simulated pT exists.

    With ``links`` the (η, φ) of the anchor point and of the end point (:func:`ls_endpoints`) and the
    segment's direction (transverse angle α of E0 − A0, periodic, and its polar angle θ) follow the named
    coordinates, and :attr:`links` gives the (start, end) columns: (η_A, φ_A, α, θ) and
    (η_E, φ_E, α, θ). A link attention head then matches one LS's end and direction to another's
    anchor and direction, the continuation of a track (see ``CoordinateKernel``).
    """

    def __init__(
        self, coords: tuple[str, ...] | list[str] = ("LS_eta", "LS_phi"), links: bool = False
    ) -> None:
        unknown = [c for c in coords if c not in _INDEX]
        if unknown:
            raise ValueError(
                f"task.view.coords: unknown LS column(s) {unknown}; allowed: {list(LS_FEATURE_NAMES)}"
            )
        self.coords = tuple(coords)
        self.periodic = [c in PERIODIC_COORDS for c in self.coords]
        self.links: tuple[tuple[int, int], tuple[int, int]] | None = None
        if links:
            n = len(self.coords)
            self.periodic += [False, True, False, True, True, False]
            self.links = ((n, n + 1, n + 4, n + 5), (n + 2, n + 3, n + 4, n + 5))
        self.feature_names = ["LS_sinphi", "LS_cosphi", "LS_eta", "LS_logpt", *LS_FEATURE_NAMES[3:]]

    @property
    def num_features(self) -> int:
        """Number of input feature columns."""
        return len(self.feature_names)

    @property
    def coords_dim(self) -> int:
        """Number of coordinate columns."""
        return len(self.periodic)

    def coordinates(self, raw: torch.Tensor) -> torch.Tensor:
        """Coordinate columns [N, coords_dim] from the raw [N, 23] LS columns."""
        named = raw[:, [_INDEX[c] for c in self.coords]].float()
        if self.links is None:
            return named.contiguous()
        anchor, end = ls_endpoints(raw)
        step = end - anchor
        alpha = torch.atan2(step[:, 1], step[:, 0])
        theta = torch.atan2(torch.hypot(step[:, 0], step[:, 1]), step[:, 2])
        direction = torch.stack([alpha, theta], dim=1)
        return torch.cat([named, _eta_phi(anchor), _eta_phi(end), direction], dim=1).float()

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
            coords=self.coordinates(event["x"]),
            y=(pid >= 0).float(),
            particle_id=pid,
            sim_pt=event["sim_pt"].float(),
            sim_eta=event["sim_eta"].float(),
            track_length=event["track_length"].long(),
            ls_pt=raw[:, _INDEX["LS_pt"]].contiguous(),
            num_nodes=len(raw),
        )
