"""hepreco: attention backends with the shared coordinate-augmented RBF kernel.

Every backend is an ``nn.Module`` with the same forward signature

    forward(q_hat [N, H, D], k_hat [N, H, D], v [N, H, Dv], coords [N, C], batch [N], *, sink=None)
        -> [N, H, Dv]

so that they are interchangeable inside any backbone (Hydra ``_partial_: true`` factories).
"""

from __future__ import annotations

from src.attention.full import FullAttention
from src.attention.hept import HEPTAttention
from src.attention.kernel import (
    CoordinateKernel,
    embed_coords,
    embedded_dim,
    rbf_as_dot_product,
    sink_logits,
)
from src.attention.window import WindowAttention

__all__ = [
    "CoordinateKernel",
    "FullAttention",
    "HEPTAttention",
    "WindowAttention",
    "embed_coords",
    "embedded_dim",
    "rbf_as_dot_product",
    "sink_logits",
]
