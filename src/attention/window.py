"""Sliding-window attention along a sorted coordinate (φ by default), per event.

The objects of each event are sorted by one coordinate (``sort_dim``; by default the first periodic one,
φ) and every query attends the ``2 · window + 1`` keys around its own position in that order, itself
included. For a periodic coordinate the order is a ring, so the window wraps at ±π: the hits just below
+π see those just above −π. An event with at most ``2 · window + 1`` objects is attended in full, each key
once. Windows never leave their event, so batching events changes nothing. Cost is linear in N.

The attention weight is the same RBF kernel as the other backends, exp(−½‖q̂_i − k̂_j‖²) normalised over
the window (:func:`src.attention.kernel.rbf_as_dot_product`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from src.attention.kernel import check_periodic, rbf_as_dot_product, sink_logits

_MASKED = -1e30


class WindowAttention(nn.Module):
    """Attention within a sliding window of the objects of each event sorted along one coordinate.

    Args:
        window: keys on each side of the query in the sorted order (the window holds 2·window + 1).
        sort_dim: coordinate column to sort by; ``None`` takes the first periodic one (φ), else column 0.
        periodic: per-coordinate periodicity, given by the backbone; a periodic sort coordinate wraps.
        chunk_scores: scores (queries × keys × heads) computed per step, bounding the working memory.
    """

    uses_periodic: ClassVar[bool] = True

    def __init__(
        self,
        window: int = 32,
        sort_dim: int | None = None,
        *,
        periodic: Sequence[bool] | None = None,
        chunk_scores: int = 1 << 22,
    ) -> None:
        super().__init__()
        if window < 0 or chunk_scores < 1 or (sort_dim is not None and sort_dim < 0):
            raise ValueError(
                "need window >= 0, sort_dim >= 0 and chunk_scores >= 1; "
                f"got {window}, {sort_dim}, {chunk_scores}"
            )
        self.window = int(window)
        self.sort_dim = sort_dim
        self.periodic = None if periodic is None else [bool(p) for p in periodic]
        self.chunk_scores = int(chunk_scores)

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``print(module)``."""
        return f"window={self.window}, sort_dim={self.sort_dim}, periodic={self.periodic}"

    def _sort_column(self, coords_dim: int) -> tuple[int, bool]:
        periodic = check_periodic(self.periodic, coords_dim)
        dim = self.sort_dim if self.sort_dim is not None else (periodic.index(True) if any(periodic) else 0)
        if dim >= coords_dim:
            raise ValueError(f"attention.sort_dim={dim} is not a coordinate column (there are {coords_dim})")
        return dim, periodic[dim]

    @torch.no_grad()
    def neighbours(self, coords: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        """Keys of every query: (key index [N, 2·window + 1], validity mask [N, 2·window + 1])."""
        n = coords.shape[0]
        dim, wraps = self._sort_column(coords.shape[1])
        key = coords[:, dim].double()
        if wraps:
            key = torch.remainder(key + math.pi, 2 * math.pi)
        order = torch.argsort(key, stable=True)
        order = order[torch.argsort(batch[order], stable=True)]  # event-major, then along the coordinate
        counts = torch.bincount(batch)
        start = torch.cumsum(counts, 0) - counts
        ev = batch[order]
        size, first = counts[ev][:, None], start[ev][:, None]
        rank = torch.arange(n, device=coords.device)[:, None] - first  # position within the event
        offsets = torch.arange(-self.window, self.window + 1, device=coords.device)[None]
        if wraps:  # a ring: each key once, even when the event is shorter than the window
            lo = torch.clamp((size - 1) // 2, max=self.window)
            hi = torch.clamp(size // 2, max=self.window)
            valid = (offsets >= -lo) & (offsets <= hi)
            pos = torch.remainder(rank + offsets, size)
        else:
            pos = rank + offsets
            valid = (pos >= 0) & (pos < size)
            pos = pos.clamp(min=0).minimum(size - 1)
        keys_sorted = order[first + pos]  # original index of each key, for queries in sorted order
        keys = torch.empty_like(keys_sorted)
        mask = torch.empty_like(valid)
        keys[order], mask[order] = keys_sorted, valid
        return keys, mask

    def forward(
        self,
        q_hat: Tensor,
        k_hat: Tensor,
        v: Tensor,
        coords: Tensor,
        batch: Tensor,
        *,
        sink: Tensor | None = None,
    ) -> Tensor:
        """Attend q̂, k̂ [N, H, D], v [N, H, Dv] within φ windows of each event; returns [N, H, Dv].

        ``sink`` [H]: log-kernel of a null key (value 0) every query sees (``kernel.sink_logits``)."""
        n, heads, dv = v.shape
        if n == 0:
            return v.new_zeros(n, heads, dv)
        if coords.dim() != 2 or coords.shape[0] != n or batch.shape != (n,):
            raise ValueError(f"coords [N, C] and batch [N] must match N={n}")
        keys, valid = self.neighbours(coords, batch)
        dtype = torch.promote_types(q_hat.dtype, torch.float32)
        q, k = rbf_as_dot_product(q_hat.to(dtype), k_hat.to(dtype))
        vv = v.to(dtype)
        width = keys.shape[1]
        step = max(1, self.chunk_scores // (width * heads))
        out = []
        for i in range(0, n, step):
            idx, ok = keys[i : i + step], valid[i : i + step]
            scores = (q[i : i + step, None] * k[idx]).sum(-1)  # [c, K, H]
            scores = scores.masked_fill(~ok[..., None], _MASKED)
            if sink is not None:
                null = sink_logits(q_hat[i : i + step].to(dtype), sink.to(dtype))  # [c, H]
                attn = torch.softmax(torch.cat([scores, null[:, None]], dim=1), dim=1)[:, :-1]
            else:
                attn = torch.softmax(scores, dim=1)
            out.append((attn[..., None] * vv[idx]).sum(1))
        return torch.cat(out).to(v.dtype)
