"""Simulated calorimeter events: a generator (``conf/generator/``), decays in flight before the
calorimeter, the calorimeter simulation of a detector (``conf/detector/``), tracks of the charged
particles and a clustering of the hits, cached per event by a fingerprint of all of them and of the
simulation's version.

An event holds the calorimeter-event keys of :mod:`src.event_model`: ``gen_*``, ``hit_*`` with their
truth contributions, ``track_*`` (empty arrays without a track builder: the event model's convention for
a collection an event lacks) and, with a clustering, ``cluster_*`` and ``hit_cluster``. The steps other
than generator and detector are optional callables (Hydra partials in ``dataset.decays``,
``dataset.tracks``, ``dataset.clustering``) with the signatures of :class:`Decays`,
:class:`TrackBuilder` and :class:`ClusteringFactory`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from src.data.cache import Event, EventCache, to_tensors
from src.data.sources import event_seed
from src.event_model import CALO_HITS, TRACKS, Collection
from src.sim.calo.simulate import CaloSimulator
from src.sim.generators import EventGenerator

#: Bump when the calorimeter simulation changes in a way that invalidates cached events.
CALO_SIM_VERSION = 1

Arrays = dict[str, np.ndarray]


class Decays(Protocol):
    """Decays in flight (K0S, Λ, ...) of the particles whose decay vertex is ``inside`` (points [n, 3] in
    mm → mask): the decayed particles marked (status 2), their daughters appended (``gen_parent`` set)."""

    def __call__(
        self, gen: Arrays, rng: np.random.Generator, *, inside: Callable[[np.ndarray], np.ndarray]
    ) -> Arrays: ...


class TrackBuilder(Protocol):
    """The ``track_*`` arrays of the charged particles, extrapolated to the calorimeter entrance."""

    def __call__(
        self, gen: Arrays, rng: np.random.Generator, *, b_field: float, r_calo: float, z_calo: float
    ) -> Arrays: ...


class ClusteringFactory(Protocol):
    """Builds the clustering of hits for the detector: per subdetector name, its cell ``noise`` (GeV),
    ``cell_size`` and ``layer_gap`` (mm) and ``layer_offset`` (see ``CaloSimulator.cell_geometry``); the
    clustering returns ``cluster_*`` and ``hit_cluster`` of an event's ``hit_*`` arrays."""

    def __call__(
        self,
        *,
        noise: Mapping[str, float],
        cell_size: Mapping[str, float],
        layer_gap: Mapping[str, float],
        layer_offset: Mapping[str, int],
    ) -> Callable[[Arrays], Arrays]: ...


def empty_collection(collection: Collection) -> dict[str, np.ndarray]:
    """Zero-length arrays of every field of ``collection``, typed as the event model declares them."""
    return {
        name: np.zeros(0, dtype=np.dtype(desc.split(",")[0].split()[0]))
        for name, desc in collection.fields.items()
    }


class CaloChain:
    """Generator → decays in flight → calorimeter → tracks → clustering, one event per seed."""

    def __init__(
        self,
        generator: EventGenerator,
        detector: CaloSimulator,
        *,
        decays: Decays | None = None,
        tracks: TrackBuilder | None = None,
        clustering: ClusteringFactory | None = None,
    ) -> None:
        if not isinstance(generator, EventGenerator):
            raise TypeError(
                f"dataset.generator: {type(generator).__name__} has no __call__(seed) and describe()"
            )
        self.generator, self.detector, self.decays, self.tracks = generator, detector, decays, tracks
        if clustering is not None:
            clustering = clustering(noise=detector.noise_by_subdetector(), **detector.cell_geometry())
        self.clustering = clustering
        entrance = detector.entrance()
        self.r_calo = entrance["radius"] if entrance["radius"] is not None else entrance["r_max"]
        self.z_calo = entrance["z"] if entrance["z"] is not None else entrance["half_length"]

    def describe(self) -> dict[str, Any]:
        """Every setting of every step (for the cache's fingerprint)."""
        steps = {"decays": self.decays, "tracks": self.tracks, "clustering": self.clustering}
        return {
            "generator": self.generator.describe(),
            "detector": self.detector.describe(),
            **{name: None if step is None else _describe(step) for name, step in steps.items()},
        }

    def __call__(self, seed: int) -> Arrays:
        """One calorimeter event, deterministic for ``seed`` (each step gets its own seed from it)."""
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(4)]
        gen = self.generator(seeds[0])
        if self.decays is not None:
            gen = self.decays(gen, np.random.default_rng(seeds[1]), inside=self.detector.inside)
        event = self.detector(gen, seeds[2])
        if self.tracks is None:
            event |= empty_collection(TRACKS)
        else:
            rng = np.random.default_rng(seeds[3])
            b_field = self.detector.b_field
            event |= self.tracks(gen, rng, b_field=b_field, r_calo=self.r_calo, z_calo=self.z_calo)
        if self.clustering is not None:
            event |= self.clustering(event)
        return event


def describe_calo_event(event: Event) -> str:
    """One-line summary: particles, hits (noise hits), tracks, clusters and the energy in hits."""
    noise = int(CALO_HITS.no_particle(event["hit_particle"].numpy()).sum())
    clusters = f", {len(event['cluster_energy'])} clusters" if "cluster_energy" in event else ""
    return (
        f"{len(event['gen_pdg'])} particles, {len(event['hit_energy'])} hits ({noise} noise), "
        f"{len(event['track_pt'])} tracks{clusters}, {float(event['hit_energy'].sum()):.2f} GeV in hits"
    )


class SimulatedCaloSource:
    """Calorimeter events of a :class:`CaloChain`, cached per event.

    The cache key is a fingerprint of the settings of every step of the chain (their ``describe()``), the
    seed and :data:`CALO_SIM_VERSION`; ``n_events`` is not part of it, so asking for more events extends
    the same cache.
    """

    collection = CALO_HITS

    def __init__(self, chain: CaloChain, *, n_events: int, seed: int, cache_dir: str | Path) -> None:
        if n_events < 1:
            raise ValueError(f"dataset.n_events must be >= 1, got {n_events}")
        self.chain, self.n_events, self.seed = chain, n_events, seed
        spec = {"source": "calo_sim", "version": CALO_SIM_VERSION, "seed": seed, **chain.describe()}
        self.cache = EventCache(cache_dir, "sim_calo", spec)
        self.fingerprint = self.cache.fingerprint

    def __len__(self) -> int:
        return self.n_events

    def _make(self, index: int) -> Event:
        return to_tensors(self.chain(event_seed(self.seed, index)))

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
