"""The EdgeConv GNN linker and its global-attention variant: shapes, an EdgeConv block by hand, edge
weights that switch messages off, node relabelling, events that never see each other in a batch."""

from __future__ import annotations

import functools

import pytest
import torch
from torch.testing import assert_close

from src.attention import FullAttention
from src.event_model import InputSpec
from src.models.gnn_linker import EdgeConvBlock, GNNLinker

SPEC = InputSpec(tuple(f"f{i}" for i in range(5)), ("eta", "phi"), (False, True), edge_features=3)


def _graph(n: int, e: int, seed: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=gen)
    coords = torch.randn(n, 2, generator=gen)
    edge_index = torch.randint(0, n, (2, e), generator=gen)
    edge_attr = torch.randn(e, 3, generator=gen)
    return x, coords, edge_index, edge_attr


def test_edge_conv_block_by_hand() -> None:
    block = EdgeConvBlock(2, dropout=0.0)
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    receiver, sender = torch.tensor([0, 0, 2]), torch.tensor([1, 2, 0])
    alpha = torch.tensor([0.5, 1.0, 0.0])
    out = block(x, receiver, sender, alpha)
    msg = lambda i, j: block.message(torch.cat([x[i], x[j] - x[i]])[None])[0]  # noqa: E731
    expect0 = torch.relu(block.skip(x[0]) + 0.5 * msg(0, 1) + msg(0, 2))
    assert_close(out[0], expect0)
    assert_close(out[1], torch.relu(block.skip(x[1])))  # receives nothing
    assert_close(out[2], torch.relu(block.skip(x[2])))  # its only message has weight 0


@pytest.mark.parametrize("attention_layers", [0, 2])
def test_shapes_and_relabelling(attention_layers: int) -> None:
    attention = functools.partial(FullAttention) if attention_layers else None
    model = GNNLinker(
        SPEC,
        niters=2,
        hidden_dim=16,
        edge_hidden_dim=8,
        dropout=0.0,
        attention_layers=attention_layers,
        num_heads=4,
        attention=attention,
    ).eval()
    x, coords, edge_index, edge_attr = _graph(7, 12, 0)
    batch = torch.zeros(7, dtype=torch.long)
    h, e = model(x, coords, batch, edge_index, edge_attr)
    assert h.shape == (7, 16) and e.shape == (12, 8)
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(1))
    inverse = torch.argsort(perm)
    h2, e2 = model(x[perm], coords[perm], batch, inverse[edge_index], edge_attr)
    assert_close(h2, h[perm], atol=1e-5, rtol=1e-5)
    assert_close(e2, e)


@pytest.mark.parametrize("attention_layers", [0, 2])
def test_events_in_a_batch_do_not_see_each_other(attention_layers: int) -> None:
    attention = functools.partial(FullAttention) if attention_layers else None
    model = GNNLinker(
        SPEC,
        niters=2,
        hidden_dim=16,
        edge_hidden_dim=8,
        dropout=0.0,
        attention_layers=attention_layers,
        num_heads=4,
        attention=attention,
    ).eval()
    a, b = _graph(6, 9, 2), _graph(4, 5, 3)
    alone, _ = model(a[0], a[1], torch.zeros(6, dtype=torch.long), a[2], a[3])
    x = torch.cat([a[0], b[0]])
    coords = torch.cat([a[1], b[1]])
    batch = torch.cat([torch.zeros(6), torch.ones(4)]).long()
    together, _ = model(x, coords, batch, torch.cat([a[2], b[2] + 6], 1), torch.cat([a[3], b[3]]))
    assert_close(together[:6], alone, atol=1e-5, rtol=1e-5)


def test_configuration_errors_name_the_fix() -> None:
    with pytest.raises(ValueError, match="edge features"):
        GNNLinker(InputSpec(("a",), ("eta",), (False,)), attention_layers=0, attention=None)
    with pytest.raises(ValueError, match="attention=full"):
        GNNLinker(SPEC, attention_layers=3, attention=None)
