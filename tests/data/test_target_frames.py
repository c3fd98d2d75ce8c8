"""Asserts the target frames of track regression: the plain frame is the identity, a zero output predicts
the hit's own direction in the hit and helix frames, the helix frame given a track's true curvature and
z0 (as helix_truth gives them from q/pT, vertex and field) recovers its direction at the vertex and its
charge from any of its points, and both frames turn with the event."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from src.data.views import frame_outputs, from_frame, helix_truth
from src.sim.tracker.config import PARTICLE_DTYPE
from src.sim.tracker.helix import make_helices

NAMES = ["theta", "sin_phi", "cos_phi", "q"]


def _helix_points(b_field: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points (mm) along helices of both charges from (0, 0, vz), the per-point (z0 / 100 mm, κ per metre)
    of their track, and the true (θ, sin φ, cos φ, q) at the vertex."""
    p = np.zeros(4, dtype=PARTICLE_DTYPE)
    p["px"], p["py"], p["pz"] = [0.6, -1.5, 3.0, 0.35], [0.8, 0.4, -2.0, -0.2], [0.5, -2.0, 1.0, 0.1]
    p["q"], p["vz"] = [1, -1, 1, -1], [2.0, -3.0, 0.0, 4.0]  # cm
    hx = make_helices(p, b_field, 1.0)
    rows = np.repeat(np.arange(4), 5)
    s = np.tile(np.linspace(3.0, 60.0, 5), 4)  # cm of transverse path
    pos = np.stack(hx.at(rows, s), axis=1) * 10.0
    kappa = hx.h / (2.0 * hx.radius) * 100.0  # per metre (radius in cm)
    out = np.stack([p["vz"][rows] / 10.0, kappa[rows]], axis=1)
    pt = np.hypot(p["px"], p["py"])[rows]
    phi0 = np.arctan2(p["py"], p["px"])[rows]
    true = np.stack([np.arctan2(pt, p["pz"][rows]), np.sin(phi0), np.cos(phi0), p["q"][rows]], axis=1)
    truth = helix_truth(
        torch.tensor(p["vz"][rows] * 10.0),
        torch.tensor(p["q"][rows] / pt),
        torch.full((len(rows),), b_field, dtype=torch.float64),
    )
    np.testing.assert_allclose(truth.numpy(), out, rtol=1e-9)
    return pos, out, true


def test_helix_frame_recovers_the_vertex_direction_and_charge_from_any_point() -> None:
    pos, out, true = _helix_points()
    got = from_frame("helix", torch.tensor(out), torch.tensor(pos), NAMES)
    np.testing.assert_allclose(got.numpy(), true, atol=1e-9)
    assert frame_outputs("helix", NAMES) == 2 and frame_outputs("hit", NAMES) == 4
    assert frame_outputs("helix", [*NAMES, "q_over_pt"]) == 3


@pytest.mark.parametrize("frame", ["hit", "helix"])
def test_zero_output_is_the_hits_direction_and_turns_with_the_event(frame: str) -> None:
    gen = torch.Generator().manual_seed(0)
    pos = torch.randn(50, 3, generator=gen, dtype=torch.float64) * torch.tensor([300.0, 300.0, 500.0])
    out = torch.zeros(50, frame_outputs(frame, NAMES), dtype=torch.float64)
    if frame == "hit":
        out[:, NAMES.index("cos_phi")] = 1.0
    got = from_frame(frame, out, pos, NAMES)
    r, phi = torch.hypot(pos[:, 0], pos[:, 1]), torch.atan2(pos[:, 1], pos[:, 0])
    torch.testing.assert_close(got[:, 0], torch.atan2(r, pos[:, 2]))
    torch.testing.assert_close(got[:, 1], torch.sin(phi))
    torch.testing.assert_close(got[:, 2], torch.cos(phi))
    # any output: rotating the hits about the beam by α rotates the predicted direction by α
    out = torch.randn(out.shape, generator=gen, dtype=torch.float64) * 0.3
    alpha = 0.7
    rot = torch.tensor(
        [[math.cos(alpha), -math.sin(alpha), 0.0], [math.sin(alpha), math.cos(alpha), 0.0], [0, 0, 1.0]]
    )
    a, b = from_frame(frame, out, pos, NAMES), from_frame(frame, out, pos @ rot.T.double(), NAMES)
    torch.testing.assert_close(b[:, 0], a[:, 0])
    phi_a, phi_b = torch.atan2(a[:, 1], a[:, 2]), torch.atan2(b[:, 1], b[:, 2])
    torch.testing.assert_close(torch.remainder(phi_b - phi_a, 2 * math.pi), torch.full_like(phi_a, alpha))


def test_plain_frame_is_the_identity_and_helix_needs_its_targets() -> None:
    out = torch.randn(7, 4)
    assert torch.equal(from_frame("plain", out, torch.randn(7, 3), NAMES), out)
    with pytest.raises(ValueError, match="needs the targets"):
        frame_outputs("helix", ["theta", "q"])
    with pytest.raises(ValueError, match="choose one of"):
        frame_outputs("polar", NAMES)
