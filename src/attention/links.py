"""Link attention: exact sparse attention from each object's end point to the objects that start there.

Consecutive line segments of a track share a mini-doublet: one segment's end point is the next one's anchor,
equal up to float rounding (measured: below 1e-6 in η and φ on real CMS LST events and simulated ones,
while distinct mini-doublets are at least ~1e-4 apart). The candidates of a link head are therefore found
exactly, by a join on the point coordinates, instead of being left to hashing: an LSH block holds a query's
continuation only when both hash alike, which for a kernel this sharp is rare.

:func:`continuation_pairs` finds, per event, every (i, j) with end(i) within ``tolerance`` of start(j) (a
grid join: sort the starts by cell, search each end's cell; linear in the number of objects).
:func:`link_attention` normalises the RBF kernel over those candidates (plus an optional null key), so a
head learns from the remaining coordinates (e.g. direction) and its query/key which continuation fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from src.attention.kernel import rbf_as_dot_product, sink_logits

#: grid cells are this many tolerances wide: a pair within tolerance is split by a cell edge with
#: probability ~ distance / cell, negligible for points equal up to rounding
_CELLS_PER_TOLERANCE = 100


def link_point_columns(links: Sequence[Sequence[int]]) -> tuple[list[int], list[int]]:
    """Point columns of a (start, end) links spec: the columns where start and end differ.

    Columns the two share (e.g. the segment direction) describe the object, not its end points."""
    start, end = ([int(c) for c in cols] for cols in links)
    points = [(s, e) for s, e in zip(start, end, strict=True) if s != e]
    if not points:
        raise ValueError(f"links {links}: start and end share every column, no end point to join on")
    return [s for s, _ in points], [e for _, e in points]


def _cells(points: Tensor, batch: Tensor, width: float, periodic: Sequence[bool]) -> Tensor:
    """Integer key [N] of (event, grid cell) for points [N, P]; periodic columns wrap at 2π."""
    key, size = batch.long(), int(batch.max()) + 1
    for c, is_periodic in enumerate(periodic):
        col = points[:, c].double()
        if is_periodic:
            col = torch.remainder(col, 2 * math.pi)
        cell = torch.floor(col / width).long()
        low = int(cell.min())
        span = int(cell.max()) - low + 1
        size *= span
        if size >= 2**62:
            raise ValueError(f"link join: {size} grid cells overflow int64; raise the link tolerance")
        key = key * span + (cell - low)
    return key


@torch.no_grad()
def continuation_pairs(
    start: Tensor,
    end: Tensor,
    batch: Tensor,
    *,
    tolerance: float = 1e-5,
    periodic: Sequence[bool] | None = None,
) -> Tensor:
    """Pairs (i, j) [2, E] of the same event with ‖end_i − start_j‖_∞ <= tolerance and i != j.

    ``start``, ``end`` [N, P] are point coordinates (periodic columns in radians, compared on the circle);
    ``batch`` [N] the event of each object. Sorted by i, then j.
    """
    if not tolerance > 0:
        raise ValueError(f"link tolerance must be > 0, got {tolerance}")
    periodic = [False] * start.shape[1] if periodic is None else list(periodic)
    n = start.shape[0]
    if n == 0:
        return torch.zeros(2, 0, dtype=torch.long, device=start.device)
    width = tolerance * _CELLS_PER_TOLERANCE
    both = _cells(torch.cat([start, end]), torch.cat([batch, batch]), width, periodic)
    key_start, key_end = both[:n], both[n:]
    order = torch.argsort(key_start, stable=True)
    sorted_start = key_start[order]
    lo = torch.searchsorted(sorted_start, key_end, side="left")
    hi = torch.searchsorted(sorted_start, key_end, side="right")
    count = hi - lo
    i = torch.repeat_interleave(torch.arange(n, device=start.device), count)
    offset = torch.arange(int(count.sum()), device=start.device) - torch.repeat_interleave(
        torch.cumsum(count, 0) - count, count
    )
    j = order[lo[i] + offset]
    diff = (end[i].double() - start[j].double()).abs()
    for c, is_periodic in enumerate(periodic):
        if is_periodic:
            diff[:, c] = torch.minimum(diff[:, c], 2 * math.pi - diff[:, c])
    keep = (diff <= tolerance).all(dim=1) & (i != j)
    pairs = torch.stack([i[keep], j[keep]])
    return pairs[:, torch.argsort(pairs[0] * n + pairs[1])]


def link_attention(
    q_hat: Tensor, k_hat: Tensor, v: Tensor, pairs: Tensor, *, sink: Tensor | None = None
) -> Tensor:
    """RBF-kernel attention of query i over the keys j of its ``pairs`` [2, E] only.

    q̂, k̂ [N, H, D], v [N, H, Dv]; ``sink`` [H] is the log-kernel of a null key every query sees (value 0).
    Output Σ_j K_ij v_j / (exp(sink) + Σ_j K_ij) with K_ij = exp(−½‖q̂_i − k̂_j‖²); a query without pairs
    (or without a null key, whose weights would be undefined) gets 0. Returns [N, H, Dv] in v's dtype.
    """
    n, heads, dv = v.shape
    dtype = torch.promote_types(q_hat.dtype, torch.float32)
    i, j = pairs
    q, k = rbf_as_dot_product(q_hat.to(dtype), k_hat.to(dtype))
    logits = (q[i] * k[j]).sum(-1)  # [E, H]: −½‖q̂_i − k̂_j‖² + ½‖q̂_i‖²
    null = None if sink is None else sink_logits(q_hat.to(dtype), sink.to(dtype))  # [N, H]
    # the stabiliser needs no gradient: it cancels between numerator and denominator exactly
    peak = torch.full((n, heads), -torch.inf, dtype=dtype, device=v.device)
    peak = peak.scatter_reduce(0, i[:, None].expand_as(logits), logits.detach(), "amax")
    if null is not None:
        peak = torch.maximum(peak, null.detach())
    peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
    weight = (logits - peak[i]).exp()  # [E, H]
    num = torch.zeros(n, heads, dv, dtype=dtype, device=v.device).index_add(
        0, i, weight[..., None] * v[j].to(dtype)
    )
    den = torch.zeros(n, heads, dtype=dtype, device=v.device).index_add(0, i, weight)
    if null is not None:
        den = den + (null - peak).exp()
    out = num / den.clamp_min(torch.finfo(dtype).tiny)[..., None]
    return out.to(v.dtype)
