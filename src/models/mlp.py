"""Context-free per-object baseline."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from src.attention.kernel import check_periodic, embed_coords, embedded_dim
from src.event_model import InputSpec


class MLP(nn.Module):
    """Per-object MLP on features and coordinates; it sees no other object (``batch`` is ignored).

    Args:
        inputs: what the view gives (feature and coordinate widths, periodicity); the link columns, if
            any, are coordinates like the others to a context-free model.
        hidden_dim: width of the hidden layers.
        n_layers: hidden layers (Linear, LayerNorm, ReLU, Dropout), followed by the output Linear.
        out_dim: width of the returned object embeddings.
        dropout: dropout rate after each hidden layer.
    """

    def __init__(
        self,
        inputs: InputSpec,
        *,
        hidden_dim: int = 256,
        n_layers: int = 5,
        out_dim: int = 24,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        in_dim, coords_dim, periodic = inputs.num_features, inputs.coords_dim, inputs.periodic
        if min(in_dim, coords_dim, hidden_dim, n_layers, out_dim) < 1:
            raise ValueError(f"sizes must be >= 1, got {in_dim, coords_dim, hidden_dim, n_layers, out_dim}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.periodic = check_periodic(periodic, coords_dim)
        self.out_dim = out_dim
        layers: list[nn.Module] = []
        width = in_dim + embedded_dim(self.periodic)
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden_dim), nn.LayerNorm(hidden_dim), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden_dim
        self.net = nn.Sequential(*layers, nn.Linear(width, out_dim))

    def forward(self, x: Tensor, coords: Tensor, batch: Tensor) -> Tensor:
        """Embed objects independently: x [N, F], coords [N, C] -> [N, out_dim]; batch is unused."""
        del batch  # context-free by design
        return self.net(torch.cat([x, embed_coords(coords, self.periodic).to(x.dtype)], dim=-1))
