"""hepreco: backbones mapping (x [N, F], coords [N, C], batch [N]) to object embeddings [N, out_dim].

Every backbone satisfies :class:`Backbone` and is built as ``Model(inputs: InputSpec, *, ...)`` from the
view's description of its inputs (``src/compose.py``); the task puts its head on ``out_dim``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Tensor

from src.models.gbdt import GBDT
from src.models.hept import HEPT, KernelAttentionBlock
from src.models.mlp import MLP


@runtime_checkable
class Backbone(Protocol):
    """Per-object embeddings of the objects of each event (never mixing events)."""

    out_dim: int

    def __call__(self, x: Tensor, coords: Tensor, batch: Tensor) -> Tensor: ...


__all__ = ["GBDT", "HEPT", "MLP", "Backbone", "KernelAttentionBlock"]
