"""Calorimeter geometry: the layers of a barrel or an endcap region and the readouts of their cells.

A region (``barrel`` or ``endcap`` of a detector config) is a list of blocks, innermost first; a block
is ``layers`` identical sampling layers every ``pitch`` mm from ``front`` (a radius in the barrel, |z|
in the endcaps), each made of ``absorber`` materials followed by one ``active`` material (name → mm).
Barrel blocks span |z| <= ``half_length``; endcap blocks (both sides) span ``radius: [r_min, r_max]``
or a pseudorapidity range ``eta: [lo, hi]`` (radii scaling with |z|). Every block has a readout
(:class:`Readout`): its subdetector (``src.event_model.SUBDETECTORS``), its cells (``cell``: square
cells of that side in mm, or ``tiles``: that many tiles in φ, square in (ln r, φ)), the sampling
coefficient c of its stochastic term (σ/E = c sqrt(ΔE_MIP / E), ΔE_MIP the MIP loss per layer in MeV),
the response of hadronic energy relative to EM (``h_over_e``), the noise and threshold in MIP units.
An endcap block may have an ``outer`` readout beyond radius ``boundary`` (HGCAL's scintillator tiles
behind its silicon), with its own active material and readout keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from src.event_model import SUBDETECTORS
from src.sim.calo.materials import Sampling, sampling

BLOCK_KEYS = {
    "subdetector", "layers", "front", "pitch", "absorber", "active", "cell", "tiles",
    "sampling_coefficient", "h_over_e", "noise_mip", "threshold_mip", "half_length", "radius", "eta", "outer",
}  # fmt: skip
READOUT_KEYS = {
    "subdetector", "boundary", "active", "cell", "tiles",
    "sampling_coefficient", "h_over_e", "noise_mip", "threshold_mip",
}  # fmt: skip


@dataclass(frozen=True)
class Readout:
    """The cells of one kind of layer and their response (energies in GeV of visible signal)."""

    subdetector: int
    cell: float  # side of square cells (mm); 0 for tiles
    tiles: int  # tiles in φ (square in ln r and φ); 0 for square cells
    sampling: Sampling
    stochastic: float  # σ/E = stochastic / sqrt(E) for EM showers (sqrt GeV)
    h_over_e: float
    noise: float
    threshold: float


@dataclass(frozen=True)
class Region:
    """Every sensitive layer of a barrel or of the endcaps (arrays indexed by layer, innermost first).

    ``position`` is the radius (barrel) or |z| (endcaps) of each active layer, ``x0``/``lam`` the
    material depth (normal incidence) from the region's ``front`` to the end of each layer, ``lo``/``hi``
    its extent (barrel: |z| <= hi; endcaps: radii, ``projective`` if they scale with |z|), ``inner`` and
    ``outer`` the readouts of each layer (outer beyond radius ``boundary``; −1 for none).
    """

    barrel: bool
    projective: bool
    front: float
    position: np.ndarray
    x0: np.ndarray
    lam: np.ndarray
    moliere: np.ndarray
    lambda_length: np.ndarray
    layer_in_subdetector: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    inner: np.ndarray
    outer: np.ndarray
    boundary: np.ndarray
    readouts: tuple[Readout, ...]

    @property
    def n_layers(self) -> int:
        """Number of sensitive layers."""
        return len(self.position)

    def entrance(self) -> tuple[float, float, float]:
        """(front, lo, hi) of the entrance surface: the first layer's extent at the front."""
        scale = self.front / self.position[0] if self.projective else 1.0
        return self.front, float(self.lo[0] * scale), float(self.hi[0] * scale)

    def first(self) -> Readout:
        """Readout of the first layer (its material sets the parameters of showers starting there)."""
        return self.readouts[int(self.inner[0])]


def _check_keys(entry: Mapping[str, Any], allowed: set[str], required: set[str], where: str) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = required - set(entry)
    if missing:
        raise ValueError(f"{where}: missing key(s) {sorted(missing)}")


def _subdetector(name: str, where: str) -> int:
    if name not in SUBDETECTORS:
        raise ValueError(f"{where}.subdetector: {name!r} is not one of {list(SUBDETECTORS)}")
    return SUBDETECTORS.index(name)


def _readout(
    entry: Mapping[str, Any], absorber: Mapping[str, float], pitch: float, where: str, *, barrel: bool
) -> Readout:
    """A readout from its config entry (the absorber and pitch are its block's)."""
    has_cell, has_tiles = entry.get("cell") is not None, entry.get("tiles") is not None
    if has_cell == has_tiles:
        raise ValueError(f"{where}: give exactly one of cell (mm) or tiles (count in phi)")
    if has_tiles and barrel:
        raise ValueError(f"{where}: barrel layers have square cells (cell: mm), not tiles")
    s = sampling(absorber, entry["active"], pitch, where)
    c = float(entry["sampling_coefficient"])
    return Readout(
        subdetector=_subdetector(entry["subdetector"], where),
        cell=float(entry["cell"]) if has_cell else 0.0,
        tiles=int(entry["tiles"]) if has_tiles else 0,
        sampling=s,
        stochastic=c * float(np.sqrt(s.mip_loss)),
        h_over_e=float(entry["h_over_e"]),
        noise=float(entry["noise_mip"]) * s.mip_visible,
        threshold=float(entry["threshold_mip"]) * s.mip_visible,
    )


def _readouts_of_block(
    block: Mapping[str, Any], at: str, readouts: list[Readout], *, barrel: bool
) -> tuple[int, int, float]:
    """Append the block's readout (and its outer one) to ``readouts``; (inner, outer, boundary radius)."""
    absorber, pitch = dict(block["absorber"]), float(block["pitch"])
    readouts.append(_readout(block, absorber, pitch, at, barrel=barrel))
    if block.get("outer") is None:
        return len(readouts) - 1, -1, np.inf
    if barrel:
        raise ValueError(f"{at}.outer: only endcap blocks have an outer readout")
    entry = dict(block["outer"])
    _check_keys(entry, READOUT_KEYS, READOUT_KEYS - {"cell", "tiles"}, f"{at}.outer")
    readouts.append(_readout(entry, absorber, pitch, f"{at}.outer", barrel=False))
    return len(readouts) - 2, len(readouts) - 1, float(entry["boundary"])


def _extent(block: Mapping[str, Any], pos: np.ndarray, at: str, *, barrel: bool) -> tuple[np.ndarray, ...]:
    """(lo, hi, projective) of the block's layers at positions ``pos``: |z| <= hi in the barrel, radii
    in the endcaps (scaling with |z| when given as an η range)."""
    if barrel:
        return np.zeros(len(pos)), np.full(len(pos), float(block["half_length"])), np.zeros(len(pos), bool)
    has_r, has_eta = block.get("radius") is not None, block.get("eta") is not None
    if has_r == has_eta:
        raise ValueError(f"{at}: give radius: [r_min, r_max] or eta: [lo, hi]")
    if has_eta:
        eta_lo, eta_hi = (float(v) for v in block["eta"])
        return pos / np.sinh(eta_hi), pos / np.sinh(eta_lo), np.ones(len(pos), bool)
    r_min, r_max = (float(v) for v in block["radius"])
    return np.full(len(pos), r_min), np.full(len(pos), r_max), np.zeros(len(pos), bool)


def build_region(blocks: Sequence[Mapping[str, Any]], *, barrel: bool, where: str) -> Region | None:
    """The region of a detector config's ``barrel`` or ``endcap`` list of blocks (None when empty)."""
    if not blocks:
        return None
    required = {"subdetector", "layers", "front", "pitch", "absorber", "active", "sampling_coefficient"}
    required |= {"h_over_e", "noise_mip", "threshold_mip"} | ({"half_length"} if barrel else set())
    readouts: list[Readout] = []
    columns: list[dict[str, np.ndarray]] = []
    front = float(blocks[0]["front"])
    for k, block in enumerate(blocks):
        at = f"{where}[{k}]"
        _check_keys(block, BLOCK_KEYS, required, at)
        pitch, start, n = float(block["pitch"]), float(block["front"]), int(block["layers"])
        if n < 1 or pitch <= 0 or start < front:
            raise ValueError(f"{at}: needs layers >= 1, pitch > 0 and front >= the region's front {front}")
        inner, outer, boundary = _readouts_of_block(block, at, readouts, barrel=barrel)
        s = readouts[inner].sampling
        absorber_mm = sum(float(v) for v in dict(block["absorber"]).values())
        active_mm = sum(float(v) for v in dict(block["active"]).values())
        pos = start + np.arange(n) * pitch + absorber_mm + 0.5 * active_mm
        lo, hi, projective = _extent(block, pos, at, barrel=barrel)
        values = {"x0": s.x0, "lam": s.lambda_i, "rm": s.moliere, "ll": s.lambda_length, "in": inner}
        values |= {"out": outer, "b": boundary, "sub": readouts[inner].subdetector}
        columns.append(
            {"pos": pos, "lo": lo, "hi": hi, "proj": projective}
            | {k: np.full(n, v) for k, v in values.items()}
        )
    col = {key: np.concatenate([c[key] for c in columns]) for key in columns[0]}
    if np.any(np.diff(col["pos"]) <= 0):
        raise ValueError(f"{where}: blocks overlap (layers must move outwards block after block)")
    if len(set(col["proj"])) > 1:
        raise ValueError(f"{where}: give radius or eta the same way in every block")
    layer_in_sub = np.zeros(len(col["pos"]), dtype=np.int16)
    for sub in np.unique(col["sub"]):
        mine = col["sub"] == sub
        layer_in_sub[mine] = np.arange(mine.sum())
    return Region(
        barrel=barrel,
        projective=bool(col["proj"][0]),
        front=front,
        position=col["pos"],
        x0=np.cumsum(col["x0"]),
        lam=np.cumsum(col["lam"]),
        moliere=col["rm"],
        lambda_length=col["ll"],
        layer_in_subdetector=layer_in_sub,
        lo=col["lo"],
        hi=col["hi"],
        inner=col["in"].astype(np.int64),
        outer=col["out"].astype(np.int64),
        boundary=col["b"],
        readouts=tuple(readouts),
    )
