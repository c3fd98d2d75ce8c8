"""Object condensation (Kieseler 2020, arXiv:2002.03605): a clustering space and a condensation score β per
token, trained so that the tokens of each object gather around its condensation point and away from every
other object's, with no maximum number of objects.

Per token i: charge q_i = artanh²(β_i) + q_min. Per object k (the tokens sharing a truth id in one event):
its condensation point α_k = the token of k with the largest q. Potentials, with M_ik = 1 when i belongs to
k and d_ik = ‖x_i − x_αk‖: attractive q_αk·d_ik² (M_ik = 1), repulsive q_αk·max(0, 1 − d_ik) (M_ik = 0).

* ``potential`` L_V = (1/N) Σ_i q_i Σ_k [M_ik·attractive + (1 − M_ik)·repulsive] (noise tokens are only
  repelled);
* ``beta`` L_β = (1/K) Σ_k (1 − β_αk) + s_B·(1/N_B) Σ_{noise i} β_i.

Both are computed per event (N tokens, K objects, N_B noise tokens of that event; a term with an empty sum
is 0) and averaged over the events of the batch. Pairs (token, object) are formed only within an event,
vectorised over the whole batch (Σ_e N_e·K_e pairs). :func:`property_weights` gives the paper's weights
ξ_i = artanh²(β_i) of the per-token property losses (0 for noise), detached here so that β learns only from
the clustering terms.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _artanh_sq(beta: Tensor, eps: float) -> Tensor:
    return torch.atanh(beta.clamp(0.0, 1.0 - eps)) ** 2


def condensation_points(q: Tensor, member: Tensor, n_objects: int) -> Tensor:
    """Index of the token with the largest ``q`` of each object (ties: the first) given each member
    token's object index ``member`` (only tokens that belong to an object)."""
    idx = torch.arange(len(q), device=q.device)
    best = torch.full((n_objects,), -float("inf"), dtype=q.dtype, device=q.device)
    best = best.scatter_reduce(0, member, q.detach(), reduce="amax", include_self=True)
    is_best = q.detach() == best[member]
    alpha = torch.full((n_objects,), len(q), dtype=torch.long, device=q.device)
    return alpha.scatter_reduce(0, member[is_best], idx[is_best], reduce="amin", include_self=True)


def condensation_loss(
    x: Tensor,
    beta: Tensor,
    object_id: Tensor,
    batch: Tensor,
    *,
    q_min: float = 0.1,
    noise_weight: float = 1.0,
    weight: Tensor | None = None,
    eps: float = 1e-4,
) -> dict[str, Tensor]:
    """``potential`` and ``beta`` losses (see the module docstring) of tokens with clustering coordinates
    x [N, D], scores β [N] in (0, 1), truth ids ``object_id`` [N] (−1: noise; ids need only be unique
    within an event) and event index ``batch`` [N]. ``weight`` [N] scales each token's potential term
    (e.g. by its energy, normalised to a mean of 1 per event); None: 1."""
    device = x.device
    n_events = int(batch.max()) + 1 if len(batch) else 0
    zero = x.sum() * 0.0 + beta.sum() * 0.0
    if n_events == 0:
        return {"potential": zero, "beta": zero}
    q = _artanh_sq(beta, eps) + q_min
    valid = object_id >= 0
    tok = torch.nonzero(valid).squeeze(1)
    keys, member = torch.unique(torch.stack([batch[tok], object_id[tok]]), dim=1, return_inverse=True)
    n_objects = keys.shape[1]
    obj_event = keys[0]  # sorted by event, then id
    n_tokens = torch.bincount(batch, minlength=n_events)
    n_obj = torch.bincount(obj_event, minlength=n_events)
    loss_v = torch.zeros(n_events, dtype=x.dtype, device=device)
    beta_obj = torch.zeros(n_events, dtype=x.dtype, device=device)
    if n_objects:
        alpha = condensation_points(q[tok], member, n_objects)
        alpha = tok[alpha]
        # every (token i, object k) pair of the same event
        per_token = n_obj[batch]
        i = torch.repeat_interleave(torch.arange(len(x), device=device), per_token)
        first_obj = torch.cumsum(n_obj, 0) - n_obj
        start = torch.cumsum(per_token, 0) - per_token
        k = first_obj[batch[i]] + torch.arange(len(i), device=device) - start[i]
        token_object = torch.full((len(x),), -1, dtype=torch.long, device=device)
        token_object[tok] = member
        dist_sq = ((x[i] - x[alpha[k]]) ** 2).sum(-1)
        same = token_object[i] == k
        attract = dist_sq
        repel = torch.relu(1.0 - torch.sqrt(dist_sq + 1e-12))
        potential = q[i] * q[alpha[k]] * torch.where(same, attract, repel)
        if weight is not None:
            potential = potential * weight[i]
        loss_v = loss_v.index_add(0, batch[i], potential)
        beta_obj = beta_obj.index_add(0, obj_event, 1.0 - beta[alpha])
    loss_v = loss_v / n_tokens.clamp_min(1)
    noise = ~valid
    n_noise = torch.bincount(batch[noise], minlength=n_events)
    beta_noise = torch.zeros(n_events, dtype=x.dtype, device=device).index_add(0, batch[noise], beta[noise])
    loss_b = beta_obj / n_obj.clamp_min(1) + noise_weight * beta_noise / n_noise.clamp_min(1)
    return {"potential": loss_v.mean() + zero, "beta": loss_b.mean() + zero}


def property_weights(beta: Tensor, object_id: Tensor, *, eps: float = 1e-4) -> Tensor:
    """ξ_i = artanh²(β_i) for tokens of an object, 0 for noise (detached)."""
    return torch.where(object_id >= 0, _artanh_sq(beta.detach(), eps), 0.0)
