"""Asserts the Transformer Regressor gives an event the same output alone or in a batch, per attention."""

from __future__ import annotations

import functools

import pytest
import torch

from src.attention.full import FullAttention
from src.attention.hept import HEPTAttention
from src.attention.window import WindowAttention
from src.event_model import InputSpec
from src.models.transformer_regressor import TransformerRegressor


@pytest.mark.parametrize(
    "attention",
    [
        functools.partial(FullAttention),
        functools.partial(WindowAttention, window=8),
        functools.partial(HEPTAttention, block_size=16, n_hashes=2, num_regions=2, seed=3),
    ],
    ids=["full", "window", "hept"],
)
def test_regressor_same_event_alone_or_in_a_batch(attention) -> None:
    torch.manual_seed(0)
    inputs = InputSpec(tuple(f"f{i}" for i in range(7)), ("eta", "phi"), (False, True))
    model = TransformerRegressor(
        inputs, attention=attention, n_layers=2, norm_first=False, coord_kernel=False
    ).eval()
    gen = torch.Generator().manual_seed(1)
    events = [
        (
            torch.randn(n, 7),
            torch.stack([torch.randn(n, generator=gen), torch.rand(n, generator=gen) * 6 - 3], 1),
        )
        for n in (40, 25)
    ]
    with torch.no_grad():
        alone = [model(x, c, torch.zeros(len(x), dtype=torch.long)) for x, c in events]
        batch = torch.cat([torch.full((len(x),), i) for i, (x, _) in enumerate(events)])
        both = model(torch.cat([x for x, _ in events]), torch.cat([c for _, c in events]), batch)
    assert both.shape == (65, 32) and model.out_dim == 32
    torch.testing.assert_close(both, torch.cat(alone), atol=1e-5, rtol=1e-4)
