"""Coordinate-augmented RBF attention kernel shared by every attention backend.

The attention weight between query ``i`` and key ``j`` of one head is the Gaussian kernel

    exp(-½‖q̂_i − k̂_j‖²) = exp(-½‖q_i − k_j‖²) · exp(-½ Σ_c w_c d_c(i, j)²),

with q̂ = [q, √w ⊙ e(c)] and k̂ = [k, √w ⊙ e(c)], learnable non-negative per-head weights ``w`` and the
coordinate embedding ``e``: a plain coordinate is embedded as itself (d = Δc), a periodic one (φ) as
(cos φ, sin φ), so that d² = 2 − 2 cos Δφ ≈ Δφ² is the chord distance, which wraps at ±π.

Normalised over keys, exp(-½‖q̂ − k̂‖²) ∝ exp(q̂·k̂ − ½‖k̂‖²) per query, which is an ordinary softmax over
the dot products of q' = [q̂, 1] and k' = [k̂, −½‖k̂‖²] (see :func:`rbf_as_dot_product`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def check_periodic(periodic: Sequence[bool] | None, coords_dim: int) -> list[bool]:
    """Validate a per-coordinate periodicity spec; ``None`` means no periodic coordinate."""
    if periodic is None:
        return [False] * coords_dim
    spec = [bool(p) for p in periodic]
    if len(spec) != coords_dim:
        raise ValueError(f"periodic has {len(spec)} entries, expected one per coordinate ({coords_dim})")
    return spec


def embed_coords(coords: Tensor, periodic: Sequence[bool]) -> Tensor:
    """Embed coordinates [N, C] as [N, E]: plain ones as is, periodic ones (radians) as (cos, sin)."""
    parts = []
    for c, is_periodic in enumerate(periodic):
        col = coords[:, c : c + 1]
        parts.extend((torch.cos(col), torch.sin(col)) if is_periodic else (col,))
    return torch.cat(parts, dim=-1)


def embedded_dim(periodic: Sequence[bool]) -> int:
    """Width of :func:`embed_coords` output for a periodicity spec."""
    return sum(2 if p else 1 for p in periodic)


def rbf_as_dot_product(q_hat: Tensor, k_hat: Tensor) -> tuple[Tensor, Tensor]:
    """Map augmented q̂, k̂ [..., D] to q' = [q̂, 1], k' = [k̂, −½‖k̂‖²] [..., D+1].

    softmax_j(q'_i · k'_j) with scale 1 equals the RBF-normalised attention exp(-½‖q̂_i − k̂_j‖²) / Σ_j (…).
    """
    ones = torch.ones_like(q_hat[..., :1])
    k_sq = -0.5 * k_hat.square().sum(dim=-1, keepdim=True)
    return torch.cat([q_hat, ones], dim=-1), torch.cat([k_hat, k_sq], dim=-1)


class CoordinateKernel(nn.Module):
    """Learnable per-head coordinate weights that augment queries and keys into q̂, k̂.

    Args:
        num_heads: attention heads H; each head has its own weight per coordinate.
        coords_dim: number of coordinates C.
        periodic: per-coordinate flag, True for an angle in radians (e.g. ``[False, True]`` for η, φ).
        init_weight: (smallest, largest) initial weight; heads are initialised log-spaced in between so
            that they start at different angular scales (kernel width 1/√w).
    """

    def __init__(
        self,
        num_heads: int,
        coords_dim: int,
        periodic: Sequence[bool] | None = None,
        init_weight: tuple[float, float] = (1.0, 64.0),
    ) -> None:
        super().__init__()
        if num_heads < 1 or coords_dim < 1:
            raise ValueError(f"num_heads and coords_dim must be >= 1, got {num_heads}, {coords_dim}")
        lo, hi = init_weight
        if not 0 < lo <= hi:
            raise ValueError(f"init_weight must satisfy 0 < low <= high, got {init_weight}")
        self.periodic = check_periodic(periodic, coords_dim)
        w0 = torch.logspace(math.log10(lo), math.log10(hi), num_heads)
        raw = w0 + torch.log(-torch.expm1(-w0))  # inverse softplus
        self.raw_weight = nn.Parameter(raw[:, None].repeat(1, coords_dim))

    @property
    def weight(self) -> Tensor:
        """Non-negative coordinate weights w [H, C]."""
        return F.softplus(self.raw_weight)

    @property
    def extra_dim(self) -> int:
        """Number of channels appended to each query/key."""
        return embedded_dim(self.periodic)

    def forward(self, q: Tensor, k: Tensor, coords: Tensor) -> tuple[Tensor, Tensor]:
        """Augment q, k [N, H, D] with weighted coordinates [N, C] into q̂, k̂ [N, H, D + E]."""
        emb = embed_coords(coords, self.periodic).to(q.dtype)  # [N, E]
        sqrt_w = self.weight.sqrt().to(q.dtype)  # [H, C]
        reps = torch.tensor([2 if p else 1 for p in self.periodic], device=q.device)
        sqrt_w = sqrt_w.repeat_interleave(reps, dim=1)  # [H, E]
        geo = emb[:, None, :] * sqrt_w[None]  # [N, H, E]
        return torch.cat([q, geo], dim=-1), torch.cat([k, geo], dim=-1)
