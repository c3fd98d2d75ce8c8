"""Asserts the RBF kernel and the full/HEPT attention: exactness, isolation, equivariance, periodicity."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from torch import Tensor
from torch.testing import assert_close

from src.attention import (
    BACKENDS,
    AttentionBackend,
    FullAttention,
    HEPTAttention,
    WindowAttention,
    build_attention,
)
from src.attention.kernel import CoordinateKernel, rbf_as_dot_product
from src.attention.links import continuation_pairs, link_attention, link_point_columns

PERIODIC = [False, True]  # (η, φ)
Inputs = tuple[Tensor, Tensor, Tensor, Tensor, Tensor]


def raw_inputs(sizes: list[int], heads: int = 2, dim: int = 4, seed: int = 0) -> Inputs:
    """Float64 q, k, v [N, H, dim], coords (η, φ) [N, 2] and a sorted batch for events of ``sizes``."""
    gen = torch.Generator().manual_seed(seed)
    n = sum(sizes)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    eta, phi = torch.randn(n, generator=gen), (torch.rand(n, generator=gen) * 2 - 1) * math.pi
    q, k, v = (torch.randn(n, heads, dim, generator=gen, dtype=torch.float64) for _ in range(3))
    return q, k, v, torch.stack([eta, phi], 1).double(), batch


def augment(q: Tensor, k: Tensor, coords: Tensor, periodic: list[bool] = PERIODIC) -> tuple[Tensor, Tensor]:
    """q̂, k̂ with a freshly initialised kernel (per-head weights log-spaced in [1, 64])."""
    with torch.no_grad():
        return CoordinateKernel(q.shape[1], coords.shape[1], periodic).double()(q, k, coords)


def make_inputs(sizes: list[int], heads: int = 2, dim: int = 4, seed: int = 0) -> Inputs:
    """Float64 q̂, k̂, v, coords and batch, ready for an attention backend."""
    q, k, v, coords, batch = raw_inputs(sizes, heads, dim, seed)
    return (*augment(q, k, coords), v, coords, batch)


def dense_reference(q_hat: Tensor, k_hat: Tensor, v: Tensor, allowed: Tensor) -> Tensor:
    """Naive RBF attention: softmax_j of −½‖q̂_i − k̂_j‖² over the allowed pairs [H, N, N]."""
    dist2 = (q_hat[:, None] - k_hat[None]).square().sum(-1).permute(2, 0, 1)  # [H, N, N]
    weights = torch.softmax((-0.5 * dist2).masked_fill(~allowed, -math.inf), dim=-1)
    return torch.einsum("hij,jhd->ihd", weights, v)


def same_event(batch: Tensor) -> Tensor:
    return batch[:, None] == batch[None]


def hept(**kwargs: object) -> HEPTAttention:
    return HEPTAttention(**{"periodic": PERIODIC, "seed": 7, **kwargs})


def test_kernel_is_rbf_of_features_and_weighted_periodic_coordinates() -> None:
    gen = torch.Generator().manual_seed(1)
    q, k = torch.randn(2, 30, 3, 5, generator=gen, dtype=torch.float64)
    coords = torch.randn(30, 2, generator=gen, dtype=torch.float64) * 3
    kernel = CoordinateKernel(3, 2, PERIODIC).double()
    q_hat, k_hat = kernel(q, k, coords)
    d_eta = coords[:, None, 0] - coords[None, :, 0]
    chord = 2 - 2 * torch.cos(coords[:, None, 1] - coords[None, :, 1])
    w = kernel.weight  # [H, C]
    expected = (
        (q[:, None] - k[None]).square().sum(-1) + w[:, 0] * d_eta[..., None] ** 2 + w[:, 1] * chord[..., None]
    )
    assert_close((q_hat[:, None] - k_hat[None]).square().sum(-1), expected)
    # softmax over the dot-product form is the RBF normalised over keys
    qd, kd = rbf_as_dot_product(q_hat, k_hat)
    softmax = torch.softmax(torch.einsum("ihd,jhd->hij", qd, kd), dim=-1)
    rbf = torch.exp(-0.5 * expected.permute(2, 0, 1))
    assert_close(softmax, rbf / rbf.sum(-1, keepdim=True))


def test_link_heads_match_one_objects_end_to_anothers_start() -> None:
    """Coordinates (η, φ, η_start, φ_start, η_end, φ_end): head 0 ordinary on (η, φ), head 1 outward
    (query end vs key start), head 2 inward (query start vs key end)."""
    gen = torch.Generator().manual_seed(2)
    q, k = torch.randn(2, 20, 3, 4, generator=gen, dtype=torch.float64)
    coords = torch.randn(20, 6, generator=gen, dtype=torch.float64)
    periodic = [False, True] * 3
    kernel = CoordinateKernel(3, 6, periodic, links=((2, 3), (4, 5)), link_heads=2).double()
    q_hat, k_hat = kernel(q, k, coords)
    w = kernel.weight  # [H, 2]
    assert w[0].max() < w[1].min()  # link heads start sharp

    def dist2(qc: list[int], kc: list[int], h: int) -> Tensor:
        d_eta = coords[:, None, qc[0]] - coords[None, :, kc[0]]
        chord = 2 - 2 * torch.cos(coords[:, None, qc[1]] - coords[None, :, kc[1]])
        return (q[:, None, h] - k[None, :, h]).square().sum(-1) + w[h, 0] * d_eta**2 + w[h, 1] * chord

    got = (q_hat[:, None] - k_hat[None]).square().sum(-1)  # [N, N, H]
    assert_close(got[..., 0], dist2([0, 1], [0, 1], 0))
    assert_close(got[..., 1], dist2([4, 5], [2, 3], 1))
    assert_close(got[..., 2], dist2([2, 3], [4, 5], 2))
    # link heads with more coordinates than the ordinary heads: padded channels, finite gradients
    wide = CoordinateKernel(2, 8, [*periodic, True, False], links=((2, 3, 6, 7), (4, 5, 6, 7)), link_heads=1)
    q_hat, k_hat = wide(q[:, :2].float(), k[:, :2].float(), torch.randn(20, 8))
    assert q_hat.shape == (20, 2, 4 + 6)
    (q_hat - k_hat).square().sum().backward()
    assert torch.isfinite(wide.raw_weight.grad).all()
    with pytest.raises(ValueError, match="link_heads"):
        CoordinateKernel(3, 2, [False, True], link_heads=1)
    with pytest.raises(ValueError, match="periodicity"):
        CoordinateKernel(3, 6, periodic, links=((2, 3), (5, 4)), link_heads=2)


def test_continuation_pairs_join_end_points_to_start_points_within_events() -> None:
    """Brute force over all pairs: same event, every point coordinate within tolerance (φ on the circle)."""
    gen = torch.Generator().manual_seed(3)
    n, tol = 400, 1e-5
    batch = torch.sort(torch.randint(0, 3, (n,), generator=gen)).values
    start = torch.stack([torch.randn(n, generator=gen), (torch.rand(n, generator=gen) * 2 - 1) * math.pi], 1)
    # chains: the end of i is the start of a random other object (of any event), up to rounding; some
    # ends are near a start but out of tolerance, some sit across the φ = ±π seam
    end = start[torch.randint(0, n, (n,), generator=gen)].double()
    end += torch.randn(n, 2, generator=gen, dtype=torch.float64) * 1e-7
    end[::7] += 3 * tol
    start[:5, 1], end[:5, 1] = math.pi - 2e-6, -math.pi + 2e-6
    start = start.double()
    pairs = continuation_pairs(start, end, batch, tolerance=tol, periodic=[False, True])
    diff = (end[:, None] - start[None]).abs()
    diff[..., 1] = torch.minimum(diff[..., 1], 2 * math.pi - diff[..., 1])
    expected = (diff <= tol).all(-1) & (batch[:, None] == batch[None]) & ~torch.eye(n, dtype=torch.bool)
    assert expected.sum() > n // 4  # the case is not trivial
    assert torch.equal(pairs, torch.nonzero(expected).T)
    assert link_point_columns(((2, 3, 6, 7), (4, 5, 6, 7))) == ([2, 3], [4, 5])
    with pytest.raises(ValueError, match="no end point"):
        link_point_columns(((6, 7), (6, 7)))


@pytest.mark.parametrize("with_sink", [False, True])
def test_link_attention_is_the_kernel_normalised_over_the_pairs(with_sink: bool) -> None:
    q_hat, k_hat, v, _, _ = make_inputs([25], heads=2)
    gen = torch.Generator().manual_seed(4)
    allowed = torch.rand(25, 25, generator=gen) < 0.15
    allowed[0] = False  # a query without candidates
    pairs = torch.nonzero(allowed).T
    sink = torch.tensor([-1.0, 2.0], dtype=torch.float64) if with_sink else None
    got = link_attention(q_hat, k_hat, v, pairs, sink=sink)
    dist2 = (q_hat[:, None] - k_hat[None]).square().sum(-1).permute(2, 0, 1)  # [H, N, N]
    kernel = torch.exp(-0.5 * dist2) * allowed
    den = kernel.sum(-1) + (sink.exp()[:, None] if with_sink else 0)
    expected = torch.einsum("hij,jhd->ihd", kernel, v) / den.clamp_min(1e-300).T[..., None]
    assert_close(got, expected)
    assert torch.equal(got[0], torch.zeros_like(got[0]))
    q_hat.requires_grad_(True)
    link_attention(q_hat, k_hat, v, pairs, sink=sink).sum().backward()
    assert torch.isfinite(q_hat.grad).all()


@pytest.mark.parametrize(("sizes", "heads", "dim"), [([40], 1, 3), ([17, 60, 5], 2, 4), ([1, 33], 3, 8)])
def test_full_matches_dense_reference_within_events(sizes: list[int], heads: int, dim: int) -> None:
    q_hat, k_hat, v, coords, batch = make_inputs(sizes, heads, dim)
    full = FullAttention(max_scores=heads * 16)  # forces query chunking
    assert_close(full(q_hat, k_hat, v, coords, batch), dense_reference(q_hat, k_hat, v, same_event(batch)))


@pytest.mark.parametrize(("sizes", "n_hashes"), [([50], 1), ([90, 31, 64], 3), ([7, 120], 2)])
def test_hept_equals_full_when_one_block_covers_each_event(sizes: list[int], n_hashes: int) -> None:
    inputs = make_inputs(sizes)
    out = hept(block_size=max(sizes), n_hashes=n_hashes, num_regions=3)(*inputs)
    assert_close(out, FullAttention()(*inputs))


@pytest.mark.parametrize("backend", ["full", "hept", "window"])
def test_null_key_adds_exp_sink_to_the_denominator(backend: str) -> None:
    sizes = [30, 12]
    q_hat, k_hat, v, coords, batch = make_inputs(sizes, heads=3)
    sink = torch.tensor([-3.0, 0.0, 2.0], dtype=torch.float64)
    attention = {
        "full": FullAttention(max_scores=3 * 16),
        "hept": hept(block_size=max(sizes), n_hashes=2, num_regions=3),
        "window": WindowAttention(window=100, periodic=PERIODIC),  # a window wider than the events
    }[backend]
    dist2 = (q_hat[:, None] - k_hat[None]).square().sum(-1).permute(2, 0, 1)  # [H, N, N]
    kernel = torch.exp(-0.5 * dist2) * same_event(batch)
    expected = torch.einsum("hij,jhd->ihd", kernel, v) / (kernel.sum(-1) + sink.exp()[:, None]).T[..., None]
    assert_close(attention(q_hat, k_hat, v, coords, batch, sink=sink), expected)
    # a vanishing null key is no null key
    assert_close(
        attention(q_hat, k_hat, v, coords, batch, sink=torch.full((3,), -200.0, dtype=torch.float64)),
        attention(q_hat, k_hat, v, coords, batch),
    )


@pytest.mark.parametrize(
    ("sizes", "block_size", "n_hashes", "chunk_scores"),
    [([150], 16, 3, 1 << 20), ([70, 45, 90], 8, 3, 64), ([64, 64], 10, 2, 300), ([33], 5, 1, 1)],
)
def test_hept_normalises_once_over_the_union_of_blocks(
    sizes: list[int], block_size: int, n_hashes: int, chunk_scores: int
) -> None:
    """A key shared by a query in several tables counts once: HEPT equals dense attention on the union."""
    inputs = make_inputs(sizes)
    q_hat, k_hat, v, coords, batch = inputs
    attention = hept(block_size=block_size, n_hashes=n_hashes, num_regions=2, chunk_scores=chunk_scores)
    q_block, k_block = attention.assign_blocks(q_hat, k_hat, coords, batch)  # [T, H, N]
    union = (q_block[..., :, None] == k_block[..., None, :]).any(dim=0)  # [H, N, N]
    assert union.diagonal(dim1=1, dim2=2).float().mean() > 0.5  # sanity: blocks are not empty of matches
    assert_close(attention(*inputs), dense_reference(q_hat, k_hat, v, union))


@pytest.mark.parametrize(("sizes", "block_size"), [([230], 20), ([40, 110, 75], 16)])
def test_blocks_never_straddle_events(sizes: list[int], block_size: int) -> None:
    q_hat, k_hat, _, coords, batch = make_inputs(sizes)
    q_block, k_block = hept(block_size=block_size).assign_blocks(q_hat, k_hat, coords, batch)
    for blocks in (q_block, k_block):
        ids = blocks.flatten(0, 1).long()  # [T·H, N]
        events_per_block = torch.zeros(int(ids.max()) + 1, len(sizes), dtype=torch.bool)
        events_per_block[ids.flatten(), batch.repeat(ids.shape[0])] = True
        assert (events_per_block.sum(1) <= 1).all()


@pytest.mark.parametrize(("sizes", "block_size", "n_hashes"), [([200], 16, 3), ([60, 90, 41], 8, 2)])
def test_hept_is_permutation_equivariant(sizes: list[int], block_size: int, n_hashes: int) -> None:
    q_hat, k_hat, v, coords, batch = make_inputs(sizes)
    attention = hept(block_size=block_size, n_hashes=n_hashes, num_regions=3)
    perm = torch.randperm(len(batch), generator=torch.Generator().manual_seed(3))
    out = attention(q_hat, k_hat, v, coords, batch)
    out_perm = attention(q_hat[perm], k_hat[perm], v[perm], coords[perm], batch[perm])
    assert_close(out_perm, out[perm])


@pytest.mark.parametrize("backend", ["full", "hept"])
@pytest.mark.parametrize("sizes", [[80, 130, 55], [9, 200]])
def test_events_are_isolated_in_a_batch(backend: str, sizes: list[int]) -> None:
    q_hat, k_hat, v, coords, batch = make_inputs(sizes)
    attention = FullAttention() if backend == "full" else hept(block_size=16, num_regions=3)
    out = attention(q_hat, k_hat, v, coords, batch)
    for e in range(len(sizes)):
        m = batch == e
        alone = attention(q_hat[m], k_hat[m], v[m], coords[m], torch.zeros(int(m.sum()), dtype=torch.long))
        assert_close(out[m], alone)


@pytest.mark.parametrize("backend", ["full", "hept"])
def test_shifting_phi_by_two_pi_changes_nothing(backend: str) -> None:
    q, k, v, coords, batch = raw_inputs([120, 70])
    attention = FullAttention() if backend == "full" else hept(block_size=16, num_regions=4)
    shifted = coords + torch.tensor([0.0, 2 * math.pi], dtype=coords.dtype)
    outs = [attention(*augment(q, k, c), v, c, batch) for c in (coords, shifted)]
    assert_close(outs[0], outs[1])


def test_objects_straddling_pi_are_neighbours() -> None:
    """Two identical objects at φ = π − δ and −π + δ share a block in some table (not without periodicity)."""
    qk, _, _, coords, batch = raw_inputs([400], seed=5)
    qk[1] = qk[0]
    coords[0], coords[1] = torch.tensor([0.3, math.pi - 1e-3]), torch.tensor([0.3, -math.pi + 1e-3])

    def share_block(periodic: list[bool]) -> Tensor:
        q_hat, k_hat = augment(qk, qk, coords, periodic)
        attention = HEPTAttention(block_size=20, num_regions=4, periodic=periodic, seed=11)
        q_block, k_block = attention.assign_blocks(q_hat, k_hat, coords, batch)
        return (q_block[:, :, 0] == k_block[:, :, 1]).any(dim=0)  # [H]: in at least one table

    q_hat, k_hat = augment(qk, qk, coords)
    assert_close(q_hat[0], k_hat[1], atol=5e-2, rtol=0)  # the kernel sees them as neighbours
    assert share_block(PERIODIC).all()
    assert not share_block([False, False]).any()


def test_hash_seed_is_saved_in_the_state_dict() -> None:
    inputs = make_inputs([150])
    a, b = hept(block_size=16, seed=1), hept(block_size=16, seed=2)
    assert not torch.allclose(a(*inputs), b(*inputs))
    b.load_state_dict(a.state_dict())
    assert_close(b(*inputs), a(*inputs))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: HEPTAttention(region_dims=(0, 1, 2, 3)), r"\(1, 2, 3\)"),
        (lambda: HEPTAttention(num_regions=(4, 4, 4)), "num_regions"),
        (lambda: HEPTAttention(block_size=0), "block_size"),
        (lambda: CoordinateKernel(2, 2, [True]), "periodic"),
    ],
)
def test_invalid_options_raise(make: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_region_dims_outside_coordinates_raise() -> None:
    q_hat, k_hat, v, coords, batch = make_inputs([30])
    with pytest.raises(ValueError, match="region_dims"):
        HEPTAttention(region_dims=(0, 2))(q_hat, k_hat, v, coords, batch)


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_every_backend_builds_from_its_factory_and_satisfies_the_protocol(name: str) -> None:
    backend = build_attention(functools.partial(BACKENDS[name]), PERIODIC)
    assert isinstance(backend, AttentionBackend)
    out = backend(*make_inputs([5, 7]))
    assert out.shape == (12, 2, 4) and torch.isfinite(out).all()


def test_a_factory_of_something_else_is_refused_with_the_known_backends() -> None:
    with pytest.raises(ValueError, match="full"):
        build_attention(functools.partial(torch.nn.Linear, 2, 2), PERIODIC)
