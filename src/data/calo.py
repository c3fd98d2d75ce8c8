"""Simulated calorimeter events: a generator (``conf/generator/``), decays in flight before the
calorimeter (:mod:`src.sim.decays`), the calorimeter simulation of a detector (``conf/detector/``),
tracks of the charged particles (:mod:`src.sim.tracks`) and topological clusters of the hits
(:mod:`src.reco.topo_clustering`), cached per event by a fingerprint of all of them and of the
simulation's version.

An event holds the calorimeter-event keys of :mod:`src.event_model`: ``gen_*``, ``hit_*`` with their
truth contributions, ``track_*`` (empty arrays when the tracks step is off: the event model's convention
for a collection an event lacks) and, with the clustering step, ``cluster_*`` and ``hit_cluster``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from src.data.cache import Event, EventCache, to_tensors
from src.data.sources import event_seed
from src.event_model import CALO_HITS, TRACKS, Collection
from src.reco.topo_clustering import detector_clustering
from src.sim.calo.simulate import CaloSimulator
from src.sim.decays import decay_in_flight
from src.sim.generators import EventGenerator
from src.sim.tracks import make_tracks

#: Bump when the calorimeter simulation changes in a way that invalidates cached events.
CALO_SIM_VERSION = 1

Arrays = dict[str, np.ndarray]


def empty_collection(collection: Collection) -> dict[str, np.ndarray]:
    """Zero-length arrays of every field of ``collection``, typed as the event model declares them."""
    return {
        name: np.zeros(0, dtype=np.dtype(desc.split(",")[0].split()[0]))
        for name, desc in collection.fields.items()
    }


class CaloChain:
    """Generator → decays in flight → calorimeter → tracks → clustering, one event per seed.

    ``decays`` and ``tracks`` switch those steps on; ``clustering`` holds the options of
    :class:`src.reco.topo_clustering.TopoClustering` (thresholds in noise σ; None: no clustering), which
    gets the detector's cell noise, MIP signal, cell sizes, layer pitches and layer offsets. Tracks are
    extrapolated to the detector's entrance (barrel radius and endcap |z|; without a barrel, the endcap's
    outer radius).
    """

    def __init__(
        self,
        generator: EventGenerator,
        detector: CaloSimulator,
        *,
        decays: bool,
        tracks: bool,
        clustering: Mapping[str, Any] | None,
    ) -> None:
        if not isinstance(generator, EventGenerator):
            raise TypeError(
                f"dataset.generator: {type(generator).__name__} has no __call__(seed) and describe()"
            )
        self.generator, self.detector = generator, detector
        self.decays, self.tracks = bool(decays), bool(tracks)
        self.clustering = None
        if clustering is not None:
            self.clustering = detector_clustering(detector, **clustering)
        entrance = detector.entrance()
        self.r_calo = entrance["radius"] if entrance["radius"] is not None else entrance["r_max"]
        self.z_calo = entrance["z"] if entrance["z"] is not None else entrance["half_length"]

    def describe(self) -> dict[str, Any]:
        """Every setting of every step (for the cache's fingerprint)."""
        return {
            "generator": self.generator.describe(),
            "detector": self.detector.describe(),
            "decays": self.decays,
            "tracks": self.tracks,
            "clustering": None if self.clustering is None else self.clustering.describe(),
        }

    def __call__(self, seed: int) -> Arrays:
        """One calorimeter event, deterministic for ``seed`` (each step gets its own seed from it)."""
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(4)]
        gen = self.generator(seeds[0])
        if self.decays:
            gen = decay_in_flight(gen, np.random.default_rng(seeds[1]), inside=self.detector.inside)
        event = self.detector(gen, seeds[2])
        if self.tracks:
            rng = np.random.default_rng(seeds[3])
            b_field = self.detector.b_field
            event |= make_tracks(gen, rng, b_field=b_field, r_calo=self.r_calo, z_calo=self.z_calo)
        else:
            event |= empty_collection(TRACKS)
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
