"""Hit-level events of the built-in simulation, in TrackML units (mm, GeV), cached per event.

Two detectors (``dataset.detector``):

* ``trackml`` (the default): the TrackML-like tracker (:mod:`src.sim.tracker.trackml`), pixel layers from
  r = 32 mm, with TrackML's ``volume_id``/``layer_id``/``module_id`` and the true crossing position and
  momentum of each hit: the hit events read like the challenge's files;
* ``lst``: the CMS-like LST outer tracker of the line-segment events (:mod:`src.sim.tracker.simulate`),
  first layer at r = 22 cm, ``volume_id`` 1/2/3 = −z disks / barrel / +z disks, ``layer_id`` = 2 × layer
  within the volume, ``module_id`` = simulation module; the truth position and momentum of each hit on
  its particle's helix (the measured position is smeared and, along the strips, quantised).

Both get the challenge's truth weights; :class:`SimulatedHitSource` takes particle subsets
(:class:`src.data.hits.SubsetSpec`) of each simulated event.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from src.data.cache import Event, EventCache, to_tensors
from src.data.hits import SubsetSpec, describe_hit_event, with_weights
from src.data.sources import event_seed
from src.sim.tracker.config import SimEvent, TrackerSimConfig
from src.sim.tracker.geometry import build_geometry
from src.sim.tracker.helix import make_helices
from src.sim.tracker.simulate import simulate_event
from src.sim.tracker.trackml import simulate_trackml_event

log = logging.getLogger(__name__)

#: Bump when the conversion of simulated events to hits changes (invalidates cached hit events).
HITS_VERSION = 2
#: Volume ids of the LST tracker's hits (−z disks, barrel, +z disks).
SIM_VOLUME_NEG_DISKS, SIM_VOLUME_BARREL, SIM_VOLUME_POS_DISKS = 1, 2, 3
CM_TO_MM = 10.0
#: Largest distance (cm) between a measured hit and its helix point still taken as the truth position:
#: the strip and macro-pixel lengths (up to 5 cm) smear the measurement along z (barrel) or r (disks).
HELIX_TOL_XY, HELIX_TOL_Z = 0.5, 3.0


def helix_truth(
    event: SimEvent, b_field: float, max_turns: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth of every non-noise hit on its particle's helix from the production vertex (cm, GeV).

    The hit's angle around the helix axis gives its path length within a turn; of the turns the particle
    can make, the one whose z is nearest the measured z is taken. Where that point disagrees with the
    measurement by more than the strip length allows (loopers after their first turn, whose circle drifts
    through the material between turns), the measured position is the truth position. Returns (mask of
    non-noise hits, positions [n, 3], momenta [n, 3]) for those hits.
    """
    hits, particles = event.hits, event.particles
    real = hits["particle_id"] > 0
    row = hits["particle_id"][real] - 1  # particle ids are 1-based rows
    hx = make_helices(particles, b_field, max_turns)
    beta = np.arctan2(hits["y"][real] - hx.yc[row], hits["x"][real] - hx.xc[row])
    radius = hx.radius[row]
    s0 = np.mod(hx.h[row] * (beta - hx.beta0[row]), 2.0 * np.pi) * radius
    turns = s0[:, None] + np.arange(max(1, math.ceil(max_turns)))[None] * 2.0 * np.pi * radius[:, None]
    dz = np.abs(hx.z0[row, None] + hx.cot[row, None] * turns - hits["z"][real, None])
    s = turns[np.arange(len(row)), dz.argmin(axis=1)]
    pos = np.stack(hx.at(row, s), axis=1)
    measured = np.stack([hits["x"][real], hits["y"][real], hits["z"][real]], axis=1)
    off = (np.hypot(*(pos[:, :2] - measured[:, :2]).T) > HELIX_TOL_XY) | (
        np.abs(pos[:, 2] - measured[:, 2]) > HELIX_TOL_Z
    )
    pos[off] = measured[off]
    p = np.sqrt(particles["px"] ** 2 + particles["py"] ** 2 + particles["pz"] ** 2)[row]
    mom = hx.direction(row, s) * p[:, None]
    return real, pos, mom


def _particle_columns(pid: np.ndarray, particles: np.ndarray, real: np.ndarray) -> dict[str, np.ndarray]:
    """Per-hit vertex (mm), momentum, charge and hit count of each hit's particle (zeros for noise)."""
    row = np.where(real, pid - 1, 0)  # particle ids are 1-based rows
    vertex = np.stack([particles[c][row] for c in ("vx", "vy", "vz")], axis=1) * real[:, None]
    mom = np.stack([particles[c][row] for c in ("px", "py", "pz")], axis=1) * real[:, None]
    _, inverse, counts = np.unique(pid, return_inverse=True, return_counts=True)
    return {
        "particle_vertex": vertex * CM_TO_MM,
        "particle_mom": mom,
        "particle_q": np.where(real, particles["q"][row], 0).astype(np.int64),
        "particle_nhits": np.where(real, counts[inverse], 0).astype(np.int64),
    }


def sim_hit_arrays(event: SimEvent, cfg: TrackerSimConfig, *, event_id: int) -> dict[str, np.ndarray]:
    """The hit-level arrays (mm, GeV; see :func:`src.io.trackml.event_arrays`) of an LST-tracker event,
    with the challenge's truth weights."""
    hits, particles = event.hits, event.particles
    n = len(hits)
    det = build_geometry()
    layer = hits["layer"].astype(np.int64)
    barrel = det.modules.barrel[hits["module_id"]]
    volume = np.where(
        barrel, SIM_VOLUME_BARREL, np.where(hits["z"] > 0, SIM_VOLUME_POS_DISKS, SIM_VOLUME_NEG_DISKS)
    )
    pos = np.stack([hits["x"], hits["y"], hits["z"]], axis=1)
    real, true_pos, true_mom = helix_truth(event, cfg.b_field, cfg.max_turns)
    truth_pos, truth_mom = pos.copy(), np.zeros((n, 3))
    truth_pos[real], truth_mom[real] = true_pos, true_mom
    pid = hits["particle_id"].astype(np.int64)
    arrays = {
        "hit_id": hits["hit_id"].astype(np.int64),
        "hit_pos": pos * CM_TO_MM,
        "volume_id": volume.astype(np.int64),
        "layer_id": 2 * np.where(barrel, layer, layer - 6),
        "module_id": hits["module_id"].astype(np.int64),
        "particle_id": pid,
        "truth_pos": truth_pos * CM_TO_MM,
        "truth_mom": truth_mom,
        "weight": np.zeros(n),
        **_particle_columns(pid, particles, real),
        "event_id": np.array([event_id], dtype=np.int64),
        "b_field": np.array([cfg.b_field], dtype=np.float64),
    }
    return with_weights(arrays)


def trackml_hit_arrays(event: SimEvent, cfg: TrackerSimConfig, *, event_id: int) -> dict[str, np.ndarray]:
    """The hit-level arrays (mm, GeV) of a TrackML-like event, its ids and truth as the simulation
    recorded them, with the challenge's truth weights."""
    hits = event.hits
    pid = hits["particle_id"].astype(np.int64)
    arrays = {
        "hit_id": hits["hit_id"].astype(np.int64),
        "hit_pos": np.stack([hits["x"], hits["y"], hits["z"]], axis=1) * CM_TO_MM,
        "volume_id": hits["volume_id"].astype(np.int64),
        "layer_id": hits["layer_id"].astype(np.int64),
        "module_id": hits["module_id"].astype(np.int64),
        "particle_id": pid,
        "truth_pos": np.stack([hits["tx"], hits["ty"], hits["tz"]], axis=1) * CM_TO_MM,
        "truth_mom": np.stack([hits["tpx"], hits["tpy"], hits["tpz"]], axis=1),
        "weight": np.zeros(len(hits)),
        **_particle_columns(pid, event.particles, pid > 0),
        "event_id": np.array([event_id], dtype=np.int64),
        "b_field": np.array([cfg.b_field], dtype=np.float64),
    }
    return with_weights(arrays)


#: ``dataset.detector``: the simulation and its conversion to hit-level arrays.
DETECTORS: dict[str, tuple[Callable[..., SimEvent], Callable[..., dict[str, np.ndarray]]]] = {
    "trackml": (simulate_trackml_event, trackml_hit_arrays),
    "lst": (simulate_event, sim_hit_arrays),
}


class SimulatedHitSource:
    """Hit-level events of the built-in simulation of ``detector`` (optionally particle subsets), cached.

    Dataset event ``i`` is subset ``i % per_event`` of simulated event ``i // per_event``; its event id
    is ``i``. Weights are computed on each subset. The cache key covers the detector, generator, seed,
    subset settings and version.
    """

    def __init__(
        self,
        generator: TrackerSimConfig,
        *,
        n_events: int,
        seed: int,
        cache_dir: str | Path,
        subsets: SubsetSpec | None = None,
        detector: str = "trackml",
    ) -> None:
        if n_events < 1:
            raise ValueError(f"dataset.n_events must be >= 1, got {n_events}")
        if detector not in DETECTORS:
            raise ValueError(f"dataset.detector={detector!r}: choose one of {sorted(DETECTORS)}")
        self.simulate, self.convert = DETECTORS[detector]
        self.generator = generator
        self.n_events = n_events
        self.seed = seed
        self.subsets = subsets or SubsetSpec()
        spec = {
            "source": "tracker_sim/hits",
            "version": HITS_VERSION,
            "detector": detector,
            "seed": seed,
            "generator": generator.describe(),
            "subsets": self.subsets.describe(),
        }
        self.cache = EventCache(cache_dir, "sim_hits", spec)
        self.fingerprint = self.cache.fingerprint
        self._last: tuple[int, list[dict[str, np.ndarray]]] | None = None

    def __len__(self) -> int:
        return self.n_events

    def _events(self, sim_index: int) -> list[dict[str, np.ndarray]]:
        if self._last is None or self._last[0] != sim_index:
            seed = event_seed(self.seed, sim_index)
            arrays = self.convert(self.simulate(self.generator, seed), self.generator, event_id=sim_index)
            per_event = self.subsets.per_event
            ids = [sim_index * per_event + k for k in range(per_event)]
            events = self.subsets.apply(arrays, rng=np.random.default_rng([seed, 1]), event_ids=ids)
            self._last = (sim_index, [with_weights(e) for e in events])
        return self._last[1]

    def _make(self, index: int) -> Event:
        sim_index, k = divmod(index, self.subsets.per_event)
        return to_tensors(self._events(sim_index)[k])

    def prepare(self, *, progress: bool = True) -> None:
        self.cache.build(self.n_events, self._make, describe=describe_hit_event, progress=progress)

    def load(self, index: int) -> Event:
        return self.cache.load(index, rebuild=self._make)
