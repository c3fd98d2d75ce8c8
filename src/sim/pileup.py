"""Pileup: minimum-bias interactions overlaid on a signal event, each particle keeping its origin.

The overlaid event's ``gen_*`` arrays are the signal's rows followed by those of each pileup interaction;
``gen_interaction`` is 0 for the signal and k for the k-th pileup interaction, whose vertex is moved along
the beam by a draw of the luminous region (Gaussian in z and in time). ``gen_parent`` and
``gen_calo_entry`` are shifted with the rows they point at.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_POINTERS = ("gen_parent", "gen_calo_entry")


def select(gen: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    """The rows ``keep`` (boolean mask) of ``gen_*`` arrays; pointers to dropped rows become −1."""
    keep = np.asarray(keep, dtype=bool)
    new_row = np.where(keep, np.cumsum(keep) - 1, -1)
    out = {k: np.asarray(v)[keep] for k, v in gen.items()}
    for key in _POINTERS:
        if key in out:
            old = out[key].astype(np.int64)
            out[key] = np.where(old >= 0, new_row[np.maximum(old, 0)], -1).astype(gen[key].dtype)
    return out


def overlay(
    signal: dict[str, np.ndarray],
    pileups: Sequence[dict[str, np.ndarray]],
    *,
    vertex_z: Sequence[float],
    vertex_t: Sequence[float],
) -> dict[str, np.ndarray]:
    """Signal and pileup interactions in one ``gen_*`` table with ``gen_interaction`` set; pileup
    interaction k (1-based) is moved by ``vertex_z[k-1]`` (mm) and ``vertex_t[k-1]`` (ns)."""
    if not len(pileups) == len(vertex_z) == len(vertex_t):
        raise ValueError(
            f"{len(pileups)} pileup interactions but {len(vertex_z)} z and {len(vertex_t)} t draws"
        )
    parts = [dict(signal)]
    for pu, dz, dt in zip(pileups, vertex_z, vertex_t, strict=True):
        moved = dict(pu)
        moved["gen_vz"] = np.asarray(pu["gen_vz"], dtype=np.float64) + dz
        moved["gen_time"] = np.asarray(pu["gen_time"], dtype=np.float64) + dt
        parts.append(moved)
    offset = 0
    keys = [k for k in signal if k != "gen_interaction"]
    out: dict[str, list[np.ndarray]] = {k: [] for k in (*keys, "gen_interaction")}
    for k, part in enumerate(parts):
        n = len(part["gen_pdg"])
        for key in keys:
            value = np.asarray(part[key])
            if key in _POINTERS:
                value = np.where(value >= 0, value + offset, -1).astype(value.dtype)
            out[key].append(value)
        out["gen_interaction"].append(np.full(n, k, dtype=np.int16))
        offset += n
    return {k: np.concatenate(v) for k, v in out.items()}


def luminous_region(
    rng: np.random.Generator, n: int, *, sigma_z: float, sigma_t: float
) -> tuple[np.ndarray, np.ndarray]:
    """Vertex z (mm) and time (ns) of ``n`` interactions drawn from a Gaussian luminous region."""
    return rng.normal(0.0, sigma_z, n), rng.normal(0.0, sigma_t, n)
