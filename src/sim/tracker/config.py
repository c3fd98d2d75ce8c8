"""Configuration and event records of the tracker simulation (cm, GeV, T)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

PION_MASS = 0.13957
ELECTRON_MASS = 0.000511
ION_LOSS = 0.05  # GeV of ionisation loss per radiation length of tracker material (silicon, carbon)
TWO_PI = 2.0 * np.pi

HIT_DTYPE = np.dtype(
    [
        ("hit_id", np.int64),
        ("x", np.float64),
        ("y", np.float64),
        ("z", np.float64),
        ("layer", np.int8),
        ("module_id", np.int32),
        ("upper", np.bool_),
        ("particle_id", np.int64),  # 0 = noise (TrackML convention)
    ]
)
PARTICLE_DTYPE = np.dtype(
    [
        ("particle_id", np.int64),  # 1-based
        ("vertex_id", np.int32),  # 0 = hard scatter, 1.. = pileup interactions
        ("vx", np.float64),
        ("vy", np.float64),
        ("vz", np.float64),
        ("px", np.float64),
        ("py", np.float64),
        ("pz", np.float64),
        ("q", np.int8),
        ("parent_id", np.int64),  # 0 = none (primaries, conversion electrons)
        ("process", np.int8),  # PRIMARY, CONVERSION, NUCLEAR or DECAY
    ]
)
PRIMARY, CONVERSION, NUCLEAR, DECAY = 0, 1, 2, 3
#: Sources of the pileup interactions (``TrackerSimConfig.minbias``).
MINBIAS_SOURCES = ("own", "pythia")


@dataclass(frozen=True)
class TrackerSimConfig:
    """Every knob of the simulation, with physical defaults (cm, GeV, T)."""

    pileup: float = 200.0  # Poisson mean of minimum-bias interactions
    # pileup interactions from the spectra below ("own") or from Pythia 8 pp minimum bias at 14 TeV
    # ("pythia": src.sim.tracker.minbias.pythia_pileup); the hard scatter always uses the spectra below
    minbias: str = "own"
    b_field: float = 3.8
    # luminous region
    beam_sigma_z: float = 4.5
    beam_sigma_xy: float = 0.0015
    # minimum-bias charged particles
    dndeta: float = 6.5  # charged particles per unit η per interaction
    eta_max: float = 3.0
    multiplicity_k: float = 2.0  # negative-binomial shape of the multiplicity
    tsallis_n: float = 7.0
    tsallis_t: float = 0.16
    pt_min: float = 0.1
    # hard scatter (ttbar-like: busier and harder)
    hard_scatter: bool = True
    hs_multiplicity: float = 4.0  # × the minimum-bias mean
    hs_multiplicity_k: float = 10.0  # negative-binomial shape (ttbar multiplicities are narrower)
    hs_tsallis_n: float = 3.3
    hs_jets: int = 6
    hs_jet_fraction: float = 0.5  # hard-scatter particles in jets (Gaussian in η and φ around the axes)
    hs_jet_width: float = 0.15
    # secondaries from the material (src.sim.tracker.layout.tracker_material)
    pi0_per_charged: float = 0.55  # π⁰ (→ γγ) per charged primary; photons convert to e⁺e⁻
    nuclear_per_x0: float = 0.3  # nuclear interaction lengths per radiation length (X0 / λ_I)
    nuclear_multiplicity: float = 4.0  # mean charged secondaries of a nuclear interaction
    # detector response
    hit_efficiency: float = 0.99
    noise_rate: float = 0.01  # noise hits per sensor
    max_turns: float = 12.0
    sensor_energy_loss: float = 0.0005  # GeV lost per sensor crossing (ionisation in silicon + support)

    def __post_init__(self) -> None:
        """Check ranges."""
        if self.pileup < 0 or not 0.0 <= self.hit_efficiency <= 1.0 or self.max_turns <= 0:
            raise ValueError("pileup >= 0, 0 <= hit_efficiency <= 1 and max_turns > 0 are required")
        if self.minbias not in MINBIAS_SOURCES:
            raise ValueError(f"minbias={self.minbias!r}: choose one of {MINBIAS_SOURCES}")

    def describe(self) -> dict[str, Any]:
        """Every setting, for cache fingerprints. ``minbias`` (added after caches existed) is listed only
        when it is not "own", so caches of the own spectra keep their fingerprints; with "pythia" the
        Pythia version and settings are listed too."""
        out = dataclasses.asdict(self)
        if self.minbias == "own":
            del out["minbias"]
        else:
            from src.sim.generators.pythia import minimum_bias

            out["minbias_generator"] = minimum_bias().describe()
        return out


@dataclass(frozen=True)
class SimEvent:
    """One simulated event: ``hits`` (HIT_DTYPE) and ``particles`` (PARTICLE_DTYPE) record arrays.

    With a φ sector only hits that can belong to a line segment of the sector are simulated; the
    particle table always holds every generated particle.
    """

    hits: np.ndarray
    particles: np.ndarray

    @property
    def particle_pt(self) -> np.ndarray:
        """Transverse momentum of each particle (GeV)."""
        return np.hypot(self.particles["px"], self.particles["py"])

    @property
    def particle_eta(self) -> np.ndarray:
        """Pseudorapidity of each particle."""
        return np.arcsinh(self.particles["pz"] / self.particle_pt)


def particle_table(
    vertex: np.ndarray, start: np.ndarray, mom: np.ndarray, q: np.ndarray, *, parent: np.ndarray, process: int
) -> np.ndarray:
    """PARTICLE_DTYPE records (particle ids are assigned once the event's table is complete)."""
    out = np.zeros(len(q), dtype=PARTICLE_DTYPE)
    out["vertex_id"] = vertex
    out["vx"], out["vy"], out["vz"] = start.T
    out["px"], out["py"], out["pz"] = mom.T
    out["q"] = q
    out["parent_id"] = parent
    out["process"] = process
    return out
