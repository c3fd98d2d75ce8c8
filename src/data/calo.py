"""Simulated calorimeter events: a generator (``conf/generator/``), optional decays in flight, the
calorimeter simulation of a detector (``conf/detector/``), cached per event by a fingerprint of all of
them and of the simulation's version.

An event holds the calorimeter-event keys of :mod:`src.event_model`: ``gen_*``, ``hit_*`` with their
truth contributions, and ``track_*`` — empty until a track builder is part of the chain (the event model's
convention for a collection an event lacks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from src.data.cache import Event, EventCache, to_tensors
from src.data.sources import event_seed
from src.event_model import CALO_HITS, TRACKS, Collection
from src.sim.calo.simulate import CaloSimulator
from src.sim.generators import EventGenerator

log = logging.getLogger(__name__)

#: Bump when the calorimeter simulation changes in a way that invalidates cached events.
CALO_SIM_VERSION = 1

#: Decays in flight before the calorimeter (K0S, Λ): ``decays(gen arrays, seed) -> gen arrays`` with the
#: decayed particles marked and their daughters appended (status 0, ``gen_parent`` set).
Decays = Callable[[dict[str, np.ndarray], int], dict[str, np.ndarray]]


def empty_collection(collection: Collection) -> dict[str, np.ndarray]:
    """Zero-length arrays of every field of ``collection``, typed as the event model declares them."""
    return {
        name: np.zeros(0, dtype=np.dtype(desc.split(",")[0].split()[0]))
        for name, desc in collection.fields.items()
    }


def simulate_calo_event(
    generator: EventGenerator, detector: CaloSimulator, seed: int, *, decays: Decays | None = None
) -> dict[str, np.ndarray]:
    """One calorimeter event: generate, decay in flight (when ``decays`` is given), simulate the
    calorimeter; deterministic for ``seed`` (the steps get independent seeds derived from it)."""
    gen_seed, decay_seed, calo_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(3))
    gen = generator(gen_seed)
    if decays is not None:
        gen = decays(gen, decay_seed)
    return detector(gen, calo_seed) | empty_collection(TRACKS)


def describe_calo_event(event: Event) -> str:
    """One-line summary: particles, hits, noise hits and hit energy."""
    n = len(event["hit_energy"])
    noise = int(CALO_HITS.no_particle(event["hit_particle"].numpy()).sum())
    energy = float(event["hit_energy"].sum())
    return f"{len(event['gen_pdg']):5d} particles, {n:7d} hits ({noise} noise), {energy:8.2f} GeV in hits"


class SimulatedCaloSource:
    """Calorimeter events of a generator and a detector, cached per event.

    The cache key is a fingerprint of the generator's and the detector's settings (their
    ``describe()``), of the decays step, the seed and :data:`CALO_SIM_VERSION`; ``n_events`` is not part
    of it, so asking for more events extends the same cache.
    """

    collection = CALO_HITS

    def __init__(
        self,
        generator: EventGenerator,
        detector: CaloSimulator,
        *,
        n_events: int,
        seed: int,
        cache_dir: str | Path,
        decays: Decays | None = None,
    ) -> None:
        if n_events < 1:
            raise ValueError(f"dataset.n_events must be >= 1, got {n_events}")
        if not isinstance(generator, EventGenerator):
            raise TypeError(
                f"dataset.generator: {type(generator).__name__} has no __call__(seed) and describe()"
            )
        self.generator, self.detector, self.decays = generator, detector, decays
        self.n_events, self.seed = n_events, seed
        spec: dict[str, Any] = {
            "source": "calo_sim",
            "version": CALO_SIM_VERSION,
            "seed": seed,
            "generator": generator.describe(),
            "detector": detector.describe(),
            "decays": None if decays is None else _describe(decays),
        }
        self.cache = EventCache(cache_dir, "sim_calo", spec)
        self.fingerprint = self.cache.fingerprint

    def __len__(self) -> int:
        return self.n_events

    def _make(self, index: int) -> Event:
        event = simulate_calo_event(
            self.generator, self.detector, event_seed(self.seed, index), decays=self.decays
        )
        return to_tensors(event)

    def prepare(self, *, progress: bool = True) -> None:
        self.cache.build(self.n_events, self._make, describe=describe_calo_event, progress=progress)

    def load(self, index: int) -> Event:
        return self.cache.load(index)

    def describe_event(self, event: Event) -> str:
        """One-line summary of an event of this source."""
        return describe_calo_event(event)


def _describe(step: Any) -> Any:
    """Settings of a pipeline step: its ``describe()`` or, for a plain function or partial, its name
    and keyword arguments."""
    if hasattr(step, "describe"):
        return step.describe()
    func = getattr(step, "func", step)
    return {"step": f"{func.__module__}.{func.__qualname__}", "keywords": dict(getattr(step, "keywords", {}))}
