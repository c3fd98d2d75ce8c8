"""Cells: which cell of a layer a deposit falls in, the cell's centre and a unique 64-bit cell id.

Barrel layers are cut into square cells in (R φ, z) (``floor(2π R / cell)`` cells around), endcap
layers into square cells in (x, y) or into tiles square in (ln r, φ) (``tiles`` per turn, from the
layer's inner boundary outwards, as HGCAL's scintillator tiles). The cell id packs the subdetector,
the layer within it, the side (endcaps: 0 for z < 0) and the two cell indices.
"""

from __future__ import annotations

import numpy as np

from src.sim.calo.geometry import Region

TWO_PI = 2.0 * np.pi
_INDEX_BITS = 21
_INDEX_OFFSET = 1 << (_INDEX_BITS - 1)


def cell_id(
    subdetector: np.ndarray, layer: np.ndarray, side: np.ndarray, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    """Unique id of each cell from its subdetector, layer within it, side and cell indices."""
    out = (subdetector.astype(np.int64) << 9) | (layer.astype(np.int64) << 1) | side.astype(np.int64)
    out = (out << _INDEX_BITS) | (i.astype(np.int64) + _INDEX_OFFSET)
    return (out << _INDEX_BITS) | (j.astype(np.int64) + _INDEX_OFFSET)


def assign_cells(
    region: Region, layer: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cells of deposits at (x, y, z) on layers ``layer`` of ``region``.

    Returns (inside: mask of deposits within the layer's extent, readout index [n], cell id [n],
    cell centre [n, 3]); entries outside the extent are meaningless.
    """
    r = np.hypot(x, y)
    phi = np.arctan2(y, x)
    outer = (region.outer[layer] >= 0) & (r >= region.boundary[layer])
    readout = np.where(outer, region.outer[layer], region.inner[layer])
    cell = np.array([ro.cell for ro in region.readouts])[readout]
    tiles = np.array([ro.tiles for ro in region.readouts])[readout]
    sub = np.array([ro.subdetector for ro in region.readouts])[readout]
    pos = region.position[layer]
    centre = np.empty((len(layer), 3))
    if region.barrel:
        inside = np.abs(z) <= region.hi[layer]
        n_phi = np.floor(TWO_PI * pos / cell)
        i = np.minimum(np.floor((phi + np.pi) / TWO_PI * n_phi), n_phi - 1)
        j = np.floor(z / cell)
        phi_c = (i + 0.5) * TWO_PI / n_phi - np.pi
        centre[:] = np.stack([pos * np.cos(phi_c), pos * np.sin(phi_c), (j + 0.5) * cell], axis=1)
        side = np.zeros(len(layer), dtype=np.int64)
    else:
        inside = (r >= region.lo[layer]) & (r <= region.hi[layer])
        side = (z > 0).astype(np.int64)
        zc = np.where(side == 1, pos, -pos)
        grid = tiles == 0
        safe = np.where(grid, cell, 1.0)
        i = np.where(grid, np.floor(x / safe), 0.0)
        j = np.where(grid, np.floor(y / safe), 0.0)
        centre[:] = np.stack([(i + 0.5) * safe, (j + 0.5) * safe, zc], axis=1)
        if not grid.all():
            t = ~grid
            dphi = TWO_PI / tiles[t]
            r_ref = np.where(
                np.isfinite(region.boundary[layer[t]]), region.boundary[layer[t]], region.lo[layer[t]]
            )
            i[t] = np.floor(np.log(r[t] / r_ref) / dphi)
            j[t] = np.floor((phi[t] + np.pi) / dphi) % tiles[t]
            rc = r_ref * np.exp((i[t] + 0.5) * dphi)
            pc = (j[t] + 0.5) * dphi - np.pi
            centre[t] = np.stack([rc * np.cos(pc), rc * np.sin(pc), zc[t]], axis=1)
    ids = cell_id(sub, region.layer_in_subdetector[layer], side, i.astype(np.int64), j.astype(np.int64))
    return inside, readout, ids, centre
