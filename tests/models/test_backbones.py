"""Asserts the HEPT backbone (full and HEPT attention) and the MLP: shapes, gradients, event isolation (with
attention that really touches the output, and a leaky backend that the isolation check catches)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn
from torch.testing import assert_close

from src.attention import FullAttention, HEPTAttention
from src.event_model import InputSpec
from src.models import HEPT, MLP

IN_DIM, COORDS_DIM = 6, 2
PERIODIC = [False, True]


def spec(in_dim: int = IN_DIM, periodic: list[bool] = PERIODIC, links: tuple | None = None) -> InputSpec:
    """An input description with ``in_dim`` features and coordinates of the given periodicity."""
    names = tuple(f"c{i}" for i in range(len(periodic)))
    return InputSpec(tuple(f"f{i}" for i in range(in_dim)), names, tuple(periodic), links=links)


def hept(attention: Callable, **kw: object) -> HEPT:
    """A small HEPT backbone on :func:`spec` inputs (keywords override)."""
    inputs = kw.pop("inputs", spec())
    return HEPT(inputs, attention=attention, **{"link_heads": 0, "sink": False, **kw})


def wake(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give the zero-initialised residual projections random weights, so attention changes the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for block in model.blocks:
            block.proj.weight.copy_(torch.randn(block.proj.weight.shape, generator=gen) * 0.3)
    return model


class LeakyAttention(FullAttention):
    """A broken backend for the isolation test: it attends across the events of a batch."""

    def forward(self, q_hat, k_hat, v, coords, batch, *, sink=None):
        return super().forward(q_hat, k_hat, v, coords, torch.zeros_like(batch), sink=sink)


BACKENDS: dict[str, Callable[[], nn.Module]] = {
    "full": FullAttention,
    "hept": functools.partial(HEPTAttention, block_size=16, num_regions=3, seed=0),
}


def make_event_batch(sizes: list[int], seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Features x [N, F], coordinates (η, φ) [N, 2] and a sorted batch vector for events of ``sizes``."""
    gen = torch.Generator().manual_seed(seed)
    n = sum(sizes)
    x = torch.randn(n, IN_DIM, generator=gen)
    coords = torch.stack([torch.randn(n, generator=gen), (torch.rand(n, generator=gen) * 2 - 1) * math.pi], 1)
    return x, coords, torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize(
    ("sizes", "n_layers", "num_heads", "out_dim"), [([90, 40], 2, 2, 5), ([150], 1, 3, 24)]
)
def test_hept_backbone_shapes_and_gradients(
    backend: str, sizes: list[int], n_layers: int, num_heads: int, out_dim: int
) -> None:
    torch.manual_seed(0)
    model = hept(
        BACKENDS[backend], h_dim=8, num_heads=num_heads, head_dim=None, n_layers=n_layers, out_dim=out_dim
    )
    x, coords, batch = make_event_batch(sizes)
    out = model(x, coords, batch)
    assert out.shape == (sum(sizes), out_dim) and model.out_dim == out_dim
    # residual branches start at zero, so the blocks are the identity at initialisation ...
    assert all(block.proj.weight.abs().sum() == 0 for block in model.blocks)
    out.square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    # ... and after one optimiser step the gradient reaches the attention's coordinate weights
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    model.zero_grad()
    model(x, coords, batch).square().mean().backward()
    assert all(block.kernel.raw_weight.grad.abs().sum() > 0 for block in model.blocks)


def test_attention_factory_is_called_once_per_layer_with_the_periodicity() -> None:
    built: list[nn.Module] = []

    class Recording(HEPTAttention):
        def __init__(self, *, periodic: list[bool]) -> None:
            assert list(periodic) == PERIODIC
            super().__init__(periodic=periodic)
            built.append(self)

    model = hept(Recording, n_layers=3)
    assert len(built) == 3 and [block.attention for block in model.blocks] == built


def _isolation_error(model: nn.Module) -> float:
    """Largest difference between an event's output inside a batch of three and alone."""
    x, coords, batch = make_event_batch([70, 120, 33])
    x, coords = x.double(), coords.double()
    with torch.no_grad():
        out = model(x, coords, batch)
        return max(
            float(
                (out[batch == e] - model(x[batch == e], coords[batch == e], batch[batch == e] * 0))
                .abs()
                .max()
            )
            for e in range(3)
        )


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_hept_backbone_keeps_events_isolated(backend: str) -> None:
    torch.manual_seed(0)
    model = wake(hept(BACKENDS[backend], h_dim=8, num_heads=2, head_dim=None, n_layers=2)).double().eval()
    x, coords, batch = make_event_batch([50])
    x, coords = x.double(), coords.double()
    # the attention now shapes the output: shuffling the other objects' features changes an object's
    moved = x.clone()
    moved[1:] = moved[1:].flip(0)
    assert (model(x, coords, batch)[0] - model(moved, coords, batch)[0]).abs().max() > 1e-3
    assert _isolation_error(model) < 1e-9


def test_the_isolation_check_catches_attention_across_events() -> None:
    torch.manual_seed(0)
    leaky = wake(hept(LeakyAttention, h_dim=8, num_heads=2, head_dim=None, n_layers=2)).double().eval()
    assert _isolation_error(leaky) > 1e-3


def test_mlp_shape_and_context_free() -> None:
    model = MLP(spec(), hidden_dim=16, n_layers=2, out_dim=3)
    x, coords, batch = make_event_batch([20, 30])
    out = model(x, coords, batch)
    assert out.shape == (50, 3) and model.out_dim == 3
    assert_close(out, model(x, coords, torch.zeros_like(batch)))
    assert_close(out[:20], model(x[:20], coords[:20], batch[:20]))


@pytest.mark.parametrize(
    "make",
    [
        lambda: hept(FullAttention, n_layers=0),
        lambda: hept(FullAttention, dropout=1.0),
        lambda: hept(FullAttention, link_heads=2),
        lambda: MLP(spec(), hidden_dim=0),
    ],
)
def test_invalid_sizes_raise(make: Callable[[], nn.Module]) -> None:
    with pytest.raises(ValueError, match=r"must|link"):
        make()


@pytest.mark.parametrize("backend", ["full", "hept"])
def test_backbone_instantiates_from_a_hydra_partial_attention(backend: str) -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    attention = {"full": {"_target_": "src.attention.full.FullAttention", "_partial_": True}}
    attention["hept"] = {
        "_target_": "src.attention.hept.HEPTAttention",
        "_partial_": True,
        "block_size": 16,
        "num_regions": [2, 3],
    }
    cfg = OmegaConf.create(
        {"_target_": "src.models.hept.HEPT", "h_dim": 8, "n_layers": 2, "link_heads": 0, "sink": False}
    )
    cfg.attention = attention[backend]
    model = instantiate(cfg, _partial_=True)(spec())
    assert all(
        type(block.attention).__name__ == cfg.attention._target_.rsplit(".")[-1] for block in model.blocks
    )
    assert model(*make_event_batch([40, 25])).shape == (65, 24)


@pytest.mark.parametrize("backend", ["full", "hept"])
def test_link_heads_and_null_keys_train_end_to_end(backend: str) -> None:
    """HEPT with link heads (end → anchor coordinates) and null keys: finite outputs and gradients to the
    link weights and the null-key logits, equal for one event alone or in a batch."""
    gen = torch.Generator().manual_seed(5)
    coords_dim, periodic = 8, [False, True, False, True, False, True, True, False]
    model = hept(
        BACKENDS[backend],
        inputs=spec(periodic=periodic, links=((2, 3, 6, 7), (4, 5, 6, 7))),
        h_dim=8,
        num_heads=4,
        head_dim=None,
        n_layers=2,
        link_heads=2,
        sink=True,
    ).double()
    x = torch.randn(50, IN_DIM, generator=gen, dtype=torch.float64)
    coords = torch.randn(50, coords_dim, generator=gen, dtype=torch.float64)
    coords[1:, 2:4] = coords[:-1, 4:6]  # chains: each object starts where the previous one ends
    batch = torch.cat([torch.zeros(30, dtype=torch.long), torch.ones(20, dtype=torch.long)])
    # after one step the zero-initialised residual branches no longer hide the attention
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model(x, coords, batch).square().sum().backward()
    opt.step()
    opt.zero_grad()
    out = model(x, coords, batch)
    out.square().sum().backward()
    assert torch.isfinite(out).all()
    for block in model.blocks:
        assert block.sink.grad.abs().sum() > 0
        assert block.kernel.raw_weight.grad[2:].abs().sum() > 0  # the link heads learn their widths
    alone = model(x[30:], coords[30:], torch.zeros(20, dtype=torch.long))
    assert_close(alone, out[30:].detach())


def test_training_stops_at_a_non_finite_loss() -> None:
    from src.data.views import LSView
    from src.tasks.pileup import PileupTask

    view = LSView(links=False)
    task = PileupTask(
        MLP(view.inputs),
        view=view,
        optimizer=torch.optim.AdamW,
        monitor="val/loss",
        monitor_mode="min",
        warmup_fraction=0.1,
        min_lr_ratio=0.0,
        normalizer_events=1,
    )
    task.on_train_batch_end({"loss": torch.tensor(0.5)}, None, 0)  # finite: nothing happens
    with pytest.raises(FloatingPointError, match="non-finite training loss nan"):
        task.on_train_batch_end({"loss": torch.tensor(float("nan"))}, None, 0)
