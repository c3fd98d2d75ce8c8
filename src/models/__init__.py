"""hepreco: backbones mapping (x [N, F], coords [N, C], batch [N]) to object embeddings [N, out_dim]."""

from src.models.hept import HEPT, KernelAttentionBlock
from src.models.mlp import MLP

__all__ = ["HEPT", "MLP", "KernelAttentionBlock"]
