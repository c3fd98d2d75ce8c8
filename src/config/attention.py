"""Schemas of ``attention=`` (the attention backends of transformer backbones, built as partials)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING

from src.config.checks import at_least, checked


@dataclass
class HEPTAttentionConf:
    """``attention=hept``: LSH block attention."""

    _target_: str = "src.attention.hept.HEPTAttention"
    _partial_: bool = True
    block_size: int = checked(at_least(1))
    n_hashes: int = MISSING
    num_regions: Any = MISSING  # int, or one per region dimension
    region_dims: list[int] = MISSING
    bucket_width: float = MISSING
    seed: Any = MISSING  # int or null (drawn from the run seed)


@dataclass
class FullAttentionConf:
    """``attention=full``: exact attention per event."""

    _target_: str = "src.attention.full.FullAttention"
    _partial_: bool = True
    max_scores: int = MISSING


@dataclass
class WindowAttentionConf:
    """``attention=window``: sliding window along φ (sorted per event, wrapping at ±π)."""

    _target_: str = "src.attention.window.WindowAttention"
    _partial_: bool = True
    window: int = checked(at_least(1))
    sort_dim: Any = MISSING  # int or null (the first periodic coordinate)


SCHEMAS = {
    ("attention", "hept"): HEPTAttentionConf,
    ("attention", "full"): FullAttentionConf,
    ("attention", "window"): WindowAttentionConf,
}
