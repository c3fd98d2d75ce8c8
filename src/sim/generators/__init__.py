"""Event generators: what hits the detector. Each generator is a Hydra ``_target_`` (``conf/generator/``)
satisfying :class:`EventGenerator`: called with a seed it returns one event's generator-level particles as
the ``gen_*`` arrays of :data:`src.event_model.GEN_PARTICLES` (mm, GeV, ns), deterministic for the seed.
:func:`particle_table` builds those arrays, taking masses and charges from the PDG data of the
``particle`` package rather than hand-written tables."""

from __future__ import annotations

import functools
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from particle import Particle
from particle.particle.particle import ParticleNotFound

#: Generator status codes (``gen_status``).
FINAL, DECAYED, SIMULATED = 1, 2, 0


@runtime_checkable
class EventGenerator(Protocol):
    """A source of generator-level events."""

    def __call__(self, seed: int) -> dict[str, np.ndarray]:
        """The ``gen_*`` arrays of one event (deterministic for ``seed``)."""

    def describe(self) -> dict[str, Any]:
        """Every setting that changes the events, for the cache's fingerprint."""


@functools.lru_cache(maxsize=4096)
def pdg_mass_charge(pdg: int) -> tuple[float, float]:
    """(mass in GeV, charge in e) of a PDG id; a ``ValueError`` names an id the PDG tables do not know."""
    try:
        p = Particle.from_pdgid(int(pdg))
    except (ParticleNotFound, ValueError) as err:
        raise ValueError(f"PDG id {pdg} is not in the PDG tables of the particle package") from err
    return (p.mass or 0.0) / 1000.0, float(p.charge or 0.0)


def particle_table(
    pdg: npt.ArrayLike,
    px: npt.ArrayLike,
    py: npt.ArrayLike,
    pz: npt.ArrayLike,
    *,
    vertex: npt.ArrayLike | None = None,
    time: npt.ArrayLike | float = 0.0,
    status: npt.ArrayLike | int = FINAL,
    parent: npt.ArrayLike | int = -1,
    mass: npt.ArrayLike | None = None,
) -> dict[str, np.ndarray]:
    """The ``gen_*`` arrays of particles given their PDG ids and momenta (GeV); ``vertex`` [n, 3] in mm
    (default the origin), energies from the PDG masses (or ``mass``), ``gen_calo_entry`` all −1 (the
    detector simulation fills it)."""
    pdg = np.asarray(pdg, dtype=np.int32).reshape(-1)
    n = len(pdg)
    table = [pdg_mass_charge(int(p)) for p in pdg]
    pdg_mass = np.array([m for m, _ in table], dtype=np.float64).reshape(n)
    charge = np.array([c for _, c in table], dtype=np.float32).reshape(n)
    m = pdg_mass if mass is None else np.asarray(mass, dtype=np.float64).reshape(n)
    p = np.stack([np.broadcast_to(np.asarray(a, dtype=np.float64), (n,)) for a in (px, py, pz)], axis=1)
    v = np.zeros((n, 3)) if vertex is None else np.asarray(vertex, dtype=np.float64).reshape(n, 3)
    return {
        "gen_pdg": pdg,
        "gen_charge": charge,
        "gen_status": np.broadcast_to(np.asarray(status, dtype=np.int8), (n,)).copy(),
        "gen_mass": m,
        "gen_px": p[:, 0].copy(),
        "gen_py": p[:, 1].copy(),
        "gen_pz": p[:, 2].copy(),
        "gen_energy": np.sqrt((p**2).sum(axis=1) + m**2),
        "gen_vx": v[:, 0].copy(),
        "gen_vy": v[:, 1].copy(),
        "gen_vz": v[:, 2].copy(),
        "gen_time": np.broadcast_to(np.asarray(time, dtype=np.float64), (n,)).copy(),
        "gen_parent": np.broadcast_to(np.asarray(parent, dtype=np.int32), (n,)).copy(),
        "gen_calo_entry": np.full(n, -1, dtype=np.int32),
    }


def concat_tables(*tables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Particles of several tables in one (parent rows of the later tables are shifted to stay valid)."""
    out: dict[str, list[np.ndarray]] = {k: [] for k in tables[0]}
    offset = 0
    for t in tables:
        for k, v in t.items():
            shifted = k in ("gen_parent", "gen_calo_entry")
            out[k].append(np.where(v >= 0, v + offset, v).astype(np.int32) if shifted else v)
        offset += len(t["gen_pdg"])
    return {k: np.concatenate(v) for k, v in out.items()}
