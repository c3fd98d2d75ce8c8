"""Asserts the losses of the tasks on hand-computed and degenerate cases: InfoNCE (tracking), the α focal
loss and the margin contrastive loss (linking), the multi-class focal loss of particle flow against the
cross-entropy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn.functional import cross_entropy

from src.tasks.losses import alpha_focal_loss, contrastive_loss, info_nce_loss, multiclass_focal_loss


def test_info_nce_hand_computed() -> None:
    emb = torch.tensor([[0.0], [1.0], [2.0]])
    pairs = torch.tensor([[0, 0], [1, 2]])
    positive = torch.tensor([True, False])
    sigma, tau = 0.75, 0.05
    s_pos, s_neg = math.exp(-1 / (2 * sigma**2)), math.exp(-2 / (2 * sigma**2))
    expected = -math.log(math.exp(s_pos / tau) / (math.exp(s_pos / tau) + math.exp(s_neg / tau)))
    assert float(info_nce_loss(emb, pairs, positive, sigma=sigma, tau=tau)) == pytest.approx(
        expected, rel=1e-5
    )


def test_info_nce_pulls_positives_and_pushes_negatives() -> None:
    emb = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.2]], requires_grad=True)
    pairs = torch.tensor([[0, 0, 1, 2], [1, 2, 0, 0]])
    positive = torch.tensor([True, False, True, False])
    info_nce_loss(emb, pairs, positive).backward()
    stepped = emb.detach() - 0.01 * emb.grad
    before, after = torch.cdist(emb.detach(), emb.detach()), torch.cdist(stepped, stepped)
    assert after[0, 1] < before[0, 1]  # same track: closer
    assert after[0, 2] > before[0, 2]  # other track: further


def test_info_nce_perfect_embedding_scores_lower() -> None:
    rng = np.random.default_rng(0)
    pid = torch.from_numpy(np.repeat(np.arange(20), 5))
    pairs = torch.combinations(torch.arange(100), 2).T
    pairs = torch.cat([pairs, pairs.flip(0)], dim=1)
    positive = pid[pairs[0]] == pid[pairs[1]]
    perfect = torch.from_numpy(rng.normal(scale=10.0, size=(20, 24))).float()[pid]
    random = torch.from_numpy(rng.normal(size=(100, 24))).float()
    assert info_nce_loss(perfect, pairs, positive) < 0.1 * info_nce_loss(random, pairs, positive)


def test_info_nce_degenerate_inputs() -> None:
    emb = torch.zeros(3, 4, requires_grad=True)  # coincident points: distance 0
    pairs = torch.tensor([[0, 1], [1, 2]])
    loss = info_nce_loss(emb, pairs, torch.tensor([True, True]))
    loss.backward()
    assert torch.isfinite(emb.grad).all()
    none = info_nce_loss(emb, pairs, torch.tensor([False, False]))
    assert float(none.detach()) == 0.0 and none.requires_grad


def test_alpha_focal_loss_hand_computed() -> None:
    logits = torch.tensor([0.0, 2.0])
    targets = torch.tensor([1.0, 0.0])
    weight = torch.tensor([1.0, 3.0])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = torch.exp(-bce)
    expect = (1.0 * 0.75 * (1 - p_t[0]) ** 2 * bce[0] + 3.0 * 0.25 * (1 - p_t[1]) ** 2 * bce[1]) / 4.0
    got = alpha_focal_loss(logits, targets, gamma=2.0, alpha=0.75, weight=weight)
    assert torch.allclose(got, expect)
    # gamma 0, alpha 0.5, no weights: half the BCE
    half = alpha_focal_loss(logits, targets, gamma=0.0, alpha=0.5)
    assert torch.allclose(half, 0.5 * bce.mean())
    assert alpha_focal_loss(torch.zeros(0), torch.zeros(0)).item() == 0.0


def test_contrastive_loss_hand_computed() -> None:
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b = torch.tensor([[2.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    dissimilar = torch.tensor([0.0, 1.0, 1.0])
    # distances after normalising: 0, sqrt(2), 2; margin 2: 0 + (2 - sqrt 2)^2 + 0
    got = contrastive_loss(a, b, dissimilar, margin=2.0)
    assert torch.allclose(got, torch.tensor((2 - 2**0.5) ** 2 / 3))


def test_multiclass_focal_loss_is_cross_entropy_at_gamma_zero_and_down_weights_easy_objects() -> None:
    logits = torch.tensor([[4.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, -3.0]])
    target = torch.tensor([0, 1, 2])
    ce = cross_entropy(logits, target, reduction="none")
    torch.testing.assert_close(multiclass_focal_loss(logits, target, gamma=0.0), ce)
    focal = multiclass_focal_loss(logits, target, gamma=2.0)
    p = torch.softmax(logits, -1)[torch.arange(3), target]
    torch.testing.assert_close(focal, (1 - p) ** 2 * ce)
    assert focal[0] / ce[0] < focal[2] / ce[2]  # the easy object loses most of its weight
