"""Physics events from Pythia 8 (``pythia8mc``): e⁺e⁻ → tt̄, qq̄, WW at 380 GeV (the CLIC samples of the
MLPF study) and pp minimum bias at 14 TeV.

Decays. Pythia decays what lives shorter than ``tau0_max`` (``ParticleDecays:limitTau0``, cτ0 < 10 mm in
``conf/generator/``): resonances, τ, charm and beauty hadrons, π⁰, η, Σ⁰... K⁰S, Λ and the other weakly
decaying hyperons (Σ±, Ξ, Ω, cτ of 2.4-8.7 cm) leave Pythia undecayed, and the detector simulation decays
them in flight at their lifetime (:mod:`src.sim.decays`); K⁰L, n, π±, K±, p, γ, e±, μ± and neutrinos
reach the detector, as in the CLIC samples (where Geant4 did the in-flight decays).

Event record. Only the final-state particles are kept, each with ``gen_parent`` −1: the calorimeter truth
(``gen_calo_entry``, hit contributions) points at particles that reach the detector and at their
in-flight decay products, whose ``gen_parent`` the decay sets. Partons, strings and the decayed hadrons
between them carry no truth a calorimeter event uses, and keeping them would multiply the table by ~5.
Vertices are Pythia's (displaced for the decay products of b, c and τ), at the nominal interaction point.

Seeds. One Pythia instance per generator object, initialised once with fixed settings (``Random:seed``
1), then re-seeded before every event (``Random:seed`` from the event seed through ``Rndm::init``), so
an event depends only on (settings, seed): not on which events the instance made before (tested).
Initialisation takes ~0.2 s for e⁺e⁻ and ~9 s for pp minimum bias (its multiparton-interaction tables),
once per process.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from src.sim.generators import FINAL, particle_table

log = logging.getLogger(__name__)

#: Pythia's time unit is mm/c: times in ns are t / C_MM_PER_NS.
C_MM_PER_NS = 299.792458
#: Pythia's random seeds lie in [0, 900 000 000]; event seeds are folded into [1, SEED_RANGE].
SEED_RANGE = 900_000_000
#: Attempts at one event before giving up (Pythia's ``next()`` fails rarely, e.g. in hadronisation).
MAX_TRIES = 10


class PythiaGenerator:
    """Events of one Pythia 8 process: ``beams`` (PDG ids of beam A and B) at ``ecm`` GeV, the process
    and its options as Pythia setting strings (``process``), decays of particles with cτ0 < ``tau0_max``
    (mm). Called with a seed it returns the final-state particles as ``gen_*`` arrays (mm, GeV, ns)."""

    def __init__(self, *, beams: Sequence[int], ecm: float, process: Sequence[str], tau0_max: float) -> None:
        if len(beams) != 2:
            raise ValueError(f"generator.beams needs two PDG ids (beam A, beam B), got {list(beams)}")
        if ecm <= 0 or tau0_max <= 0:
            raise ValueError(f"generator.ecm and generator.tau0_max must be > 0, got {ecm} and {tau0_max}")
        self.beams = (int(beams[0]), int(beams[1]))
        self.ecm = float(ecm)
        self.process = tuple(str(s) for s in process)
        self.tau0_max = float(tau0_max)
        self._pythia: Any = None

    @property
    def settings(self) -> tuple[str, ...]:
        """Every Pythia setting this generator reads in, in order."""
        return (
            "Print:quiet = on",
            "Random:setSeed = on",
            "Random:seed = 1",
            f"Beams:idA = {self.beams[0]}",
            f"Beams:idB = {self.beams[1]}",
            f"Beams:eCM = {self.ecm}",
            "ParticleDecays:limitTau0 = on",
            f"ParticleDecays:tau0Max = {self.tau0_max}",
            *self.process,
        )

    def describe(self) -> dict[str, Any]:
        """Every setting that changes the events (and Pythia's version), for the cache's fingerprint."""
        return {"generator": "pythia8", "version": _version(), "settings": list(self.settings)}

    def _instance(self) -> Any:
        """The initialised Pythia instance (built at the first event: ~0.2 s, ~9 s for pp minimum bias)."""
        if self._pythia is None:
            import pythia8mc

            pythia = pythia8mc.Pythia("", False)
            for line in self.settings:
                if not pythia.readString(line):
                    raise ValueError(f"Pythia rejects the setting {line!r} (generator.process of {self!r})")
            if not pythia.init():
                raise RuntimeError(f"Pythia failed to initialise {self!r}; check generator.process")
            self._pythia = pythia
        return self._pythia

    def __call__(self, seed: int) -> dict[str, np.ndarray]:
        """The final-state particles of the event of ``seed`` (deterministic for the settings and seed)."""
        pythia = self._instance()
        pythia.rndm.init(1 + int(seed) % SEED_RANGE)
        for _ in range(MAX_TRIES):
            if pythia.next():
                break
        else:
            raise RuntimeError(f"Pythia failed {MAX_TRIES} times to make the event of seed {seed} ({self!r})")
        rows = [
            (p.id(), p.px(), p.py(), p.pz(), p.xProd(), p.yProd(), p.zProd(), p.tProd())
            for p in pythia.event.particles()
            if p.isFinal()
        ]
        table = np.array(rows, dtype=np.float64).reshape(-1, 8)
        return particle_table(
            table[:, 0].astype(np.int32),
            table[:, 1],
            table[:, 2],
            table[:, 3],
            vertex=table[:, 4:7],
            time=table[:, 7] / C_MM_PER_NS,
            status=FINAL,
        )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the settings only (data-loader workers build their own Pythia instance)."""
        return {**self.__dict__, "_pythia": None}

    def __repr__(self) -> str:
        return f"PythiaGenerator(beams={self.beams}, ecm={self.ecm}, process={list(self.process)})"


def minimum_bias(
    *,
    beams: Sequence[int] = (2212, 2212),
    ecm: float = 14000.0,
    process: Sequence[str] = ("SoftQCD:inelastic = on",),
    tau0_max: float = 10.0,
) -> PythiaGenerator:
    """pp minimum bias (every inelastic process: non-diffractive, single and double diffractive) at
    14 TeV, Pythia's default tune (Monash); the pileup of the HGCAL studies and, as an option, of the
    tracker simulation (``TrackerSimConfig.minbias``)."""
    return PythiaGenerator(beams=beams, ecm=ecm, process=process, tau0_max=tau0_max)


@functools.lru_cache(maxsize=1)
def shared_minimum_bias() -> PythiaGenerator:
    """One default pp minimum-bias generator per process, for every user of pileup (its initialisation
    takes ~9 s; its events depend only on their seeds)."""
    return minimum_bias()


def _version() -> str:
    """The installed pythia8mc version (part of every fingerprint: another Pythia makes other events)."""
    from importlib.metadata import version

    return version("pythia8mc")
