"""Asserts the sliding-window attention: never across events, wraps at ±π, exact for short events."""

from __future__ import annotations

import math

import torch

from src.attention.full import FullAttention
from src.attention.window import WindowAttention


def _inputs(n: int, seed: int, heads: int = 2, dim: int = 6) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(n, heads, dim, generator=gen) for _ in range(3))
    coords = torch.stack(
        [torch.randn(n, generator=gen), (torch.rand(n, generator=gen) * 2 - 1) * math.pi], dim=1
    )
    return q, k, v, coords


def test_window_attention_never_crosses_events() -> None:
    att = WindowAttention(window=4, periodic=[False, True])
    events = [_inputs(n, seed) for n, seed in ((30, 0), (7, 1), (45, 2))]
    alone = [att(*e, torch.zeros(len(e[0]), dtype=torch.long)) for e in events]
    batch = torch.cat([torch.full((len(e[0]),), i) for i, e in enumerate(events)])
    perm = torch.randperm(len(batch), generator=torch.Generator().manual_seed(0))  # interleaved events
    cat = [torch.cat([e[j] for e in events])[perm] for j in range(4)]
    out = att(*cat, batch[perm])
    keys, valid = att.neighbours(cat[3], batch[perm])
    assert (batch[perm][keys][valid] == batch[perm][:, None].expand_as(keys)[valid]).all()
    inverse = torch.argsort(perm)
    torch.testing.assert_close(out[inverse], torch.cat(alone))


def test_window_attention_wraps_at_pi_and_is_full_for_short_events() -> None:
    phi = torch.tensor([-3.1, -3.0, -1.0, 0.0, 1.0, 3.0, 3.1])
    coords = torch.stack([torch.zeros(7), phi], dim=1)
    batch = torch.zeros(7, dtype=torch.long)
    keys, valid = WindowAttention(window=1, periodic=[False, True]).neighbours(coords, batch)
    assert set(keys[6][valid[6]].tolist()) == {5, 6, 0}  # φ = 3.1 sees φ = −3.1 across the seam
    assert set(keys[0][valid[0]].tolist()) == {6, 0, 1}
    keys, valid = WindowAttention(window=1, periodic=[False, False], sort_dim=1).neighbours(coords, batch)
    assert set(keys[6][valid[6]].tolist()) == {5, 6}  # a plain coordinate does not wrap
    q, k, v, coords = _inputs(9, 3)
    full = FullAttention()(q, k, v, coords, torch.zeros(9, dtype=torch.long))
    window = WindowAttention(window=5, periodic=[False, True])(
        q, k, v, coords, torch.zeros(9, dtype=torch.long)
    )
    torch.testing.assert_close(window, full)  # each key once, even though 2·5 + 1 > 9
