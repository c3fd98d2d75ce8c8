"""MLPF-style transformer (jpata/particleflow, model card mlpf-clic-clusters-v1.9.0): PF elements of an
event → two per-element embeddings, one for identification and one for regression.

Each element type (column 0 of ``x``: 1 = track, 2 = cluster, up to ``inputs.object_types``) has its own
input encoders (one per stream: a feed-forward block Linear → ReLU → LayerNorm → Linear). Each stream is a
stack of ``n_layers`` pre-LayerNorm self-attention + feed-forward layers
(:class:`src.models.transformer_regressor.EncoderLayer` with ``norm_first``) and a final LayerNorm. The
attention inside them is the swappable backend (``attention=full|hept|window``), always per event. The
output is the two embeddings side by side, [N, 2·width] with ``out_splits = (width, width)``: the task's
identification heads read the first half, its regression heads the second.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from src.attention import AttentionBackend, build_attention
from src.attention.kernel import check_periodic
from src.event_model import InputSpec
from src.models.transformer_regressor import EncoderLayer


def ffn(in_dim: int, out_dim: int, hidden: int, dropout: float = 0.0) -> nn.Sequential:
    """MLPF's feed-forward block: Linear → ReLU → LayerNorm → Dropout → Linear."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden),
        nn.ReLU(),
        nn.LayerNorm(hidden),
        nn.Dropout(dropout),
        nn.Linear(hidden, out_dim),
    )


def object_type(x: Tensor, object_types: int) -> Tensor:
    """Type of each object, 0-based, from column 0 of ``x`` (1..object_types); all 0 for one type."""
    if object_types == 1:
        return torch.zeros(len(x), dtype=torch.long, device=x.device)
    return x[:, 0].round().long().clamp(1, object_types) - 1


class TypedEncoder(nn.Module):
    """One feed-forward encoder per object type, each applied to the objects of its type."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, object_types: int, dropout: float) -> None:
        super().__init__()
        self.out_dim = out_dim
        self.encoders = nn.ModuleList(ffn(in_dim, out_dim, hidden, dropout) for _ in range(object_types))

    def forward(self, x: Tensor, types: Tensor) -> Tensor:
        """Embeddings [N, out_dim] of objects x [N, F] of types [N]."""
        out = x.new_zeros(len(x), self.out_dim)
        for t, encoder in enumerate(self.encoders):
            mask = types == t
            if mask.any():
                out[mask] = encoder(x[mask]).to(out.dtype)
        return out


class MLPF(nn.Module):
    """Per-type input encoders and two pre-LN self-attention stacks (identification, regression).

    Args:
        inputs: what the view gives; ``object_types`` element types, type in column 0 of ``x``.
        attention: factory of the attention backend, one per layer (:func:`src.attention.build_attention`).
        num_heads: attention heads; the width of both streams is ``num_heads · head_dim``.
        head_dim: width per head.
        n_layers: layers per stack.
        dim_feedforward: hidden width of the feed-forward block of each layer.
        encoder_hidden: hidden width of the input encoders.
        dropout: dropout in the encoders and on the layers' residual branches.
        coord_kernel: augment queries and keys with the elements' coordinates (η, φ), as HEPT does, so
            attention can start local (a learned width per head); off: MLPF's plain attention.
    """

    def __init__(
        self,
        inputs: InputSpec,
        *,
        attention: Callable[..., AttentionBackend],
        num_heads: int = 4,
        head_dim: int = 16,
        n_layers: int = 2,
        dim_feedforward: int = 64,
        encoder_hidden: int = 64,
        dropout: float = 0.0,
        coord_kernel: bool = True,
    ) -> None:
        super().__init__()
        sizes = {"num_heads": num_heads, "head_dim": head_dim, "n_layers": n_layers}
        sizes |= {"dim_feedforward": dim_feedforward, "encoder_hidden": encoder_hidden}
        if min(sizes.values()) < 1 or inputs.object_types < 1:
            raise ValueError(
                f"model sizes and inputs.object_types must be >= 1, got {sizes}, {inputs.object_types}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        width = num_heads * head_dim
        self.object_types = inputs.object_types
        periodic = check_periodic(inputs.periodic, inputs.coords_dim)
        self.encode = nn.ModuleDict(
            {
                stream: TypedEncoder(inputs.num_features, width, encoder_hidden, inputs.object_types, dropout)
                for stream in ("id", "reg")
            }
        )

        def layer() -> EncoderLayer:
            return EncoderLayer(
                width,
                num_heads,
                dim_feedforward,
                build_attention(attention, periodic),
                coords_dim=inputs.coords_dim,
                periodic=periodic,
                coord_kernel=coord_kernel,
                links=None,
                dropout=dropout,
                norm_first=True,
            )

        self.stacks = nn.ModuleDict(
            {s: nn.ModuleList(layer() for _ in range(n_layers)) for s in ("id", "reg")}
        )
        self.norms = nn.ModuleDict({s: nn.LayerNorm(width) for s in ("id", "reg")})
        self.out_splits = (width, width)
        self.out_dim = 2 * width

    def forward(self, x: Tensor, coords: Tensor, batch: Tensor) -> Tensor:
        """Elements x [N, F] (type in column 0), coordinates [N, C], event index [N] → [N, 2·width]
        (identification embedding, then regression embedding)."""
        types = object_type(x, self.object_types)
        out = []
        for stream in ("id", "reg"):
            h = self.encode[stream](x, types)
            for layer in self.stacks[stream]:
                h = layer(h, coords, batch)
            out.append(self.norms[stream](h))
        return torch.cat(out, dim=1)
