"""The MLPF backbone: output shape and the (id, reg) split, one encoder per element type (changing a track's
features leaves the clusters' encodings alone), each event attended on its own with every attention backend
(batched = one by one), gradients reach every parameter, and experiment=mlpf_clic builds the model card's
size."""

from __future__ import annotations

import functools

import pytest
import torch
from torch.testing import assert_close

from src.attention import FullAttention, HEPTAttention, WindowAttention
from src.event_model import InputSpec
from src.models.mlpf import MLPF, TypedEncoder

INPUTS = InputSpec(tuple(f"f{i}" for i in range(17)), ("eta", "phi"), (False, True), object_types=2)
BACKENDS = {
    "full": FullAttention,
    "hept": functools.partial(HEPTAttention, block_size=8, num_regions=2, seed=0),
    "window": functools.partial(WindowAttention, window=4),
}


def elements(sizes: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    n = sum(sizes)
    x = torch.randn(n, 17, generator=gen)
    x[:, 0] = torch.randint(1, 3, (n,), generator=gen).float()
    coords = torch.stack([torch.randn(n, generator=gen), torch.rand(n, generator=gen) * 6.28 - 3.14], 1)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    return x, coords, batch


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_events_are_attended_alone(backend: str) -> None:
    torch.manual_seed(0)
    model = MLPF(INPUTS, attention=BACKENDS[backend], num_heads=2, head_dim=8, n_layers=2).eval()
    sizes = [13, 7, 20]
    x, coords, batch = elements(sizes)
    out = model(x, coords, batch)
    assert out.shape == (sum(sizes), 32) and model.out_splits == (16, 16) and model.out_dim == 32
    start = 0
    for s in sizes:
        sl = slice(start, start + s)
        alone = model(x[sl], coords[sl], torch.zeros(s, dtype=torch.long))
        assert_close(out[sl], alone, atol=1e-5, rtol=1e-5)
        start += s


def test_one_encoder_per_element_type() -> None:
    torch.manual_seed(0)
    enc = TypedEncoder(17, 8, 16, object_types=2, dropout=0.0)
    x, _, _ = elements([30])
    types = x[:, 0].long() - 1
    base = enc(x, types)
    with torch.no_grad():
        enc.encoders[0][0].weight.add_(1.0)  # the track encoder only
    changed = enc(x, types)
    assert_close(changed[types == 1], base[types == 1])
    assert not torch.allclose(changed[types == 0], base[types == 0])


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    model = MLPF(INPUTS, attention=FullAttention, num_heads=2, head_dim=8, n_layers=1)
    x, coords, batch = elements([10, 12])
    model(x, coords, batch).pow(2).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        MLPF(INPUTS, attention=FullAttention, n_layers=0)


def test_experiment_mlpf_clic_is_the_model_card_size(compose_cfg) -> None:
    from src.compose import build_task

    cfg = compose_cfg(["experiment=mlpf_clic"])
    assert cfg.hardware.precision == "bf16-mixed"
    assert cfg.task.optimizer.lr == 1e-4 and cfg.task.warmup_fraction == 0.0
    task = build_task(cfg)
    model = task.backbone
    assert model.out_splits == (1024, 1024)
    assert len(model.stacks["id"]) == len(model.stacks["reg"]) == 4
    assert model.stacks["id"][0].num_heads == 32 and model.stacks["id"][0].head_dim == 32
