"""HEPT backbone: a pre-norm transformer whose attention uses the coordinate-augmented RBF kernel."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from src.attention.kernel import CoordinateKernel, check_periodic, embed_coords, embedded_dim


class KernelAttentionBlock(nn.Module):
    """Pre-norm transformer block: x + Attn(LN x), then x + FFN(LN x).

    Queries and keys are scaled by head_dim^(-1/4) (so q·k carries the usual 1/√d) and augmented with the
    learnable per-head coordinate weights of a :class:`CoordinateKernel` before the attention backend.
    """

    def __init__(
        self,
        h_dim: int,
        num_heads: int,
        head_dim: int,
        coords_dim: int,
        attention: nn.Module,
        *,
        periodic: Sequence[bool],
        dropout: float = 0.0,
        ffn_mult: int = 2,
    ) -> None:
        super().__init__()
        self.num_heads, self.head_dim = num_heads, head_dim
        self.norm1 = nn.LayerNorm(h_dim)
        self.qkv = nn.Linear(h_dim, 3 * num_heads * head_dim, bias=False)
        self.kernel = CoordinateKernel(num_heads, coords_dim, periodic)
        self.attention = attention
        self.proj = nn.Linear(num_heads * head_dim, h_dim)
        self.norm2 = nn.LayerNorm(h_dim)
        hidden = ffn_mult * h_dim
        self.ffn = nn.Sequential(
            nn.Linear(h_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, h_dim)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, coords: Tensor, batch: Tensor) -> Tensor:
        """Update object embeddings x [N, h_dim] given coordinates [N, C] and event index [N]."""
        qkv = self.qkv(self.norm1(x)).view(x.shape[0], 3, self.num_heads, self.head_dim)
        q, k, v = qkv.unbind(dim=1)
        scale = self.head_dim**-0.25
        q_hat, k_hat = self.kernel(q * scale, k * scale, coords)
        attended = self.attention(q_hat, k_hat, v, coords, batch)  # [N, H, head_dim]
        x = x + self.dropout(self.proj(attended.flatten(1)))
        return x + self.dropout(self.ffn(self.norm2(x)))


class HEPT(nn.Module):
    """Transformer backbone over the objects of each event, with swappable kernel attention.

    Args:
        in_dim: object feature width F.
        coords_dim: coordinate width C (e.g. 2 for η, φ).
        attention: factory of an attention backend (e.g. a Hydra ``_partial_`` of ``HEPTAttention``),
            called once per layer as ``attention(periodic=...)``; the module maps
            (q̂, k̂, v, coords, batch) to [N, H, head_dim].
        h_dim: embedding width.
        num_heads: attention heads per layer.
        n_layers: transformer blocks.
        out_dim: width of the returned object embeddings.
        periodic: per-coordinate flag, True for an angle in radians (φ); ``None``: none is periodic.
        dropout: dropout rate on the residual branches.
        head_dim: width per head; ``None`` uses h_dim (the paper's 8 heads of 24).
        ffn_mult: feed-forward hidden width as a multiple of h_dim.
    """

    def __init__(
        self,
        in_dim: int,
        coords_dim: int,
        attention: Callable[..., nn.Module],
        *,
        h_dim: int = 24,
        num_heads: int = 8,
        n_layers: int = 4,
        out_dim: int = 24,
        periodic: Sequence[bool] | None = None,
        dropout: float = 0.0,
        head_dim: int | None = None,
        ffn_mult: int = 2,
    ) -> None:
        super().__init__()
        sizes = {"in_dim": in_dim, "coords_dim": coords_dim, "h_dim": h_dim, "num_heads": num_heads}
        sizes |= {"n_layers": n_layers, "out_dim": out_dim, "ffn_mult": ffn_mult}
        if min(sizes.values()) < 1 or (head_dim is not None and head_dim < 1):
            raise ValueError(f"sizes must be >= 1, got {sizes}, head_dim={head_dim}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.periodic = check_periodic(periodic, coords_dim)
        self.out_dim = out_dim
        self.encoder = nn.Sequential(
            nn.Linear(in_dim + embedded_dim(self.periodic), h_dim), nn.ReLU(), nn.Linear(h_dim, h_dim)
        )
        self.blocks = nn.ModuleList(
            KernelAttentionBlock(
                h_dim,
                num_heads,
                head_dim or h_dim,
                coords_dim,
                attention(periodic=self.periodic),
                periodic=self.periodic,
                dropout=dropout,
                ffn_mult=ffn_mult,
            )
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(h_dim)
        self.out = nn.Linear(h_dim, out_dim)

    def forward(self, x: Tensor, coords: Tensor, batch: Tensor) -> Tensor:
        """Embed objects: features x [N, F], coordinates [N, C], event index batch [N] -> [N, out_dim]."""
        h = self.encoder(torch.cat([x, embed_coords(coords, self.periodic).to(x.dtype)], dim=-1))
        for block in self.blocks:
            h = block(h, coords, batch)
        return self.out(self.norm(h))
