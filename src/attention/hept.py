"""HEPT: locality-sensitive-hashing block attention with the RBF kernel (arXiv 2402.12535).

Per head h and hash table t, queries and keys are each sorted lexicographically by the integer keys

    (event, region_t, E2LSH bucket_th)

with stable sorts on int64 keys; ties inside a bucket are broken by a second random projection, so the
order depends on the objects only, never on their input position (permutation equivariance). The sorted
sequence of each event is padded to a multiple of ``block_size`` with masked slots and chunked into
blocks; query slot s attends the keys of its block. Blocks therefore never straddle two events.

Regions are equal-count (quantile) bins per event along ``region_dims``. Every table draws its own bin
offsets: a rotation for periodic coordinates (so the φ seam is never at a fixed ±π) and staggered bin
edges otherwise, so the OR over tables also covers pairs split by a region boundary in one table.

The tables are combined with one normalisation over the union of keys a query saw: a pair (i, j) is
counted in the first table where i and j share a block and masked in the later ones, and the per-table
numerators and denominators are merged with log-sum-exp. When one block covers an event, this is exactly
full attention.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from src.attention.kernel import check_periodic, rbf_as_dot_product, sink_logits

#: logit of masked pairs (finite, so that 0 · logit stays 0 in backward)
_MASKED = -1e30
#: allowed numbers of region dimensions (AND over coordinates)
_REGION_DIMS_ALLOWED = (1, 2, 3)


class _Events(NamedTuple):
    """Per-event padded layout shared by all heads and tables."""

    counts: Tensor  # [E] objects per event
    start: Tensor  # [E] first event-major sorted position of each event
    slot: Tensor  # [N] padded slot of the k-th object in event-major sorted order
    length: int  # L: total padded length, a multiple of block_size


class _Hashing(NamedTuple):
    """Everything the per-head sorts need."""

    events: _Events
    primary: Tensor  # [T, N] int64 sort key: event, then region
    proj: Tensor  # [H, 2, T, N, 2] E2LSH projections of q̂ (index 0) and k̂ (1): bucket, tie-break
    shift: Tensor  # [H, T] E2LSH bucket offsets b


class _Layout(NamedTuple):
    """Sorted block layout of one head: index 0 for queries, 1 for keys; T hash tables."""

    slot: Tensor  # [2, T, N] padded slot of each object
    index: Tensor  # [2, T, L] object in each slot, N for a padded slot
    block: Tensor  # [2, T, N + 1] int32 block of each object; last entry a sentinel (-1 q, -2 k)


def lexsort(keys: Sequence[Tensor]) -> Tensor:
    """Stable lexicographic argsort along the last dim; ``keys[0]`` is the most significant key."""
    perm = torch.argsort(keys[-1], dim=-1, stable=True)
    for key in reversed(keys[:-1]):
        perm = perm.gather(-1, torch.argsort(key.gather(-1, perm), dim=-1, stable=True))
    return perm


def quantile_rank(x: Tensor, batch: Tensor, start: Tensor) -> Tensor:
    """Rank of each value of x [M, N] within its event (ties share the lowest rank), as int64 [M, N]."""
    perm = lexsort([batch.expand_as(x), x])
    xs, ev = x.gather(-1, perm), batch[perm]
    new = torch.ones_like(perm, dtype=torch.bool)
    new[..., 1:] = (xs[..., 1:] != xs[..., :-1]) | (ev[..., 1:] != ev[..., :-1])
    pos = torch.arange(x.shape[-1], device=x.device).expand_as(perm)
    first = torch.cummax(torch.where(new, pos, torch.zeros_like(pos)), dim=-1).values
    return torch.empty_like(perm).scatter_(-1, perm, first - start[ev])


class HEPTAttention(nn.Module):
    """LSH block attention with the coordinate-augmented RBF kernel, linear in the number of objects.

    Args:
        block_size: objects per block (each query attends the keys of its block).
        n_hashes: number of hash tables (OR).
        num_regions: equal-count regions per region dimension (AND), an int for all or one per dim.
        region_dims: coordinate columns binned into regions (1 to 3 of them, e.g. η and φ).
        bucket_width: E2LSH bucket width r of the quantised projection ⌊(a·v̂ + b) / r⌋.
        periodic: per-coordinate flag, True for an angle in radians; ``None`` means none is periodic.
            The HEPT backbone passes its own spec when it builds the layers.
        seed: seed of the random projections and region offsets; ``None`` draws one from torch's RNG.
            It is saved in the state dict, so a reloaded model hashes the same way.
        chunk_scores: attention scores computed per step: bounds the working memory (cache-sized on CPU;
            larger is faster on GPUs).
    """

    uses_periodic: ClassVar[bool] = True

    def __init__(
        self,
        block_size: int = 100,
        n_hashes: int = 2,
        num_regions: int | Sequence[int] = 10,
        region_dims: Sequence[int] = (0, 1),
        bucket_width: float = 1.0,
        *,
        periodic: Sequence[bool] | None = None,
        seed: int | None = None,
        chunk_scores: int = 1 << 20,
    ) -> None:
        super().__init__()
        self.region_dims = tuple(int(d) for d in region_dims)
        if len(self.region_dims) not in _REGION_DIMS_ALLOWED:
            raise ValueError(f"region_dims must have a length in {_REGION_DIMS_ALLOWED}, got {region_dims}")
        if len(set(self.region_dims)) != len(self.region_dims) or min(self.region_dims) < 0:
            raise ValueError(f"region_dims must be distinct non-negative columns, got {region_dims}")
        regions = [num_regions] * len(self.region_dims) if isinstance(num_regions, int) else num_regions
        self.num_regions = tuple(int(n) for n in regions)
        if len(self.num_regions) != len(self.region_dims) or min(self.num_regions) < 1:
            raise ValueError(f"num_regions must be >= 1, one per region dim, got {num_regions}")
        if block_size < 1 or n_hashes < 1 or chunk_scores < 1 or not bucket_width > 0:
            raise ValueError(
                "need block_size, n_hashes, chunk_scores >= 1 and bucket_width > 0; got "
                f"{block_size}, {n_hashes}, {chunk_scores}, {bucket_width}"
            )
        self.block_size = int(block_size)
        self.n_hashes = int(n_hashes)
        self.bucket_width = float(bucket_width)
        self.chunk_scores = int(chunk_scores)
        self.periodic = None if periodic is None else [bool(p) for p in periodic]
        self.seed = int(torch.randint(0, 2**31 - 1, ()).item()) if seed is None else int(seed)

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``print(module)``."""
        return (
            f"block_size={self.block_size}, n_hashes={self.n_hashes}, num_regions={self.num_regions}, "
            f"region_dims={self.region_dims}, bucket_width={self.bucket_width}, periodic={self.periodic}, "
            f"seed={self.seed}"
        )

    def get_extra_state(self) -> dict[str, Any]:
        """Persist the hash seed in the state dict."""
        return {"seed": self.seed}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        """Restore the hash seed from the state dict."""
        self.seed = int(state["seed"])

    def forward(
        self,
        q_hat: Tensor,
        k_hat: Tensor,
        v: Tensor,
        coords: Tensor,
        batch: Tensor,
        *,
        sink: Tensor | None = None,
    ) -> Tensor:
        """Attend q̂, k̂ [N, H, D], v [N, H, Dv] within LSH blocks of each event of ``batch`` [N].

        ``coords`` [N, C] are the raw coordinates, used for the regions; ``sink`` [H] the log-kernel of a
        null key every query sees (see :func:`src.attention.kernel.sink_logits`). Returns [N, H, Dv] in
        v's dtype.
        """
        n, heads, dv = v.shape
        if n == 0:
            return v.new_zeros(n, heads, dv)
        hashing = self._hash(q_hat.detach(), k_hat.detach(), coords, batch)
        dtype = torch.promote_types(q_hat.dtype, torch.float32)
        outs = [
            self._head(
                *(x[:, h].to(dtype) for x in (q_hat, k_hat, v)),
                self._sort(hashing, h),
                None if sink is None else sink[h].to(dtype),
            )
            for h in range(heads)
        ]
        return torch.stack(outs, dim=1).to(v.dtype)

    @torch.no_grad()
    def assign_blocks(
        self, q_hat: Tensor, k_hat: Tensor, coords: Tensor, batch: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Block of every query and key per table and head, as int32 ([T, H, N], [T, H, N]).

        Query i attends key j in table t and head h iff their blocks are equal; block ids are global
        (unique across events), so they also show that no block straddles two events.
        """
        hashing = self._hash(q_hat, k_hat, coords, batch)
        block = torch.stack([self._sort(hashing, h).block[..., :-1] for h in range(q_hat.shape[1])], dim=2)
        return block[0], block[1]

    def _head(self, q_hat: Tensor, k_hat: Tensor, v: Tensor, layout: _Layout, sink: Tensor | None) -> Tensor:
        """One head: q̂, k̂ [N, D], v [N, Dv] -> [N, Dv]; the tables (and the null key of ``sink``, a
        scalar log-kernel) are merged by log-sum-exp."""
        q, k = rbf_as_dot_product(q_hat, k_hat)
        dim = q.shape[-1]
        kv = torch.cat([k, v, torch.ones_like(k[:, :1])], dim=-1)  # ones: the denominator
        pad_kv = kv.new_zeros(1, kv.shape[-1])
        pad_kv[:, dim - 1] = _MASKED  # padded key slots: masked logit for every real query
        q = torch.cat([q, q.new_zeros(1, dim)])  # [N + 1, ·]; row N is the padding slot
        kv = torch.cat([kv, pad_kv])
        acc, peak = self._table(q, kv, layout, 0)
        for t in range(1, self.n_hashes):
            acc_t, peak_t = self._table(q, kv, layout, t)
            top = torch.maximum(peak, peak_t)
            acc = acc * (peak - top).exp()[:, None] + acc_t * (peak_t - top).exp()[:, None]
            peak = top
        if sink is not None:  # the null key: value 0, so it only adds to the denominator
            null = sink_logits(q_hat, sink)
            top = torch.maximum(peak, null.detach())
            acc = acc * (peak - top).exp()[:, None]
            acc = torch.cat([acc[:, :-1], acc[:, -1:] + (null - top).exp()[:, None]], dim=-1)
        return acc[:, :-1] / acc[:, -1:]

    def _table(self, q: Tensor, kv: Tensor, layout: _Layout, t: int) -> tuple[Tensor, Tensor]:
        """Block attention of table t over the pairs that did not share a block in tables 0..t-1.

        Blocks are processed in cache-sized chunks. Returns, per query, Σ_j exp(s_ij − peak_i) [v_j, 1]
        over those pairs [N, Dv + 1] (numerator and denominator) and the stabiliser peak [N].
        """
        index = layout.index[:, t]  # [2, L]
        earlier = layout.block[:, :t].gather(-1, index[:, None].expand(-1, t, -1))  # [2, t, L]
        step = max(1, self.chunk_scores // self.block_size**2) * self.block_size
        acc, peak = zip(
            *(
                self._blocks(
                    q.index_select(0, index[0, i : i + step]),
                    kv.index_select(0, index[1, i : i + step]),
                    earlier[..., i : i + step],
                )
                for i in range(0, index.shape[-1], step)
            ),
            strict=True,
        )
        slot = layout.slot[0, t]
        return torch.cat(acc).index_select(0, slot), torch.cat(peak).index_select(0, slot)

    def _blocks(self, q: Tensor, kv: Tensor, earlier: Tensor) -> tuple[Tensor, Tensor]:
        """Attention inside consecutive blocks of slots: q [R, D], kv [R, D + Dv + 1] -> [R, Dv + 1], [R].

        ``earlier`` [2, t, R] holds the blocks of the same query/key slots in the previous tables; pairs
        that already met there are masked so that each key counts once in the union normalisation.
        """
        b, dim = self.block_size, q.shape[-1]
        k, v = kv[:, :dim].unflatten(0, (-1, b)), kv[:, dim:].unflatten(0, (-1, b))
        scores = q.unflatten(0, (-1, b)) @ k.transpose(1, 2)  # [nb, B, B]
        if earlier.shape[1]:
            qb, kb = earlier.unflatten(-1, (-1, b))  # [t, nb, B] each
            seen = qb[0, :, :, None] == kb[0, :, None, :]  # [nb, B, B]
            for u in range(1, earlier.shape[1]):
                seen |= qb[u, :, :, None] == kb[u, :, None, :]
            scores = scores.masked_fill_(seen, _MASKED)
        # the stabiliser needs no gradient: it cancels between numerator and denominator exactly
        peak = scores.detach().amax(dim=-1, keepdim=True)
        acc = scores.sub_(peak).exp_() @ v  # [nb, B, Dv + 1], last channel the denominator
        return acc.flatten(0, 1), peak.flatten()

    @torch.no_grad()
    def _hash(self, q_hat: Tensor, k_hat: Tensor, coords: Tensor, batch: Tensor) -> _Hashing:
        """Event layout, (event, region) keys and the E2LSH projections of all heads."""
        self._check_inputs(q_hat, k_hat, coords, batch)
        n, heads, dim = q_hat.shape
        proj, shift, offsets = self._random(heads, dim, q_hat.device)
        events = self._events(batch)
        region, n_regions = self._regions(coords, batch, events, offsets)
        # all heads at once: block-diagonal [H·D, H·T·2] projection matrix, one GEMM per q/k
        p = torch.stack([x.float().flatten(1) @ proj for x in (q_hat, k_hat)])
        p = p.view(2, n, heads, self.n_hashes, 2).permute(2, 0, 3, 1, 4)  # [H, 2, T, N, 2]
        return _Hashing(events, batch * n_regions + region, p, shift)

    @torch.no_grad()
    def _sort(self, hashing: _Hashing, h: int) -> _Layout:
        """Layout of head h: queries and keys of every table sorted by (event, region, bucket)."""
        p, events = hashing.proj[h], hashing.events
        bucket = torch.floor((p[..., 0] + hashing.shift[h, :, None]) / self.bucket_width).long()
        perm = lexsort([hashing.primary.expand_as(bucket), bucket, p[..., 1]])  # [2, T, N]
        slot_sorted = events.slot.expand_as(perm)
        slot = torch.empty_like(perm).scatter_(-1, perm, slot_sorted)
        index = perm.new_full((*perm.shape[:-1], events.length), perm.shape[-1])
        index = index.scatter_(-1, slot_sorted, perm)
        sentinel = torch.tensor([[[-1]], [[-2]]], device=perm.device).expand(*perm.shape[:-1], 1)
        return _Layout(slot, index, torch.cat([slot // self.block_size, sentinel], dim=-1).int())

    def _random(self, heads: int, dim: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
        """Seeded hash projections [H·D, H·T·2] (block-diagonal), bucket shifts [H, T], offsets [T, R]."""
        gen = torch.Generator().manual_seed(self.seed)
        proj = torch.randn(heads, dim, self.n_hashes * 2, generator=gen)
        shift = torch.rand(heads, self.n_hashes, generator=gen) * self.bucket_width
        offsets = torch.rand(self.n_hashes, len(self.region_dims), generator=gen, dtype=torch.float64)
        return torch.block_diag(*proj).to(device), shift.to(device), offsets.to(device)

    def _events(self, batch: Tensor) -> _Events:
        """Event sizes and the padded slot of each event-major sorted position."""
        b = self.block_size
        counts = torch.bincount(batch)
        start = torch.cumsum(counts, 0) - counts
        padded = (counts + b - 1) // b * b
        pad_start = torch.cumsum(padded, 0) - padded
        ev = torch.repeat_interleave(torch.arange(len(counts), device=batch.device), counts)
        slot = torch.arange(len(batch), device=batch.device) - start[ev] + pad_start[ev]
        return _Events(counts, start, slot, int(padded.sum()))

    def _regions(self, coords: Tensor, batch: Tensor, events: _Events, offsets: Tensor) -> tuple[Tensor, int]:
        """Equal-count region id per table and object [T, N] (int64), and the number of regions.

        Periodic coordinates are rotated by a per-table angle before binning; the others get per-table
        staggered bin edges (one extra, partial bin), so region boundaries differ between tables.
        """
        periodic = check_periodic(self.periodic, coords.shape[1])
        region = torch.zeros(self.n_hashes, coords.shape[0], dtype=torch.long, device=coords.device)
        n_total = 1
        for i, (d, n_d) in enumerate(zip(self.region_dims, self.num_regions, strict=True)):
            col, offset = coords[:, d].double()[None], offsets[:, i : i + 1]
            if periodic[d]:
                x, stagger, n_bins = torch.remainder(col + 2 * math.pi * offset, 2 * math.pi), 0.0, n_d
            else:
                x, stagger, n_bins = col, offset, n_d + 1
            rank = quantile_rank(x, batch, events.start).double()
            bins = torch.floor(rank * n_d / events.counts[batch] + stagger).long()
            region = region * n_bins + bins
            n_total *= n_bins
        return region, n_total

    def _check_inputs(self, q_hat: Tensor, k_hat: Tensor, coords: Tensor, batch: Tensor) -> None:
        """Raise ValueError on inconsistent shapes or region dims outside the coordinates."""
        n = q_hat.shape[0]
        if q_hat.dim() != 3 or q_hat.shape != k_hat.shape:
            raise ValueError(f"q_hat and k_hat must both be [N, H, D], got {q_hat.shape}, {k_hat.shape}")
        if coords.dim() != 2 or coords.shape[0] != n or batch.shape != (n,):
            raise ValueError(f"coords [N, C] and batch [N] must match N={n}")
        if max(self.region_dims) >= coords.shape[1]:
            raise ValueError(f"region_dims {self.region_dims} must be in range({coords.shape[1]}) (coords)")
