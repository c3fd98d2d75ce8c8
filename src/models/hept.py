"""HEPT backbone: a pre-norm transformer whose attention uses the coordinate-augmented RBF kernel."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from src.attention import AttentionBackend, build_attention
from src.attention.kernel import CoordinateKernel, check_periodic, embed_coords, embedded_dim
from src.attention.links import continuation_pairs, link_attention, link_point_columns
from src.event_model import InputSpec


class KernelAttentionBlock(nn.Module):
    """Pre-norm transformer block: x + Attn(LN x), then x + FFN(LN x).

    Queries and keys are scaled by head_dim^(-1/4) (so q·k carries the usual 1/√d) and augmented with the
    learnable per-head coordinate weights of a :class:`CoordinateKernel` before the attention backend.
    The last ``link_heads`` heads bypass the backend: they attend exactly over the continuation pairs
    (:func:`src.attention.links.link_attention`), alternately outward (end → start) and inward.
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
        links: Sequence[Sequence[int]] | None = None,
        link_heads: int = 0,
        sink: bool = False,
    ) -> None:
        super().__init__()
        self.num_heads, self.head_dim = num_heads, head_dim
        # learnable log-kernel of each head's null key (None: attention weights sum to one)
        self.sink = nn.Parameter(torch.zeros(num_heads)) if sink else None
        self.norm1 = nn.LayerNorm(h_dim)
        self.qkv = nn.Linear(h_dim, 3 * num_heads * head_dim, bias=False)
        self.kernel = CoordinateKernel(num_heads, coords_dim, periodic, links=links, link_heads=link_heads)
        self.attention = attention
        self.proj = nn.Linear(num_heads * head_dim, h_dim)
        self.norm2 = nn.LayerNorm(h_dim)
        hidden = ffn_mult * h_dim
        self.ffn = nn.Sequential(
            nn.Linear(h_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, h_dim)
        )
        self.dropout = nn.Dropout(dropout)
        # residual branches start at zero: each block is the identity at initialisation, so attention and
        # feed-forward updates are learned on top of the per-object encoding instead of scrambling it
        for layer in (self.proj, self.ffn[-1]):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor, coords: Tensor, batch: Tensor, pairs: Tensor | None = None) -> Tensor:
        """Update object embeddings x [N, h_dim] given coordinates [N, C] and event index [N].

        ``pairs`` [2, E]: the continuation pairs (end of i at the start of j) the link heads attend over."""
        qkv = self.qkv(self.norm1(x)).view(x.shape[0], 3, self.num_heads, self.head_dim)
        q, k, v = qkv.unbind(dim=1)
        scale = self.head_dim**-0.25
        q_hat, k_hat = self.kernel(q * scale, k * scale, coords)
        link_heads = self.kernel.link_heads
        plain = self.num_heads - link_heads
        parts = []
        if plain:
            heads = slice(0, plain)
            sink = None if self.sink is None else self.sink[heads]
            parts.append(
                self.attention(q_hat[:, heads], k_hat[:, heads], v[:, heads], coords, batch, sink=sink)
            )
        if link_heads and pairs is None:
            raise ValueError("link heads need the continuation pairs of the batch")
        for h in range(plain, self.num_heads):  # alternately outward (i's end at j's start) and inward
            heads = slice(h, h + 1)
            sink = None if self.sink is None else self.sink[heads]
            forward = (h - plain) % 2 == 0
            parts.append(
                link_attention(
                    q_hat[:, heads],
                    k_hat[:, heads],
                    v[:, heads],
                    pairs if forward else pairs.flip(0),
                    sink=sink,
                )
            )
        attended = torch.cat(parts, dim=1)  # [N, H, head_dim]
        x = x + self.dropout(self.proj(attended.flatten(1)))
        return x + self.dropout(self.ffn(self.norm2(x)))


def feature_encoder(in_dim: int, hidden: int, out_dim: int, layers: int) -> nn.Sequential:
    """Per-object encoder in_dim -> hidden x (layers - 1) -> out_dim; hidden: Linear, LayerNorm, ReLU."""
    modules: list[nn.Module] = []
    width = in_dim
    for _ in range(layers - 1):
        modules += [nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*modules, nn.Linear(width, out_dim))


def readout_mlp(dim: int, hidden: int, layers: int) -> nn.Sequential:
    """Per-object MLP dim -> hidden x (layers - 1) -> dim, each hidden layer Linear, LayerNorm, tanh."""
    modules: list[nn.Module] = []
    width = dim
    for _ in range(layers - 1):
        modules += [nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.Tanh()]
        width = hidden
    return nn.Sequential(*modules, nn.Linear(width, dim))


class HEPT(nn.Module):
    """Transformer backbone over the objects of each event, with swappable kernel attention.

    Args:
        inputs: what the view gives (feature and coordinate widths, periodicity, link columns).
        attention: factory of an attention backend (a Hydra ``_partial_`` of the ``attention`` group),
            built once per layer by :func:`src.attention.build_attention`.
        h_dim: embedding width.
        num_heads: attention heads per layer.
        n_layers: transformer blocks.
        out_dim: width of the returned object embeddings.
        dropout: dropout rate on the residual branches.
        head_dim: width per head; ``None`` uses h_dim (the paper's 8 heads of 24).
        ffn_mult: feed-forward hidden width as a multiple of h_dim.
        head_hidden: hidden width of the per-object readout MLP (the paper's 256).
        head_layers: linear layers of the readout MLP (the paper's 5).
        encoder_hidden: hidden width of the per-object feature encoder (the paper: h_dim).
        encoder_layers: linear layers of the feature encoder (the paper: 2, without LayerNorm).
        link_heads: heads per block whose kernel links one object's end to another's start (see
            :class:`CoordinateKernel`), attending exactly over the objects that start where the query ends
            (:mod:`src.attention.links`), not through the backend; 0 keeps every head on the backend.
            Needs the view's link columns (``inputs.links``).
        link_tolerance: largest difference of two point coordinates (η, φ) that still counts as one point.
        sink: give every head a null key with a learnable kernel value, so that its output fades where
            no key is close (e.g. a segment without continuation); the attention backend must take it.
    """

    def __init__(
        self,
        inputs: InputSpec,
        *,
        attention: Callable[..., AttentionBackend],
        link_heads: int,
        sink: bool,
        h_dim: int = 64,
        num_heads: int = 4,
        head_dim: int | None = 16,
        n_layers: int = 4,
        out_dim: int = 24,
        dropout: float = 0.0,
        ffn_mult: int = 2,
        head_hidden: int = 256,
        head_layers: int = 5,
        encoder_hidden: int = 256,
        encoder_layers: int = 3,
        link_tolerance: float = 1e-5,
    ) -> None:
        super().__init__()
        in_dim, coords_dim, periodic, links = (
            inputs.num_features,
            inputs.coords_dim,
            inputs.periodic,
            inputs.links,
        )
        sizes = {"in_dim": in_dim, "coords_dim": coords_dim, "h_dim": h_dim, "num_heads": num_heads}
        sizes |= {"n_layers": n_layers, "out_dim": out_dim, "ffn_mult": ffn_mult, "head_hidden": head_hidden}
        sizes |= {
            "head_layers": head_layers,
            "encoder_hidden": encoder_hidden,
            "encoder_layers": encoder_layers,
        }
        if min(sizes.values()) < 1 or (head_dim is not None and head_dim < 1):
            raise ValueError(f"sizes must be >= 1, got {sizes}, head_dim={head_dim}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.periodic = check_periodic(periodic, coords_dim)
        self.out_dim = out_dim
        if link_heads and links is None:
            raise ValueError(
                f"model.link_heads={link_heads} needs objects with two ends (a view with links, e.g. "
                "task.view.links=true); set model.link_heads=0 for this view"
            )
        self.link_points = link_point_columns(links) if link_heads else None
        self.link_tolerance = link_tolerance
        self.encoder = feature_encoder(
            in_dim + embedded_dim(self.periodic), encoder_hidden, h_dim, encoder_layers
        )
        self.blocks = nn.ModuleList(
            KernelAttentionBlock(
                h_dim,
                num_heads,
                head_dim or h_dim,
                coords_dim,
                build_attention(attention, self.periodic),
                periodic=self.periodic,
                dropout=dropout,
                ffn_mult=ffn_mult,
                links=links,
                link_heads=link_heads,
                sink=sink,
            )
            for _ in range(n_layers)
        )
        # readout of the paper: the encoder and every block output, concatenated ("jumping knowledge"),
        # projected to out_dim, plus a residual LayerNorm-tanh MLP per object
        self.readout = nn.Linear(h_dim * (n_layers + 1), out_dim, bias=False)
        self.head = readout_mlp(out_dim, head_hidden, head_layers)
        self.head_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, coords: Tensor, batch: Tensor) -> Tensor:
        """Embed objects: features x [N, F], coordinates [N, C], event index batch [N] -> [N, out_dim]."""
        h = self.encoder(torch.cat([x, embed_coords(coords, self.periodic).to(x.dtype)], dim=-1))
        layers, pairs = [h], None
        if self.link_points is not None:
            start, end = self.link_points
            pairs = continuation_pairs(
                coords[:, start],
                coords[:, end],
                batch,
                tolerance=self.link_tolerance,
                periodic=[self.periodic[c] for c in start],
            )
        for block in self.blocks:
            h = block(h, coords, batch, pairs)
            layers.append(h)
        z = self.readout(torch.cat(layers, dim=-1))
        return z + self.head_dropout(self.head(z))
