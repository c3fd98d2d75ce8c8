"""Transformer Regressor backbone (Trackformers): linear embedding → transformer encoder, no positional
encoding; the task puts its linear head on top (per-hit track parameters).

Each encoder layer is the standard one (multi-head self-attention and a ReLU feed-forward block, residual
connections, layer norms before or after), with the attention itself the swappable backend
(``attention=full|hept|window``): q and k are scaled by head_dim^(-1/4) so that q̂·k̂ carries the usual
1/√d, and the backends weigh keys with the RBF kernel exp(−½‖q̂ − k̂‖²), i.e. softmax(q·k/√d) with a
learned per-key bias −½‖k̂‖². With ``coord_kernel`` the queries and keys are also augmented with the
hits' coordinates (as HEPT does); by default they are not, as in the study.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from src.attention import AttentionBackend, build_attention
from src.attention.kernel import CoordinateKernel, check_periodic
from src.event_model import InputSpec


class EncoderLayer(nn.Module):
    """Self-attention + feed-forward with residuals; post-norm (``norm_first=False``, the PyTorch default
    of ``nn.TransformerEncoderLayer``) or pre-norm."""

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dim_feedforward: int,
        attention: nn.Module,
        *,
        coords_dim: int,
        periodic: Sequence[bool],
        coord_kernel: bool,
        links: Sequence[Sequence[int]] | None,
        dropout: float,
        norm_first: bool,
    ) -> None:
        super().__init__()
        self.num_heads, self.head_dim = num_heads, d_model // num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.kernel = CoordinateKernel(num_heads, coords_dim, periodic, links=links) if coord_kernel else None
        self.attention = attention
        self.proj = nn.Linear(d_model, d_model)
        self.ffn = nn.Sequential(
            nn.Linear(d_model, dim_feedforward),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(dim_feedforward, d_model),
        )
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.norm_first = norm_first

    def _attend(self, h: Tensor, coords: Tensor, batch: Tensor) -> Tensor:
        q, k, v = self.qkv(h).view(h.shape[0], 3, self.num_heads, self.head_dim).unbind(dim=1)
        scale = self.head_dim**-0.25
        q, k = q * scale, k * scale
        if self.kernel is not None:
            q, k = self.kernel(q, k, coords)
        return self.dropout1(self.proj(self.attention(q, k, v, coords, batch).flatten(1)))

    def forward(self, h: Tensor, coords: Tensor, batch: Tensor) -> Tensor:
        """Update hit embeddings h [N, d_model] (coordinates [N, C], event index [N])."""
        if self.norm_first:
            h = h + self._attend(self.norm1(h), coords, batch)
            return h + self.dropout2(self.ffn(self.norm2(h)))
        h = self.norm1(h + self._attend(h, coords, batch))
        return self.norm2(h + self.dropout2(self.ffn(h)))


class TransformerRegressor(nn.Module):
    """Encoder-only transformer over the hits of each event; returns per-hit embeddings [N, d_model].

    Args:
        inputs: what the view gives (feature and coordinate widths, periodicity, link columns).
        attention: factory of the attention backend, built once per layer by
            :func:`src.attention.build_attention`.
        d_model: embedding width (the study's small model: 32).
        num_heads: attention heads (4); d_model must be a multiple.
        n_layers: encoder layers (the study: 6; ``model=transformer``: 4).
        dim_feedforward: hidden width of the feed-forward blocks (128).
        dropout: dropout on the residual branches and inside the feed-forward blocks.
        norm_first: pre-norm layers (and a final LayerNorm) instead of PyTorch's default post-norm (required:
            ``model=transformer_regressor`` is post-norm, ``model=transformer`` pre-norm).
        coord_kernel: augment queries and keys with the coordinates (HEPT's kernel); off in the study, on in
            ``model=transformer`` (required for the same reason).
    """

    def __init__(
        self,
        inputs: InputSpec,
        *,
        attention: Callable[..., AttentionBackend],
        d_model: int = 32,
        num_heads: int = 4,
        n_layers: int,
        dim_feedforward: int = 128,
        dropout: float = 0.0,
        norm_first: bool,
        coord_kernel: bool,
    ) -> None:
        super().__init__()
        in_dim, coords_dim, periodic, links = (
            inputs.num_features,
            inputs.coords_dim,
            inputs.periodic,
            inputs.links,
        )
        sizes = {"in_dim": in_dim, "coords_dim": coords_dim, "d_model": d_model, "num_heads": num_heads}
        sizes |= {"n_layers": n_layers, "dim_feedforward": dim_feedforward}
        if min(sizes.values()) < 1 or d_model % num_heads:
            raise ValueError(f"sizes must be >= 1 and d_model a multiple of num_heads, got {sizes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.periodic = check_periodic(periodic, coords_dim)
        self.out_dim = d_model
        self.embed = nn.Linear(in_dim, d_model)
        self.layers = nn.ModuleList(
            EncoderLayer(
                d_model,
                num_heads,
                dim_feedforward,
                build_attention(attention, self.periodic),
                coords_dim=coords_dim,
                periodic=self.periodic,
                coord_kernel=coord_kernel,
                links=links,
                dropout=dropout,
                norm_first=norm_first,
            )
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()

    def forward(self, x: Tensor, coords: Tensor, batch: Tensor) -> Tensor:
        """Hit features x [N, F], coordinates [N, C], event index batch [N] -> embeddings [N, d_model]."""
        h = self.embed(x)
        for layer in self.layers:
            h = layer(h, coords, batch)
        return self.norm(h)
