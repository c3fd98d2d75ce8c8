"""The calorimeter simulation: generator particles in, the calorimeter event out (``gen_*`` with
``gen_calo_entry`` filled, and ``hit_*`` with their truth contributions; see ``src.event_model``).

Which particles reach the calorimeter: final-state particles (not decayed by the generator, no daughters
of their own, produced inside the entrance surfaces) other than neutrinos, which leave nothing. Charged
ones follow helices in the field to the entrance (:mod:`src.sim.calo.propagation`); there photons and
e± shower electromagnetically, muons cross as MIPs, every other particle as a hadron (MIP until it
interacts, then a hadronic shower of its available energy: E for mesons, E − m for baryons, E + m for
anti-baryons). K0S and Λ reach the calorimeter as hadrons unless a decay step before this one has
decayed them in flight (their daughters then carry the particle's history through ``gen_parent``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from src.event_model import SUBDETECTORS
from src.sim.calo.deposits import Axes, Deposits, em_showers, hadron_showers, make_axes, mip_tracks
from src.sim.calo.digitise import digitise, noise_sources
from src.sim.calo.geometry import Region, build_region
from src.sim.calo.propagation import BARREL, ENDCAP, propagate

NEUTRINOS = (12, 14, 16)
DECAYED = 2
HIT_DTYPES = {
    "hit_cell": np.int64,
    "hit_x": np.float32,
    "hit_y": np.float32,
    "hit_z": np.float32,
    "hit_energy": np.float32,
    "hit_time": np.float32,
    "hit_subdetector": np.int8,
    "hit_layer": np.int16,
}


def _plain(value: Any) -> Any:
    """Config values (OmegaConf containers included) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


class CaloSimulator:
    """A calorimeter (``conf/detector/``): ``barrel`` and ``endcap`` lists of layer blocks (see
    :mod:`src.sim.calo.geometry`), the solenoid field ``b_field`` (T) and whether cells fire on noise
    alone (``noise_hits``). Called with the ``gen_*`` arrays of an event and a seed."""

    def __init__(
        self,
        *,
        name: str,
        b_field: float,
        barrel: Sequence[Mapping[str, Any]] | None,
        endcap: Sequence[Mapping[str, Any]] | None,
        noise_hits: bool,
    ) -> None:
        self.name = name
        self.b_field = float(b_field)
        self.noise_hits = bool(noise_hits)
        self.config = {"barrel": _plain(barrel or []), "endcap": _plain(endcap or [])}
        self.barrel = build_region(self.config["barrel"], barrel=True, where=f"detector={name}.barrel")
        self.endcap = build_region(self.config["endcap"], barrel=False, where=f"detector={name}.endcap")
        if self.barrel is None and self.endcap is None:
            raise ValueError(f"detector={name}: no barrel and no endcap blocks")
        self._regions = [
            (code, region, noise_sources(region) if self.noise_hits else None)
            for code, region in ((BARREL, self.barrel), (ENDCAP, self.endcap))
            if region is not None
        ]

    def describe(self) -> dict[str, Any]:
        """Every setting that changes the events (for the cache's fingerprint)."""
        return {"name": self.name, "b_field": self.b_field, "noise_hits": self.noise_hits, **self.config}

    def entrance(self) -> dict[str, float | None]:
        """Entrance surfaces (mm): barrel radius and half-length, endcap |z| and radii (None where absent)."""
        out: dict[str, float | None] = dict.fromkeys(("radius", "half_length", "z", "r_min", "r_max"))
        if self.barrel is not None:
            out["radius"], _, out["half_length"] = self.barrel.entrance()
        if self.endcap is not None:
            out["z"], out["r_min"], out["r_max"] = self.endcap.entrance()
        return out

    def _per_cell(self, value: Any, subdetector: np.ndarray, layer: np.ndarray) -> np.ndarray:
        """``value(readout)`` for cells of ``subdetector`` and ``layer`` (arrays of hit fields)."""
        table = np.full((len(SUBDETECTORS), 1024), np.nan)
        for region in (self.barrel, self.endcap):
            for ro_index in () if region is None else (region.inner, region.outer):
                for i, j in enumerate(ro_index):
                    if j >= 0:
                        table[region.readouts[j].subdetector, region.layer_in_subdetector[i]] = value(
                            region.readouts[j]
                        )
        return table[np.asarray(subdetector, dtype=np.int64), np.asarray(layer, dtype=np.int64)]

    def noise_sigma(self, subdetector: np.ndarray, layer: np.ndarray) -> np.ndarray:
        """Noise (GeV, calibrated) of cells of ``subdetector`` and ``layer`` (NaN where there is no cell)."""
        return self._per_cell(lambda ro: ro.noise / ro.sampling.f_em, subdetector, layer)

    def _by_subdetector(self, value: Any) -> dict[str, float]:
        """``value(readout)`` of each subdetector, taken at its first layer."""
        out: dict[str, float] = {}
        for region in (self.barrel, self.endcap):
            for ro_index in () if region is None else (*region.inner, *region.outer):
                if ro_index >= 0:
                    ro = region.readouts[ro_index]
                    out.setdefault(SUBDETECTORS[ro.subdetector], float(value(ro)))
        return out

    def noise_by_subdetector(self) -> dict[str, float]:
        """Noise (GeV, calibrated) of each subdetector's cells, taken at its first layer."""
        return self._by_subdetector(lambda ro: ro.noise / ro.sampling.f_em)

    def mip_by_subdetector(self) -> dict[str, float]:
        """Calibrated energy (GeV) of the most probable MIP signal in each subdetector's cells, taken at its
        first layer."""
        return self._by_subdetector(lambda ro: ro.sampling.mip_visible / ro.sampling.f_em)

    def cell_geometry(self) -> dict[str, dict[str, float]]:
        """Per subdetector name: ``cell_size`` (side of its cells, or of its tiles at their inner
        boundary, mm), ``layer_gap`` (layer pitch, mm) and ``layer_offset`` (index of its first layer among
        the layers of its region), taken at its first layer."""
        out: dict[str, dict[str, float]] = {"cell_size": {}, "layer_gap": {}, "layer_offset": {}}
        for region in (self.barrel, self.endcap):
            for ro_index in () if region is None else (region.inner, region.outer):
                for i, j in enumerate(ro_index):
                    name = SUBDETECTORS[region.readouts[j].subdetector] if j >= 0 else None
                    if name is None or name in out["cell_size"]:
                        continue
                    ro = region.readouts[j]
                    r_ref = region.boundary[i] if np.isfinite(region.boundary[i]) else region.lo[i]
                    out["cell_size"][name] = ro.cell or float(r_ref * 2.0 * np.pi / ro.tiles)
                    nxt = min(i + 1, region.n_layers - 1)
                    out["layer_gap"][name] = float(region.position[nxt] - region.position[nxt - 1])
                    out["layer_offset"][name] = i
        return out

    def mip_energy(self, subdetector: np.ndarray, layer: np.ndarray) -> np.ndarray:
        """Calibrated energy (GeV) of the most probable MIP signal in cells of ``subdetector``, ``layer``."""
        return self._per_cell(lambda ro: ro.sampling.mip_visible / ro.sampling.f_em, subdetector, layer)

    def _reaching(self, gen: dict[str, np.ndarray]) -> np.ndarray:
        """Rows of the particles that fly towards the calorimeter."""
        n = len(gen["gen_pdg"])
        parent = gen["gen_parent"]
        has_child = np.zeros(n, dtype=bool)
        has_child[parent[parent >= 0]] = True
        final = (gen["gen_status"] != DECAYED) & ~has_child & ~np.isin(np.abs(gen["gen_pdg"]), NEUTRINOS)
        vertex = np.stack([gen["gen_vx"], gen["gen_vy"], gen["gen_vz"]], axis=1)
        return np.flatnonzero(final & self.inside(vertex))

    def inside(self, vertex: np.ndarray) -> np.ndarray:
        """Which points [n, 3] (mm) lie inside the entrance surfaces (in front of the calorimeter)."""
        ok = np.ones(len(vertex), dtype=bool)
        if self.barrel is not None:
            ok &= np.hypot(vertex[:, 0], vertex[:, 1]) < self.barrel.front
        if self.endcap is not None:
            ok &= np.abs(vertex[:, 2]) < self.endcap.front
        return ok

    def _deposits(
        self,
        region: Region,
        gen: dict[str, np.ndarray],
        rows: np.ndarray,
        axes: Axes,
        *,
        rng: np.random.Generator,
    ) -> Deposits:
        """Deposits of the particles ``rows`` entering ``region`` along ``axes``."""
        pdg, energy, mass = gen["gen_pdg"][rows], gen["gen_energy"][rows], gen["gen_mass"][rows]
        apdg = np.abs(pdg)
        index = np.arange(len(rows))
        em = np.isin(apdg, (11, 22))
        muon = apdg == 13
        hadron = ~em & ~muon & (apdg > 100)
        baryon = hadron & ((apdg // 1000) % 10 > 0)
        available = np.where(baryon, energy - np.sign(pdg) * mass, energy)
        charged = gen["gen_charge"][rows] != 0
        parts = []
        if em.any():
            parts.append(
                em_showers(region, axes, rows, index[em], energy[em], photon=apdg[em] == 22, rng=rng)
            )
        if muon.any():
            kinetic, last = energy[muon] - mass[muon], np.full(muon.sum(), region.n_layers)
            parts.append(mip_tracks(region, axes, rows, index[muon], kinetic=kinetic, last=last)[0])
        if hadron.any():
            h = hadron
            parts.append(
                hadron_showers(
                    region, axes, rows, index[h], available[h], charged=charged[h], baryon=baryon[h], rng=rng
                )
            )
        return Deposits.concat(parts)

    def __call__(self, gen: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
        """The calorimeter event of generator particles ``gen`` (deterministic for ``seed``)."""
        rng = np.random.default_rng(seed)
        rows = self._reaching(gen)
        entry = propagate(
            gen,
            rows,
            b_field=self.b_field,
            barrel=self.barrel.entrance() if self.barrel is not None else None,
            endcap=self.endcap.entrance() if self.endcap is not None else None,
        )
        pieces = []
        for code, region, noise in self._regions:
            sel = entry.region == code
            deposits = Deposits.concat([])
            if sel.any():
                axes = make_axes(region, entry.position[sel], entry.direction[sel], entry.time[sel])
                deposits = self._deposits(region, gen, rows[sel], axes, rng=rng)
            if sel.any() or noise is not None:  # cells fire on noise alone in every event
                pieces.append(digitise(region, deposits, rng, noise=noise))
        out = {k: np.asarray(v).copy() for k, v in gen.items()}
        out["gen_calo_entry"] = np.full(len(gen["gen_pdg"]), -1, dtype=np.int32)
        out["gen_calo_entry"][rows[entry.region >= 0]] = rows[entry.region >= 0]
        return out | assemble(pieces)


def assemble(pieces: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The ``hit_*`` arrays of the event from the hits of its regions, sorted by cell id, with the truth
    contributions in CSR form and each hit's main particle."""
    n_hits = [len(p["hit_cell"]) for p in pieces]
    offsets = np.concatenate([[0], np.cumsum(n_hits)])[:-1].astype(np.int64)
    hits = {
        k: np.concatenate([p[k] for p in pieces]) if pieces else np.zeros(0, dtype=d)
        for k, d in HIT_DTYPES.items()
    }
    cell = (
        np.concatenate([p["contrib_cell"] + o for p, o in zip(pieces, offsets, strict=True)])
        if pieces
        else np.zeros(0, np.int64)
    )
    particle = np.concatenate([p["contrib_particle"] for p in pieces]) if pieces else np.zeros(0, np.int64)
    energy = np.concatenate([p["contrib_energy"] for p in pieces]) if pieces else np.zeros(0)
    order = np.argsort(hits["hit_cell"], kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    hits = {k: v[order].astype(HIT_DTYPES[k]) for k, v in hits.items()}
    cell = rank[cell]
    by = np.lexsort((-energy, cell))
    cell, particle, energy = cell[by], particle[by], energy[by]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=len(order)))]).astype(np.int64)
    main = np.full(len(order), -1, dtype=np.int32)
    has = ptr[1:] > ptr[:-1]
    main[has] = particle[ptr[:-1][has]]
    return hits | {
        "hit_particle": main,
        "hit_contrib_ptr": ptr,
        "hit_contrib_particle": particle.astype(np.int32),
        "hit_contrib_energy": energy.astype(np.float32),
    }
