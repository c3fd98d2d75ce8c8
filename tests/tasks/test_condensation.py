"""The object-condensation loss against a small case computed by hand (two events, two objects and a noise
token), its gradients, and the property weights."""

from __future__ import annotations

import math

import pytest
import torch

from src.tasks.condensation import condensation_loss, condensation_points, property_weights


def _case():
    # Event 0: object 7 = tokens 0 and 1, object 3 = token 2, token 3 is noise. Event 1: object 7 = token 4
    # (same id as in event 0: ids are per event). artanh(beta) = 2, 1, 1, 0.5, 1 so q = 4.5, 1.5, 1.5,
    # 0.75, 1.5 with q_min = 0.5.
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.5], [0.0, -0.75], [5.0, 5.0]], requires_grad=True)
    beta = torch.tanh(torch.tensor([2.0, 1.0, 1.0, 0.5, 1.0])).requires_grad_()
    object_id = torch.tensor([7, 7, 3, -1, 7])
    batch = torch.tensor([0, 0, 0, 0, 1])
    return x, beta, object_id, batch


def test_loss_matches_the_hand_computed_case():
    x, beta, object_id, batch = _case()
    loss = condensation_loss(x, beta, object_id, batch, q_min=0.5, noise_weight=1.0)
    # Event 0, condensation points: token 0 (object 7, q 4.5) and token 2 (object 3, q 1.5).
    #   token 0: repelled by token 2 at d 0.5: 4.5 * 1.5 * (1 - 0.5)        = 3.375
    #   token 1: attracted to token 0 at d 1:   1.5 * 4.5 * 1^2              = 6.75
    #   token 2: repelled by token 0 at d 0.5:  1.5 * 4.5 * (1 - 0.5)        = 3.375
    #   noise 3: repelled by token 0 at d 0.75: 0.75 * 4.5 * (1 - 0.75)      = 0.84375
    #   (every other pair is at d >= 1: no repulsion)           L_V = 14.34375 / 4 tokens
    # Event 1: one token, its own condensation point: L_V = 0.
    expected_v = (14.34375 / 4 + 0.0) / 2
    # L_beta: event 0: mean over objects of (1 - beta_alpha) + mean beta of the noise; event 1: 1 - tanh 1.
    event0 = ((1 - math.tanh(2)) + (1 - math.tanh(1))) / 2 + math.tanh(0.5)
    event1 = 1 - math.tanh(1)
    assert loss["potential"].item() == pytest.approx(expected_v, rel=1e-6)
    assert loss["beta"].item() == pytest.approx((event0 + event1) / 2, rel=1e-6)
    (loss["potential"] + loss["beta"]).backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(beta.grad).all()
    # the attraction pulls token 1 towards token 0 (gradient along +x), the noise token is pushed away
    assert x.grad[1, 0] > 0 and x.grad[3, 1] > 0


def test_noise_weight_and_empty_cases():
    x, beta, object_id, batch = _case()
    no_noise_term = condensation_loss(x, beta, object_id, batch, q_min=0.5, noise_weight=0.0)
    event0 = ((1 - math.tanh(2)) + (1 - math.tanh(1))) / 2
    assert no_noise_term["beta"].item() == pytest.approx((event0 + 1 - math.tanh(1)) / 2, rel=1e-6)
    # an event of noise only: no potential, beta term = s_B * mean beta
    only_noise = condensation_loss(
        x[:1], torch.tensor([0.25]), torch.tensor([-1]), torch.tensor([0]), q_min=0.5, noise_weight=2.0
    )
    assert only_noise["potential"].item() == 0.0
    assert only_noise["beta"].item() == pytest.approx(0.5)


def test_condensation_points_and_property_weights():
    q = torch.tensor([1.0, 3.0, 3.0, 2.0])
    member = torch.tensor([0, 0, 1, 1])
    assert condensation_points(q, member, 2).tolist() == [1, 2]
    _, beta, object_id, _ = _case()
    weights = property_weights(beta, object_id)
    assert weights.tolist() == pytest.approx([4.0, 1.0, 1.0, 0.0, 1.0], rel=1e-5)
    assert not weights.requires_grad
