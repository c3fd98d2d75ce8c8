"""Hand-made calorimeter hit layouts for the clustering tests."""

from __future__ import annotations

import numpy as np

from src.event_model import SUBDETECTORS

ECAL_R, ECAL_PITCH, ECAL_DEPTH = 1500.0, 5.1, 5.0
HCAL_R, HCAL_PITCH, HCAL_DEPTH = 1700.0, 30.0, 26.5


def hits(cells: list[tuple[float, float, int, float, int]], subdetector: str = "ecal_barrel") -> dict:
    """Hits of cells (y, z, layer, energy, particle) in a barrel subdetector facing +x, one truth
    contribution per hit (its particle)."""
    y, z, layer, energy, particle = (np.array(c) for c in zip(*cells, strict=True))
    r0, depth = (ECAL_R, ECAL_DEPTH) if subdetector.startswith("ecal") else (HCAL_R, HCAL_DEPTH)
    n = len(y)
    return {
        "hit_x": (r0 + depth * layer).astype(np.float32),
        "hit_y": y.astype(np.float32),
        "hit_z": z.astype(np.float32),
        "hit_energy": energy.astype(np.float32),
        "hit_subdetector": np.full(n, SUBDETECTORS.index(subdetector), np.int8),
        "hit_layer": layer.astype(np.int16),
        "hit_particle": particle.astype(np.int32),
        "hit_contrib_ptr": np.arange(n + 1, dtype=np.int64),
        "hit_contrib_particle": particle.astype(np.int32),
        "hit_contrib_energy": energy.astype(np.float32),
    }


def merge(*events: dict) -> dict:
    """Hits of several layouts in one event (contribution offsets shifted)."""
    out = {k: np.concatenate([e[k] for e in events]) for k in events[0] if k != "hit_contrib_ptr"}
    ptrs, offset = [np.zeros(1, np.int64)], 0
    for e in events:
        ptrs.append(e["hit_contrib_ptr"][1:] + offset)
        offset += e["hit_contrib_ptr"][-1]
    out["hit_contrib_ptr"] = np.concatenate(ptrs)
    return out


def shower(y0: float, z0: float, *, peak: float, halo: float, particle: int, layers: int = 2) -> list:
    """A 3 × 3-cell shower in ``layers`` ECAL layers: ``peak`` in the centre cell, ``halo`` around."""
    out = []
    for layer in range(layers):
        for dy in (-1, 0, 1):
            for dz in (-1, 0, 1):
                e = peak if dy == dz == 0 else halo
                out.append((y0 + dy * ECAL_PITCH, z0 + dz * ECAL_PITCH, layer, e, particle))
    return out


def synthetic_event(n_showers: int, rng: np.random.Generator) -> dict:
    """A busy event: ``n_showers`` showers of up to 100 ECAL and 60 HCAL hits (Gamma-distributed depth,
    exponential lateral profile, a few cells wide) at random positions on the barrel."""
    events = []
    for k in range(n_showers):
        y0, z0 = rng.uniform(-1200, 1200, 2)
        for sub, pitch, n_layers, n_hits in (
            ("ecal_barrel", ECAL_PITCH, 40, 100),
            ("hcal_barrel", HCAL_PITCH, 60, 60),
        ):
            layer = np.minimum(np.round(rng.gamma(3.0, 2.0, n_hits)), n_layers - 1)
            dy, dz = np.round(rng.laplace(0.0, 1.0, (2, n_hits))) * pitch
            e = rng.exponential(0.05, n_hits) + 0.002
            _, first = np.unique(
                np.stack([layer, dy, dz], axis=1), axis=0, return_index=True
            )  # one hit a cell
            cells = list(
                zip(
                    y0 + dy[first],
                    z0 + dz[first],
                    layer[first],
                    e[first],
                    np.full(len(first), k),
                    strict=True,
                )
            )
            events.append(hits(cells, sub))
    return merge(*events)
