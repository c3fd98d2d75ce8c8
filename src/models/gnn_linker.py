"""The EdgeConv GNN of the TICL trackster-linking study, and its global-attention variant ("PUNet").

Nodes (tracksters) and candidate edges are embedded by input networks (Linear, LeakyReLU, Dropout, Linear,
LeakyReLU). Two small networks turn each edge embedding into attention coefficients α ∈ (0, 1), one per
direction. ``niters`` EdgeConv blocks then update every node i with the sum over its neighbours j (both
directions of every candidate edge) of α_ij · MLP([x_i, x_j − x_i]), plus a linear skip connection:
x_i ← ReLU(W x_i + Σ_j α_ij MLP([x_i, x_j − x_i])).

With ``attention_layers`` > 0 (the study's PUNet: 3 pre-norm encoder layers of 8 heads) the node
embeddings first attend to every trackster of their event, through the project's attention backend
(``attention=full|hept|window``), before the EdgeConv blocks.

The backbone returns node embeddings [N, hidden_dim] and edge embeddings [E, edge_hidden_dim]; the linking
task puts the study's edge head on [h_i, h_j, edge embedding, edge features].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from src.attention import AttentionBackend, build_attention
from src.event_model import InputSpec
from src.models.transformer_regressor import EncoderLayer


def _mlp(n_in: int, n_hidden: int, n_out: int, dropout: float) -> nn.Sequential:
    """Linear, LeakyReLU, Dropout, Linear, LeakyReLU (the study's input networks)."""
    return nn.Sequential(
        nn.Linear(n_in, n_hidden),
        nn.LeakyReLU(),
        nn.Dropout(dropout),
        nn.Linear(n_hidden, n_out),
        nn.LeakyReLU(),
    )


class EdgeConvBlock(nn.Module):
    """x_i ← ReLU(W x_i + Σ_j α_ij · MLP([x_i, x_j − x_i])) over directed pairs (i receives from j)."""

    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__()
        self.message = nn.Sequential(
            nn.Linear(2 * dim, 2 * dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim), nn.ReLU()
        )
        self.skip = nn.Linear(dim, dim)

    def forward(self, x: Tensor, receiver: Tensor, sender: Tensor, alpha: Tensor) -> Tensor:
        """Updated node embeddings [N, dim] from x [N, dim], pairs (receiver, sender) [P] and weights [P]."""
        xi = x[receiver]
        m = self.message(torch.cat([xi, x[sender] - xi], dim=1)) * alpha[:, None]
        # scatter_add (not index_add): exports to ONNX as ScatterElements with reduction "add"
        aggregated = torch.zeros_like(x).scatter_add(0, receiver[:, None].expand(-1, x.shape[1]), m)
        return torch.relu(self.skip(x) + aggregated)


class GNNLinker(nn.Module):
    """EdgeConv GNN over tracksters and their candidate links (optionally with global attention first).

    Args:
        inputs: the linking view's description (node features, coordinates, edge feature width).
        niters: EdgeConv blocks (the study: 4).
        hidden_dim: node embedding width (64).
        edge_hidden_dim: edge embedding width (32).
        dropout: dropout of every network (0.3).
        attention_layers: pre-norm encoder layers of global attention before the EdgeConv blocks (0: none,
            ``model=gnn_linker``; the study's PUNet, ``model=punet``: 3).
        num_heads: attention heads (8); hidden_dim must be a multiple.
        attention: factory of the attention backend (the ``attention`` group), needed with attention layers.
    """

    uses_edges = True

    def __init__(
        self,
        inputs: InputSpec,
        *,
        niters: int = 4,
        hidden_dim: int = 64,
        edge_hidden_dim: int = 32,
        dropout: float = 0.3,
        attention_layers: int,
        num_heads: int = 8,
        attention: Callable[..., AttentionBackend] | None,
    ) -> None:
        super().__init__()
        if inputs.edge_features < 1:
            raise ValueError("model=gnn_linker needs a view with edge features (task=linking)")
        if min(niters, hidden_dim, edge_hidden_dim) < 1 or not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"need niters, hidden sizes >= 1 and dropout in [0, 1): {niters, hidden_dim, dropout}"
            )
        if attention_layers and (attention is None or hidden_dim % num_heads):
            raise ValueError(
                f"model.attention_layers={attention_layers} needs an attention backend "
                "(attention=full|hept|window) "
                f"and hidden_dim ({hidden_dim}) a multiple of num_heads ({num_heads})"
            )
        self.out_dim, self.edge_out_dim, self.dropout = hidden_dim, edge_hidden_dim, dropout
        self.node_input = _mlp(inputs.num_features, hidden_dim, hidden_dim, dropout)
        self.edge_input = _mlp(inputs.edge_features, edge_hidden_dim, edge_hidden_dim, dropout)
        self.alpha_direct, self.alpha_reverse = (
            nn.Sequential(
                nn.Linear(edge_hidden_dim, edge_hidden_dim),
                nn.LeakyReLU(),
                nn.Dropout(dropout),
                nn.Linear(edge_hidden_dim, 1),
            )
            for _ in range(2)
        )
        periodic = list(inputs.periodic)
        self.encoders = nn.ModuleList(
            EncoderLayer(
                hidden_dim,
                num_heads,
                2 * hidden_dim,
                build_attention(attention, periodic),
                coords_dim=inputs.coords_dim,
                periodic=periodic,
                coord_kernel=False,
                links=None,
                dropout=dropout,
                norm_first=True,
            )
            for _ in range(attention_layers)
        )
        self.convs = nn.ModuleList(EdgeConvBlock(hidden_dim, dropout) for _ in range(niters))

    def forward(
        self, x: Tensor, coords: Tensor, batch: Tensor, edge_index: Tensor, edge_attr: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Node embeddings [N, hidden_dim] and edge embeddings [E, edge_hidden_dim] of normalised node
        features x [N, F], coordinates [N, C], event index [N], edges [2, E] and edge features [E, D]."""
        edge = self.edge_input(edge_attr)
        alpha = torch.sigmoid(torch.cat([self.alpha_direct(edge), self.alpha_reverse(edge)])).squeeze(1)
        h = self.node_input(x)
        for encoder in self.encoders:
            h = encoder(h, coords, batch)
        src, dst = edge_index[0], edge_index[1]
        receiver, sender = torch.cat([src, dst]), torch.cat([dst, src])
        for conv in self.convs:
            h = conv(h, receiver, sender, alpha)
        return h, edge
