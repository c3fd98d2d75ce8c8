"""Views: how a task sees a raw event (which objects, which features, which coordinates and targets).

A view satisfies :class:`View`: called on a raw event (a dict of tensors from a source) it returns the
``torch_geometric.data.Data`` the task trains on, and ``inputs`` describes that data to the backbone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch
from torch_geometric.data import Data

from src.data.cache import Event
from src.data.doublets import DOUBLET_COLUMNS, doublet_features, transverse_path
from src.event_model import HITS, LS, LS_FEATURE_NAMES, InputSpec
from src.io.trackml import HIT_ARRAYS

_INDEX = {name: i for i, name in enumerate(LS_FEATURE_NAMES)}


@runtime_checkable
class View(Protocol):
    """What a task needs of a view: the description of its inputs and the conversion of a raw event."""

    inputs: InputSpec

    def __call__(self, event: Event) -> Data: ...


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

    def __init__(self, *, coords: Sequence[str] = ("LS_eta", "LS_phi"), links: bool) -> None:
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
        self.inputs = InputSpec(
            feature_names=tuple(self.feature_names),
            coords=self.coords,
            periodic=tuple(self.periodic),
            links=self.links,
        )

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
            y=torch.from_numpy(~LS.no_particle(pid.numpy())).float(),
            particle_id=pid,
            sim_pt=event["sim_pt"].float(),
            sim_eta=event["sim_eta"].float(),
            track_length=event["track_length"].long(),
            ls_pt=raw[:, _INDEX["LS_pt"]].contiguous(),
            num_nodes=len(raw),
        )


# ---------------------------------------------------------------- hits


#: Input features a hit view can use (positions in mm); ``phi`` enters as its sine and cosine,
#: ``doublets`` as the ten columns of :func:`src.data.doublets.doublet_features` (the helix through the hit
#: and its nearest neighbour outward and inward).
HIT_FEATURES = ("x", "y", "z", "r", "phi", "eta", "rho", "doublets")
#: Coordinates for attention locality; ``phi`` is periodic.
HIT_COORDS = ("eta", "phi", "r", "z")
#: Regression targets: the particle's polar angle, azimuth (as sine and cosine), charge and q/pT (1/GeV).
HIT_TARGETS = ("theta", "sin_phi", "cos_phi", "q", "q_over_pt")


def _hit_columns(pos: torch.Tensor) -> dict[str, torch.Tensor]:
    x, y, z = pos.unbind(-1)
    r = torch.hypot(x, y)
    return {
        "x": x,
        "y": y,
        "z": z,
        "r": r,
        "rho": torch.sqrt(r**2 + z**2),
        "phi": torch.atan2(y, x),
        "eta": torch.asinh(z / r.clamp_min(1e-6)),
    }


def _feature_columns(feature: str) -> tuple[str, ...]:
    """Names of the input columns of one hit feature."""
    if feature == "phi":
        return ("sin_phi", "cos_phi")
    if feature == "doublets":
        return tuple(f"{side}_{c}" for side in ("out", "in") for c in DOUBLET_COLUMNS)
    return (feature,)


def hit_targets(names: Sequence[str], mom: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Targets [N, len(names)] from particle momenta [N, 3] and charges [N] (rows of noise are junk)."""
    pt = torch.hypot(mom[:, 0], mom[:, 1])
    phi = torch.atan2(mom[:, 1], mom[:, 0])
    columns = {
        "theta": torch.atan2(pt, mom[:, 2]),
        "sin_phi": torch.sin(phi),
        "cos_phi": torch.cos(phi),
        "q": q.double(),
        "q_over_pt": q.double() / pt.clamp_min(1e-3),
    }
    return torch.stack([columns[n] for n in names], dim=1)


#: How a track-regression head's outputs become the targets (``task.target_frame``).
TARGET_FRAMES = ("plain", "hit", "helix")
#: The targets the ``helix`` frame computes from a track's curvature and z0 (θ and φ; the charge, where a
#: target, is the sign of the curvature).
HELIX_TARGETS = ("theta", "sin_phi", "cos_phi")
HELIX_DERIVED = (*HELIX_TARGETS, "q")
#: The helix frame's curvature κ (per m) per unit q/pT (1/GeV) and field (T): κ = −0.15 B q/pT (a positive
#: particle in a field along +z turns clockwise, to smaller φ).
KAPPA_PER_Q_OVER_PT_TESLA = -0.299792458 / 2.0
#: The helix frame's units: z0 in 100 mm (the head's first output), κ per metre (the second).
Z0_UNIT_MM, KAPPA_UNIT_PER_MM = 100.0, 1e-3


def helix_truth(vertex_z: torch.Tensor, q_over_pt: torch.Tensor, b_field: torch.Tensor) -> torch.Tensor:
    """The helix frame's outputs [N, 2] (z0 in 100 mm, κ per metre) of tracks with vertex z (mm), q/pT
    (1/GeV) and field (T): what the head would give for each hit of them."""
    kappa = KAPPA_PER_Q_OVER_PT_TESLA * b_field * q_over_pt
    return torch.stack([vertex_z / Z0_UNIT_MM, kappa], dim=1)


def frame_outputs(frame: str, names: Sequence[str]) -> int:
    """Width of the head's output for the targets ``names`` in ``frame``."""
    if frame not in TARGET_FRAMES:
        raise ValueError(f"task.target_frame={frame!r}: choose one of {list(TARGET_FRAMES)}")
    if frame == "helix":
        missing = [t for t in HELIX_TARGETS if t not in names]
        if missing:
            raise ValueError(
                f"task.target_frame=helix needs the targets {list(HELIX_TARGETS)}; missing {missing}"
            )
        return 2 + len([n for n in names if n not in HELIX_DERIVED])
    return len(names)


def from_frame(frame: str, out: torch.Tensor, pos: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
    """Targets [N, len(names)] from a head's outputs [N, frame_outputs(frame, names)] and the hit
    positions [N, 3] (mm).

    * ``plain``: the outputs are the targets (the study's head).
    * ``hit``: θ = the hit's polar angle (seen from the origin) + output; (cos φ, sin φ) = the output
      vector turned by the hit's azimuth; other targets as they are.
    * ``helix``: the outputs are the z0 (in 100 mm) and the signed curvature κ = ±1/2R (per metre) of the
      hit's track, then the other targets; θ and φ are those of the helix from (0, 0, z0) through the hit:
      φ = φ_hit − asin(r κ), θ = atan2(s, z − z0) with s = asin(r κ)/κ the transverse path to the hit;
      the charge q is −sign(κ) (in a field along +z; 0 where κ is 0), not a separate output.

    In ``hit`` and ``helix`` a zero output (with 1 in ``cos_phi`` for ``hit``) predicts the hit's own
    direction, and rotating an event about the beam rotates the predictions with it.
    """
    names = list(names)
    if frame == "plain":
        return out
    pos = pos.to(out.dtype)
    r, phi = torch.hypot(pos[:, 0], pos[:, 1]), torch.atan2(pos[:, 1], pos[:, 0])
    if frame == "hit":
        cols = dict(zip(names, out.unbind(dim=1), strict=True))
        if "theta" in cols:
            cols["theta"] = cols["theta"] + torch.atan2(r, pos[:, 2])
        if "sin_phi" in cols and "cos_phi" in cols:
            s, c, cos_h, sin_h = cols["sin_phi"], cols["cos_phi"], torch.cos(phi), torch.sin(phi)
            cols["sin_phi"], cols["cos_phi"] = s * cos_h + c * sin_h, c * cos_h - s * sin_h
        return torch.stack([cols[n] for n in names], dim=1)
    z0, kappa = Z0_UNIT_MM * out[:, 0], KAPPA_UNIT_PER_MM * out[:, 1]
    bend, s = transverse_path(r, kappa)
    phi0, theta = phi - bend, torch.atan2(s, pos[:, 2] - z0)
    others = iter(out[:, 2:].unbind(dim=1))
    helix = {
        "theta": theta,
        "sin_phi": torch.sin(phi0),
        "cos_phi": torch.cos(phi0),
        "q": -torch.sign(out[:, 1]),
    }
    return torch.stack([helix[n] if n in helix else next(others) for n in names], dim=1)


class HitView:
    """Tracker hits as model inputs and per-hit track-parameter targets.

    ``x`` holds the named ``features`` of the hit position (``phi`` as sin, cos; not normalised: the task
    fits the normalisation on training events). ``coords`` are the named locality coordinates (``phi``
    periodic). ``y`` [N, T] holds the ``targets`` of each hit's particle and ``target_mask`` marks hits
    that have a particle (noise hits have no target); ``helix_y`` [N, 2] holds its track's parameters in
    the helix frame (:func:`helix_truth`: z0 in 100 mm, κ per metre). All hit-level truth arrays ride
    along, for scoring and for writing the event back in TrackML format.
    """

    def __init__(
        self,
        features: Sequence[str] = ("x", "y", "z", "r", "phi", "eta", "doublets"),
        coords: Sequence[str] = ("eta", "phi"),
        targets: Sequence[str] = ("theta", "sin_phi", "cos_phi", "q"),
    ) -> None:
        for group, names, allowed in (
            ("features", features, HIT_FEATURES),
            ("coords", coords, HIT_COORDS),
            ("targets", targets, HIT_TARGETS),
        ):
            unknown = [n for n in names if n not in allowed]
            if unknown or not names:
                raise ValueError(
                    f"task.view.{group}: unknown or empty {list(names)}; allowed: {list(allowed)}"
                )
        self.features = tuple(features)
        self.coords = tuple(coords)
        self.targets = tuple(targets)
        self.periodic = [c == "phi" for c in self.coords]
        self.feature_names = [n for f in self.features for n in _feature_columns(f)]
        self.inputs = InputSpec(
            feature_names=tuple(self.feature_names), coords=self.coords, periodic=tuple(self.periodic)
        )

    def __call__(self, event: Event) -> Data:
        missing = [k for k in ("hit_pos", *_PASSTHROUGH) if k not in event]
        if missing:
            raise KeyError(
                f"the hit view needs hit-level events (dataset=sim_hits or dataset=trackml); this event "
                f"lacks {missing[:4]} (it has {sorted(event)[:6]}...)"
            )
        pos = event["hit_pos"].double()
        cols = _hit_columns(pos)
        feats = []
        for f in self.features:
            if f == "phi":
                feats.extend((torch.sin(cols["phi"]), torch.cos(cols["phi"])))
            elif f == "doublets":
                feats.extend(doublet_features(pos).double().unbind(dim=1))
            else:
                feats.append(cols[f])
        pid = event["particle_id"].long()
        mom = event["particle_mom"].double()
        has_particle = torch.from_numpy(~HITS.no_particle(pid.numpy()))
        y = hit_targets(self.targets, mom, event["particle_q"]).float()
        pt = torch.where(has_particle, torch.hypot(mom[:, 0], mom[:, 1]), 0.0)
        frame_y = helix_truth(
            event["particle_vertex"].double()[:, 2],
            event["particle_q"].double() / pt.clamp_min(1e-3),
            event["b_field"].double().expand(len(pid)),
        )
        return Data(
            x=torch.stack(feats, dim=1).float(),
            coords=torch.stack([cols[c] for c in self.coords], dim=1).float(),
            y=torch.where(has_particle[:, None], y, torch.zeros_like(y)),
            target_mask=has_particle,
            helix_y=torch.where(has_particle[:, None], frame_y, 0.0).float(),
            pt=pt.float(),
            **{k: event[k] for k in _PASSTHROUGH},
            num_nodes=len(pid),
        )


#: What the hit view passes through from the event, for scoring and for writing it back as TrackML.
_PASSTHROUGH = (*HIT_ARRAYS, "event_id", "b_field")
