"""Coordinate-augmented RBF attention kernel shared by every attention backend.

The attention weight between query ``i`` and key ``j`` of one head is the Gaussian kernel

    exp(-½‖q̂_i − k̂_j‖²) = exp(-½‖q_i − k_j‖²) · exp(-½ Σ_c w_c d_c(i, j)²),

with q̂ = [q, √w ⊙ e(c)] and k̂ = [k, √w ⊙ e(c)], learnable non-negative per-head weights ``w`` and the
coordinate embedding ``e``: a plain coordinate is embedded as itself (d = Δc), a periodic one (φ) as
(cos φ, sin φ), so that d² = 2 − 2 cos Δφ ≈ Δφ² is the chord distance, which wraps at ±π.

Objects with a start and an end point (a line segment's anchor and end mini-doublet) can also have *link
heads*: there the query carries the coordinates of its end and the key those of its start (outward), or
the reverse (inward), so the kernel peaks where one object continues another, as consecutive segments of
a track do. The other heads use the remaining coordinates for both queries and keys. The HEPT backbone
evaluates link heads exactly over the objects that start where the query ends (:mod:`src.attention.links`),
since a kernel this sharp rarely puts a query and its continuation in one LSH block.

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


def sink_logits(q_hat: Tensor, sink: Tensor) -> Tensor:
    """Logit of a null key with kernel value exp(sink) in the dot-product form of the queries q̂ [..., D].

    The dot-product logits are q'·k' = −½‖q̂ − k̂‖² + ½‖q̂‖², so the null key's is sink + ½‖q̂‖². With value
    0, it turns the output into Σ_j K_ij v_j / (exp(sink) + Σ_j K_ij): near 0 where a query finds no key
    close to it, so a head can tell "nothing matches" from "something matches".
    """
    return sink + 0.5 * q_hat.square().sum(dim=-1)


class CoordinateKernel(nn.Module):
    """Learnable per-head coordinate weights that augment queries and keys into q̂, k̂.

    Args:
        num_heads: attention heads H; each head has its own weight per coordinate.
        coords_dim: number of coordinates C.
        periodic: per-coordinate flag, True for an angle in radians (e.g. ``[False, True]`` for η, φ).
        init_weight: (smallest, largest) initial weight; heads are initialised log-spaced in between so
            that they start at different angular scales (kernel width 1/√w).
        links: (start columns, end columns) of objects with two end points, or ``None``; equal lengths and
            periodicity. The other columns are the coordinates of the ordinary heads.
        link_heads: how many of the H heads (the last ones) are link heads, alternately outward (query end,
            key start) and inward (query start, key end); needs ``links``.
        link_weight: (smallest, largest) initial weight of the link heads: sharp, since a continuation
            shares its point exactly.
    """

    def __init__(
        self,
        num_heads: int,
        coords_dim: int,
        periodic: Sequence[bool] | None = None,
        init_weight: tuple[float, float] = (1.0, 64.0),
        *,
        links: Sequence[Sequence[int]] | None = None,
        link_heads: int = 0,
        link_weight: tuple[float, float] = (1e2, 1e4),
    ) -> None:
        super().__init__()
        if num_heads < 1 or coords_dim < 1:
            raise ValueError(f"num_heads and coords_dim must be >= 1, got {num_heads}, {coords_dim}")
        for name, (lo, hi) in (("init_weight", init_weight), ("link_weight", link_weight)):
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must satisfy 0 < low <= high, got {(lo, hi)}")
        self.periodic = check_periodic(periodic, coords_dim)
        if not 0 <= link_heads <= num_heads or (link_heads and links is None):
            raise ValueError(
                f"link_heads must be in [0, num_heads={num_heads}] and needs coordinates with links "
                f"(e.g. task.view.links=true); got link_heads={link_heads}, links={links}"
            )
        start, end = ([int(c) for c in cols] for cols in (links or ((), ())))
        if [self.periodic[c] for c in start] != [self.periodic[c] for c in end]:
            raise ValueError(
                f"links: start {start} and end {end} columns must match in number and periodicity"
            )
        linked = set(start) | set(end)
        plain = [c for c in range(coords_dim) if c not in linked]
        if link_heads < num_heads and not plain:
            raise ValueError("every coordinate is a link column: ordinary heads would have none")
        self.link_heads = link_heads
        # per head: (query columns, key columns); ordinary heads first, then outward/inward link heads
        self.columns = [(plain, plain)] * (num_heads - link_heads) + [
            (end, start) if i % 2 == 0 else (start, end) for i in range(link_heads)
        ]
        n_cols = max(len(cols) for cols, _ in self.columns)
        self._width = max(embedded_dim([self.periodic[c] for c in cols]) for cols, _ in self.columns)
        # embedded channel -> coordinate slot of its head (a periodic coordinate's cos and sin share one
        # weight, so the kernel stays a function of the chord distance); padding channels weigh nothing
        slot = torch.zeros(num_heads, self._width, dtype=torch.long)
        used = torch.zeros(num_heads, self._width)
        for h, (cols, _) in enumerate(self.columns):
            reps = [2 if self.periodic[c] else 1 for c in cols]
            index = torch.repeat_interleave(torch.arange(len(cols)), torch.tensor(reps, dtype=torch.long))
            slot[h, : len(index)], used[h, : len(index)] = index, 1.0
        self.register_buffer("_slot", slot, persistent=False)
        self.register_buffer("_used", used, persistent=False)
        w0 = torch.cat(
            [
                torch.logspace(*(math.log10(w) for w in init_weight), num_heads - link_heads),
                torch.logspace(*(math.log10(w) for w in link_weight), link_heads),
            ]
        )
        raw = w0 + torch.log(-torch.expm1(-w0))  # inverse softplus
        self.raw_weight = nn.Parameter(raw[:, None].repeat(1, n_cols))

    @property
    def weight(self) -> Tensor:
        """Non-negative weights w [H, C_h] of each head's coordinates (its query columns, in order)."""
        return F.softplus(self.raw_weight)

    @property
    def extra_dim(self) -> int:
        """Number of channels appended to each query/key."""
        return self._width

    def _embed(self, coords: Tensor, columns: list[int]) -> Tensor:
        emb = embed_coords(coords[:, columns], [self.periodic[c] for c in columns])
        return F.pad(emb, (0, self._width - emb.shape[-1]))

    def forward(self, q: Tensor, k: Tensor, coords: Tensor) -> tuple[Tensor, Tensor]:
        """Augment q, k [N, H, D] with weighted coordinates [N, C] into q̂, k̂ [N, H, D + E]."""
        cache: dict[tuple[int, ...], Tensor] = {}

        def emb(cols: list[int]) -> Tensor:
            if tuple(cols) not in cache:
                cache[tuple(cols)] = self._embed(coords, cols).to(q.dtype)
            return cache[tuple(cols)]

        # sqrt before the mask: the gradient of sqrt at a padded zero would be infinite
        sqrt_w = (self.weight.sqrt().gather(1, self._slot) * self._used).to(q.dtype)[None]  # [1, H, E]
        geo_q = torch.stack([emb(qc) for qc, _ in self.columns], dim=1) * sqrt_w  # [N, H, E]
        geo_k = torch.stack([emb(kc) for _, kc in self.columns], dim=1) * sqrt_w
        return torch.cat([q, geo_q], dim=-1), torch.cat([k, geo_k], dim=-1)
