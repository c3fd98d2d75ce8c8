"""Digitisation: deposits into cells, with sampling fluctuations, cell noise, thresholds and noise hits.

Each deposit is calibrated to the EM scale of its readout: an electromagnetic deposit of E GeV keeps
its mean and gets the sampling fluctuation of the readout (a Gamma distribution of variance c² E, as
GFlash samples it); a hadronic one is scaled by the readout's h/e and fluctuates HAD_SAMPLING times
more, plus the intrinsic fluctuation of the energy lost unseen to nuclear binding (HAD_INTRINSIC); a MIP
crossing gives the readout's most probable MIP signal times the path length, with a Landau (Moyal)
fluctuation. Deposits of all particles in a cell are summed (overlapping showers share cells), the
cell's visible signal (calibrated energy × f_em) gets Gaussian noise and is kept at or above the
threshold; the hit energy is visible signal / f_em. Cells without any deposit fire on noise alone at the
rate of the Gaussian tail above threshold (Poisson per layer, uniformly over its cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from src.sim.calo.cells import TWO_PI, assign_cells
from src.sim.calo.deposits import EM, HADRONIC, MIP, Deposits
from src.sim.calo.geometry import Region
from src.sim.calo.showers import HAD_INTRINSIC, HAD_SAMPLING

#: Noise hits get a time uniform in [0, NOISE_WINDOW] ns (the readout window).
NOISE_WINDOW = 10.0


def _readout_table(region: Region, name: str) -> np.ndarray:
    """A readout property (of the readout or of its sampling) of every readout of ``region``."""
    return np.array(
        [getattr(r, name) if hasattr(r, name) else getattr(r.sampling, name) for r in region.readouts]
    )


def calibrated(
    region: Region, deposits: Deposits, readout: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """EM-scale energies (GeV) of deposits read out by ``readout``, with their fluctuations."""
    c = _readout_table(region, "stochastic")[readout]
    out = np.zeros(len(readout))
    for kind in (EM, HADRONIC):
        sel = (deposits.kind == kind) & (deposits.amount > 0)
        if kind == EM:
            mean, var = deposits.amount[sel], c[sel] ** 2
        else:
            mean = deposits.amount[sel] * _readout_table(region, "h_over_e")[readout[sel]]
            var = (HAD_SAMPLING * c[sel]) ** 2 + HAD_INTRINSIC**2
        out[sel] = rng.gamma(mean / var, var) if sel.any() else 0.0
    sel = deposits.kind == MIP
    if sel.any():
        r = readout[sel]
        moyal = -np.log(np.maximum(rng.standard_normal(sel.sum()) ** 2, 1e-300))
        signal = np.maximum(1.0 + _readout_table(region, "landau_width")[r] * moyal, 0.0)
        mip = _readout_table(region, "mip_visible")[r] / _readout_table(region, "f_em")[r]
        out[sel] = deposits.amount[sel] * signal * mip
    return out


@dataclass(frozen=True)
class NoiseSources:
    """Where cells may fire on noise alone: per (layer, readout) of a region, the radii it spans (barrel:
    its half-length) and the expected number of noise hits, cells × P(noise > threshold)."""

    layer: np.ndarray
    readout: np.ndarray
    r1: np.ndarray
    r2: np.ndarray
    expected: np.ndarray


def noise_sources(region: Region) -> NoiseSources:
    """The noise sources of every layer and readout of ``region``."""
    rows = []
    for i in range(region.n_layers):
        pos, lo, hi, boundary = region.position[i], region.lo[i], region.hi[i], region.boundary[i]
        for ro_index, r1, r2 in ((region.inner[i], lo, min(hi, boundary)), (region.outer[i], boundary, hi)):
            if ro_index < 0 or r2 <= r1 or region.readouts[ro_index].noise <= 0:
                continue
            ro = region.readouts[ro_index]
            if region.barrel:
                n_cells = np.floor(TWO_PI * pos / ro.cell) * 2.0 * hi / ro.cell
            elif ro.tiles:
                n_cells = 2.0 * ro.tiles * np.log(r2 / r1) / (TWO_PI / ro.tiles)
            else:
                n_cells = 2.0 * np.pi * (r2**2 - r1**2) / ro.cell**2
            rows.append((i, ro_index, r1, r2, n_cells * ndtr(-ro.threshold / ro.noise)))
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 5
    return NoiseSources(
        layer=np.array(cols[0], dtype=np.int64),
        readout=np.array(cols[1], dtype=np.int64),
        r1=np.array(cols[2], dtype=np.float64),
        r2=np.array(cols[3], dtype=np.float64),
        expected=np.array(cols[4], dtype=np.float64),
    )


def _noise_cells(
    region: Region, sources: NoiseSources, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-only cells: Poisson(expected) per source, spread uniformly over its cells. Returns (layer,
    positions [n, 3], visible signal drawn from the Gaussian tail above threshold)."""
    src = np.repeat(np.arange(len(sources.expected)), rng.poisson(sources.expected))
    layer, ro, r1, r2 = sources.layer[src], sources.readout[src], sources.r1[src], sources.r2[src]
    pos = region.position[layer]
    n = len(src)
    phi = rng.random(n) * TWO_PI
    if region.barrel:
        r, z = pos, rng.uniform(-1.0, 1.0, n) * r2
    else:
        u = rng.random(n)
        tiles = _readout_table(region, "tiles")[ro] > 0
        r = np.where(tiles, r1 * (r2 / np.maximum(r1, 1e-9)) ** u, np.sqrt(r1**2 + u * (r2**2 - r1**2)))
        z = np.where(rng.random(n) < 0.5, -pos, pos)
    noise, threshold = _readout_table(region, "noise")[ro], _readout_table(region, "threshold")[ro]
    tail = ndtr(-threshold / np.where(noise > 0, noise, 1.0))
    signal = noise * ndtri(1.0 - rng.random(n) * tail)
    return layer, np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1), signal


def digitise(
    region: Region, deposits: Deposits, rng: np.random.Generator, *, noise: NoiseSources | None
) -> dict[str, np.ndarray]:
    """Hits of one region from its deposits: ``hit_*`` arrays (without ``hit_contrib_ptr``) plus
    ``contrib_cell`` (row of the hit of each contribution), sorted by cell id."""
    inside, readout, ids, centre = assign_cells(region, deposits.layer, *deposits.position.T)
    keep = inside
    dep = Deposits(*(getattr(deposits, f)[keep] for f in Deposits.__dataclass_fields__))
    readout, ids, centre = readout[keep], ids[keep], centre[keep]
    energy = calibrated(region, dep, readout, rng)
    cells, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    total = np.bincount(inverse, energy, minlength=len(cells))
    f_em = _readout_table(region, "f_em")
    cell_readout = readout[first]
    visible = total * f_em[cell_readout]
    noise_sigma = _readout_table(region, "noise")[cell_readout]
    visible += noise_sigma * rng.standard_normal(len(cells))
    time = np.full(len(cells), np.inf)
    np.minimum.at(time, inverse, dep.time)
    # contributions: energy per (cell, particle)
    width = int(dep.row.max()) + 1 if len(dep.row) else 1
    pair, pair_inverse = np.unique(inverse * width + dep.row, return_inverse=True)
    contrib_energy = np.bincount(pair_inverse, energy, minlength=len(pair))
    contrib_cell, contrib_row = pair // width, pair % width
    fired = visible >= _readout_table(region, "threshold")[cell_readout]
    hits = {
        "hit_cell": cells,
        "hit_x": centre[first, 0],
        "hit_y": centre[first, 1],
        "hit_z": centre[first, 2],
        "hit_energy": visible / f_em[cell_readout],
        "hit_time": time,
        "hit_subdetector": np.array([r.subdetector for r in region.readouts])[cell_readout],
        "hit_layer": region.layer_in_subdetector[dep.layer[first]],
    }
    hits = {k: v[fired] for k, v in hits.items()}
    new_index = np.cumsum(fired) - 1
    keep_contrib = fired[contrib_cell]
    contrib = {
        "contrib_cell": new_index[contrib_cell[keep_contrib]],
        "contrib_particle": contrib_row[keep_contrib],
        "contrib_energy": contrib_energy[keep_contrib],
    }
    if noise is not None:
        hits, contrib = _add_noise_hits(region, noise, hits, contrib, rng)
    return hits | contrib


def _add_noise_hits(
    region: Region,
    sources: NoiseSources,
    hits: dict[str, np.ndarray],
    contrib: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Append noise-only hits in cells without signal and re-sort every hit by cell id."""
    layer, position, signal = _noise_cells(region, sources, rng)
    inside, readout, ids, centre = assign_cells(region, layer, *position.T)
    ids, first = np.unique(ids[inside], return_index=True)
    fresh = ~np.isin(ids, hits["hit_cell"])
    sel = np.flatnonzero(inside)[first[fresh]]
    ro = readout[sel]
    noise_hits = {
        "hit_cell": ids[fresh],
        "hit_x": centre[sel, 0],
        "hit_y": centre[sel, 1],
        "hit_z": centre[sel, 2],
        "hit_energy": signal[sel] / _readout_table(region, "f_em")[ro],
        "hit_time": rng.uniform(0.0, NOISE_WINDOW, len(sel)),
        "hit_subdetector": np.array([r.subdetector for r in region.readouts])[ro],
        "hit_layer": region.layer_in_subdetector[layer[sel]],
    }
    merged = {k: np.concatenate([hits[k], noise_hits[k]]) for k in hits}
    order = np.argsort(merged["hit_cell"], kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    contrib = dict(contrib, contrib_cell=rank[contrib["contrib_cell"]])
    return {k: v[order] for k, v in merged.items()}, contrib
