"""Doublet estimates of a hit's helix: the track through the beam line, the hit and its nearest neighbour.

For each hit, its nearest hit (in η, φ) one layer further out and one layer further in — farther from the
origin by more than ``min_step`` mm in ρ = √(r² + z²), which orders the hits of a track from the beam line
in the barrel and the disks alike — defines with the beam line a helix: the circle through the origin and
both hits in the transverse plane (signed curvature κ = ±1/2R, the ``helix`` frame's convention of
:func:`src.data.views.from_frame`) and the straight line through both hits in (s, z), s the transverse
arc length (z0 on the beam line, cot θ). Hits of one track share these parameters wherever their
neighbour is on the same track, so the backbone sees, hit by hit, what the classical seeding sees.
A hit without a neighbour on one side takes the other side's estimate.
"""

from __future__ import annotations

import torch

#: Columns per direction (outward, inward): κ (per m), z0 (mm), sin φ0, cos φ0, cot θ.
DOUBLET_COLUMNS = ("kappa", "z0", "sin_phi0", "cos_phi0", "cot_theta")
#: Bounds of the estimates (curvature per m: pT >= 0.06 GeV at 2 T; z0 in mm; cot θ: |η| <= 3.7).
KAPPA_MAX, Z0_MAX, COT_MAX = 5.0, 300.0, 20.0


def transverse_path(r: torch.Tensor, kappa: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Turning angle asin(r κ) and transverse arc length s = asin(r κ) / κ from the beam line to radius
    ``r`` (mm) on a circle through the beam line of signed curvature κ = ±1/2R (per mm); |r κ| is held
    below 0.99 and s follows its series where r κ is small."""
    a = (r * kappa).clamp(-0.99, 0.99)
    bend = torch.asin(a)
    small = a.abs() < 1e-4
    return bend, r * torch.where(small, 1.0 + a * a / 6.0, bend / torch.where(small, 1.0, a))


def _helix_through(
    pos: torch.Tensor, other: torch.Tensor, order: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """κ (per m), z0 (mm), φ0 and cot θ of the helix from the beam line through hits ``pos`` and ``other``
    (``order`` [N]: 1 where ``other`` is the later hit along the track, −1 the earlier)."""
    x1, y1, z1 = pos.unbind(1)
    x2, y2, z2 = other.unbind(1)
    r1, r2 = torch.hypot(x1, y1), torch.hypot(x2, y2)
    chord = torch.hypot(x1 - x2, y1 - y2)
    # circumcircle of (0, 0), hit 1, hit 2: signed 1/R = 2 (p1 × p2) / (|p1| |p2| |p1 − p2|); κ = 1/(2R)
    # (the sign is the turn from the earlier hit to the later one)
    kappa = order * (x1 * y2 - x2 * y1) / (r1 * r2 * chord).clamp_min(1e-9)
    kappa = kappa.clamp(-KAPPA_MAX * 1e-3, KAPPA_MAX * 1e-3)

    bend, s1 = transverse_path(r1, kappa)
    _, s2 = transverse_path(r2, kappa)
    step = s2 - s1
    cot = ((z2 - z1) / torch.where(step.abs() < 1e-6, torch.full_like(step, 1e-6), step)).clamp(
        -COT_MAX, COT_MAX
    )
    z0 = (z1 - cot * s1).clamp(-Z0_MAX, Z0_MAX)
    phi0 = torch.atan2(y1, x1) - bend
    return kappa * 1e3, z0, phi0, cot


def _nearest_per_side(
    eta: torch.Tensor, phi: torch.Tensor, rho: torch.Tensor, min_step: float, chunk: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """For the outward and the inward side: each hit's nearest hit in (η, φ) farther out (in) by more
    than ``min_step`` in ρ, and whether it has one; rows in blocks of ``chunk`` hits, so that memory grows
    as chunk × N, not N²."""
    n = len(eta)
    found = {sign: ([], []) for sign in (1.0, -1.0)}
    for lo in range(0, n, chunk):
        rows = slice(lo, min(lo + chunk, n))
        dphi = torch.remainder(phi[None] - phi[rows, None] + torch.pi, 2 * torch.pi) - torch.pi
        dist = dphi**2 + (eta[None] - eta[rows, None]) ** 2
        step = rho[None] - rho[rows, None]
        for sign, (index, has) in found.items():
            best, j = torch.where(sign * step > min_step, dist, torch.inf).min(dim=1)
            index.append(j)
            has.append(torch.isfinite(best))
    return [(torch.cat(index), torch.cat(has)) for index, has in found.values()]


def doublet_features(pos: torch.Tensor, *, min_step: float = 20.0, chunk: int = 1024) -> torch.Tensor:
    """Doublet estimates [N, 10] of hit positions [N, 3] (mm): :data:`DOUBLET_COLUMNS` of the outward
    doublet, then of the inward one (each side falls back on the other; a lone hit gets its own
    direction: κ = 0, z0 = 0). The neighbour search runs on blocks of ``chunk`` hits."""
    pos = pos.double()
    n = len(pos)
    if n == 0:
        return torch.zeros(0, 2 * len(DOUBLET_COLUMNS), dtype=torch.float32)
    r = torch.hypot(pos[:, 0], pos[:, 1]).clamp_min(1e-6)
    phi, eta = torch.atan2(pos[:, 1], pos[:, 0]), torch.asinh(pos[:, 2] / r)
    rho = torch.hypot(r, pos[:, 2])
    sides = _nearest_per_side(eta, phi, rho, min_step, chunk)
    (j_out, has_out), (j_in, has_in) = sides
    j_out = torch.where(has_out, j_out, j_in)
    j_in = torch.where(has_in, j_in, j_out)
    lone = ~(has_out | has_in)
    columns = []
    for j, sign, has in ((j_out, 1.0, has_out), (j_in, -1.0, has_in)):
        # a side that fell back on the other keeps that side's order
        order = torch.where(has, sign, -sign).double()
        kappa, z0, phi0, cot = _helix_through(pos, pos[j], order)
        kappa, z0 = torch.where(lone, 0.0, kappa), torch.where(lone, 0.0, z0)
        phi0 = torch.where(lone, phi, phi0)
        cot = torch.where(lone, torch.sinh(eta), cot)
        columns += [kappa, z0, torch.sin(phi0), torch.cos(phi0), cot]
    return torch.stack(columns, dim=1).float()
