"""Exact RBF-kernel attention over all pairs of objects of the same event."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from src.attention.kernel import rbf_as_dot_product, sink_logits


def _pad_last(x: Tensor, size: int) -> Tensor:
    return F.pad(x, (0, size - x.shape[-1]))


class FullAttention(nn.Module):
    """Exact attention with the RBF kernel exp(-½‖q̂_i − k̂_j‖²), per event (no cross-event pairs).

    Each event is one ``scaled_dot_product_attention`` call on the q' = [q̂, 1], k' = [k̂, −½‖k̂‖²] form
    (memory-efficient fused kernels where torch has them); queries are processed in chunks so that even
    a fallback that materialises the score matrix stays within ``max_scores`` entries per call.

    Args:
        max_scores: upper bound on heads × queries × keys handled by one SDPA call.

    Exact attention needs no locality, so no periodicity either (the kernel already wraps φ in q̂, k̂).
    """

    uses_periodic: ClassVar[bool] = False

    def __init__(self, max_scores: int = 1 << 28) -> None:
        super().__init__()
        if max_scores < 1:
            raise ValueError(f"max_scores must be >= 1, got {max_scores}")
        self.max_scores = max_scores

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
        """Attend q̂, k̂ [N, H, D], v [N, H, Dv] within each event of ``batch`` [N]; ``coords`` is unused.

        ``sink`` [H]: log-kernel of a null key every query sees (:func:`src.attention.kernel.sink_logits`),
        appended to each event as a key [0, sink, 1] that meets queries [q̂, 1, ½‖q̂‖²].

        Returns:
            [N, H, Dv] attention output, in the dtype of ``v``.
        """
        del coords  # the kernel already lives in q̂, k̂
        dtype = torch.promote_types(q_hat.dtype, torch.float32)
        q, k = rbf_as_dot_product(q_hat.to(dtype), k_hat.to(dtype))
        null_key = None
        if sink is not None:
            q = torch.cat([q, sink_logits(q_hat.to(dtype), torch.zeros((), dtype=dtype))[..., None]], dim=-1)
            k = torch.cat([k, torch.zeros_like(k[..., :1])], dim=-1)
            null_key = torch.zeros(k.shape[1], 1, k.shape[-1], dtype=dtype, device=k.device)  # [H, 1, ·]
            null_key[:, 0, -2], null_key[:, 0, -1] = sink.to(dtype), 1.0
        # fused SDPA kernels want equal, 8-aligned head dims for q/k and v: zero-pad (exact)
        width = -(-max(q.shape[-1], v.shape[-1]) // 8) * 8
        q, k, vv = (_pad_last(t, width).transpose(0, 1) for t in (q, k, v.to(dtype)))  # [H, N, W]
        if null_key is not None:
            null_key = _pad_last(null_key, width)

        order = torch.argsort(batch, stable=True)
        counts = torch.bincount(batch).tolist()
        out = torch.empty_like(vv)
        for idx in torch.split(order, counts):
            if idx.numel():
                kk, vk = k[:, idx], vv[:, idx]
                if null_key is not None:  # the null key's value is 0
                    kk, vk = torch.cat([kk, null_key], dim=1), torch.cat([vk, torch.zeros_like(vk[:, :1])], 1)
                out[:, idx] = self._event(q[:, idx], kk, vk)
        return out[..., : v.shape[-1]].transpose(0, 1).to(v.dtype)

    def _event(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Exact attention of one event, q, k, v [H, n, W] -> [H, n, W]."""
        chunk = max(1, self.max_scores // (q.shape[0] * q.shape[1]))
        parts = [
            F.scaled_dot_product_attention(qc[None], k[None], v[None], scale=1.0)[0]
            for qc in torch.split(q, chunk, dim=1)
        ]
        return torch.cat(parts, dim=1)
