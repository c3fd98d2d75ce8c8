"""Losses for imbalanced binary object classification (e.g. true vs fake line segments at high pileup)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torch.nn.functional import binary_cross_entropy_with_logits

Reduction = Literal["mean", "sum", "none"]


def focal_loss(
    logits: Tensor,
    targets: Tensor,
    *,
    gamma: float = 2.0,
    alpha: float | Tensor | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """Binary focal loss from logits: ``w · (1 − p_t)^γ · BCE(logit, target)`` (Lin et al. 2017).

    ``p_t = exp(−BCE)`` is the predicted probability of the true class, computed from the numerically
    stable ``binary_cross_entropy_with_logits``; ``1 − p_t`` uses ``expm1`` so easy examples keep their
    small weight instead of rounding to 0 too early.

    ``targets`` are 0/1 (bool, int or float). ``alpha`` weighs the positive class *relative to the
    negatives*: ``w = alpha`` for targets 1 and ``w = 1`` for targets 0 (not the paper's ``alpha`` /
    ``1 − alpha`` split). It is a float, or a tensor broadcastable to ``logits`` (e.g. a per-object
    weight from :func:`event_imbalance_alpha`); ``None`` means ``w = 1``. ``gamma = 0`` with
    ``alpha = None`` is exactly the BCE.

    ``reduction="mean"`` is the weighted mean ``Σ w·ℓ / Σ w`` (0 for no objects) so the loss scale does
    not grow with the imbalance; ``"sum"`` is ``Σ w·ℓ`` and ``"none"`` the per-object ``w·ℓ``.
    """
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    targets = targets.to(logits.dtype)
    loss = binary_cross_entropy_with_logits(logits, targets, reduction="none")
    if gamma > 0:
        one_minus_pt = -torch.expm1(-loss)
        # The clamp keeps d/dx x^γ finite at x = 0 for γ < 1 (the clamp's own gradient is 0 there).
        loss = one_minus_pt.clamp_min(torch.finfo(loss.dtype).tiny).pow(gamma) * loss
    weight = torch.ones_like(loss) if alpha is None else torch.where(targets > 0.5, alpha, 1.0).to(loss.dtype)
    loss = weight * loss
    if reduction == "none":
        return loss
    # an empty batch (a tile or event without objects) has loss 0, not 0/0
    return loss.sum() if reduction == "sum" else loss.sum() / weight.sum().clamp_min(1e-12)


def event_imbalance_alpha(targets: Tensor, batch: Tensor, *, multiplier: float = 2.0) -> Tensor:
    """Per-object positive-class weight ``multiplier × #fake / #true`` of the object's own event.

    ``targets`` [N] are 0/1 labels and ``batch`` [N] the event index of each object in a concatenated
    batch (PyG convention; need not be sorted). This is the HEPT-CMS study's "dynamic alpha with 2×
    multiplier", to pass as ``alpha`` to :func:`focal_loss`. Events without any true object get the
    fallback ratio 1 (weight ``multiplier``); the value is irrelevant there, since alpha only weighs
    positives. The result is a detached float tensor [N] on the targets' device.
    """
    dtype = targets.dtype if targets.is_floating_point() else torch.get_default_dtype()
    is_true = (targets > 0.5).to(dtype)
    n_events = int(batch.max()) + 1 if batch.numel() else 0
    n_true = torch.zeros(n_events, dtype=dtype, device=targets.device).index_add_(0, batch, is_true)
    n_all = torch.zeros_like(n_true).index_add_(0, batch, torch.ones_like(is_true))
    ratio = torch.where(n_true > 0, (n_all - n_true) / n_true.clamp_min(1), 1.0)
    return (multiplier * ratio)[batch].detach()


def info_nce_loss(
    embedding: Tensor,
    pairs: Tensor,
    positive: Tensor,
    *,
    sigma: float = 0.75,
    tau: float = 0.05,
    eps: float = 1e-12,
) -> Tensor:
    """InfoNCE over candidate pairs with an RBF similarity of the embedding distance (HEPT-CMS tracking).

    ``pairs`` [2, E] are (source, target) object indices and ``positive`` [E] marks pairs of the same
    track. The similarity is ``s = exp(−‖e_source − e_target‖ / (2σ²))`` (the study's ``l2_rbf``: the
    distance itself, not its square). Each positive pair (i, j) is contrasted with the negative pairs of
    its source i:

        ℓ(i, j) = −log( exp(s_ij/τ) / (exp(s_ij/τ) + Σ_{n : (i, n) negative} exp(s_in/τ)) ),

    and the loss is the mean over positive pairs (0, still attached to the graph, when there are none).
    ``eps`` keeps the gradient of the distance finite for coincident embeddings.
    """
    if sigma <= 0 or tau <= 0:
        raise ValueError(f"sigma and tau must be > 0, got sigma={sigma}, tau={tau}")
    if pairs.ndim != 2 or pairs.shape[0] != 2 or positive.shape != pairs.shape[1:]:
        raise ValueError(
            f"pairs must be [2, E] and positive [E], got {tuple(pairs.shape)}, {tuple(positive.shape)}"
        )
    positive = positive.bool()
    if not bool(positive.any()):
        return embedding.sum() * 0.0
    src, dst = pairs
    dist = (embedding[src] - embedding[dst]).pow(2).sum(-1).add(eps).sqrt()
    logits = torch.exp(-dist / (2 * sigma**2)) / tau  # in (0, 1/τ]
    shift = logits.detach().max()  # exp(logit − shift) <= 1
    neg = torch.zeros(embedding.shape[0], dtype=logits.dtype, device=logits.device)
    neg = neg.index_add(0, src[~positive], torch.exp(logits[~positive] - shift))
    pos_logit = logits[positive] - shift
    # a source without negatives: log(tiny) instead of log(0), whose gradient would be NaN
    log_neg = torch.log(neg[src[positive]].clamp_min(torch.finfo(neg.dtype).tiny))
    denominator = torch.logaddexp(pos_logit, log_neg)
    return (denominator - pos_logit).mean()


def alpha_focal_loss(
    logits: Tensor, targets: Tensor, *, gamma: float = 2.0, alpha: float = 0.5, weight: Tensor | None = None
) -> Tensor:
    """Binary focal loss with the paper's α split (α for positives, 1 − α for negatives) and per-object
    weights: Σ w · α_t · (1 − p_t)^γ · BCE / Σ w (0 for no objects). The TICL linking study's loss, with
    α = 0.5 + (fraction of negative edges) / 2 and w = min(1, max raw energy of the edge's ends / 300 GeV)."""
    if gamma < 0 or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"need gamma >= 0 and alpha in [0, 1], got gamma={gamma}, alpha={alpha}")
    targets = targets.to(logits.dtype)
    bce = binary_cross_entropy_with_logits(logits, targets, reduction="none")
    one_minus_pt = (-torch.expm1(-bce)).clamp_min(torch.finfo(bce.dtype).tiny)
    loss = torch.where(targets > 0.5, alpha, 1.0 - alpha) * one_minus_pt.pow(gamma) * bce
    w = torch.ones_like(loss) if weight is None else weight.detach().to(loss.dtype)
    return (w * loss).sum() / w.sum().clamp_min(1e-12)


def contrastive_loss(anchor: Tensor, other: Tensor, dissimilar: Tensor, *, margin: float = 2.0) -> Tensor:
    """Margin contrastive loss on L2-normalised embeddings [E, D] (distance d ∈ [0, 2]): d² for similar
    pairs, max(0, margin − d)² for ``dissimilar`` ones, averaged (the study's ``ContrastiveLoss``)."""
    d = (torch.nn.functional.normalize(anchor, dim=-1) - torch.nn.functional.normalize(other, dim=-1)).norm(
        dim=-1
    )
    dissimilar = dissimilar.to(d.dtype)
    loss = (1 - dissimilar) * d.pow(2) + dissimilar * (margin - d).clamp_min(0.0).pow(2)
    return loss.mean() if loss.numel() else anchor.sum() * 0.0


def multiclass_focal_loss(logits: Tensor, targets: Tensor, *, gamma: float = 2.0) -> Tensor:
    """Per-object multi-class focal loss ``−(1 − p_t)^γ · log p_t`` from logits [N, C] and class ids [N]
    (``gamma = 0``: the cross-entropy)."""
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    log_p = torch.log_softmax(logits.float(), dim=-1).gather(1, targets.long()[:, None]).squeeze(1)
    return -(-torch.expm1(log_p)).clamp_min(0.0).pow(gamma) * log_p
