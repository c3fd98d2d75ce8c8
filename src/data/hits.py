"""Hit-level events: the simulated tracker's hits and TrackML events, and their particle subsets.

Both sources give the per-hit arrays of :func:`src.io.trackml.event_arrays` (TrackML units: mm, GeV),
so a model trained on one reads the other:

* :class:`SimulatedHitSource` converts :func:`src.sim.tracker.simulate.simulate_event` events: positions to
  mm; the truth position and momentum of each hit on its particle's helix (the measured position is
  smeared and, along the strips, quantised); TrackML-like ids (``volume_id`` 1/2/3 = −z disks / barrel /
  +z disks, ``layer_id`` = 2 × layer within the volume, ``module_id`` = simulation module); the
  challenge's truth weights. Cached per event with the generator's fingerprint.
* :class:`TrackMLSource` reads a directory of TrackML CSV files (:mod:`src.io.trackml`).

**Subsets** (as in the Trackformers study, :class:`SubsetSpec`): ``particles=[lo, hi]`` keeps, per
event, a seeded random sample of n ~ U{lo..hi} of the particles that left hits, with all their hits; noise
hits are kept (at the same sampled fraction of the event's noise) when ``noise`` is true. One simulated
or real event yields ``subsets_per_event`` disjoint subsets. ``max_vertex_r`` restricts the sample to
particles produced near the beam line and ``min_hits`` to particles with enough hits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from src.data.cache import Event, EventCache, fingerprint, to_tensors
from src.data.sources import event_seed
from src.io.trackml import event_arrays, find_events, read_event
from src.metrics.trackml_score import hit_weights
from src.sim.tracker.config import SimEvent, TrackerSimConfig
from src.sim.tracker.geometry import build_geometry
from src.sim.tracker.helix import make_helices
from src.sim.tracker.simulate import simulate_event

log = logging.getLogger(__name__)

#: Bump when the conversion of simulated events to hits changes (invalidates cached hit events).
HITS_VERSION = 1
#: TrackML-like volume ids of the simulated tracker.
SIM_VOLUME_NEG_DISKS, SIM_VOLUME_BARREL, SIM_VOLUME_POS_DISKS = 1, 2, 3
CM_TO_MM = 10.0
#: Largest distance (cm) between a measured hit and its helix point still taken as the truth position:
#: the strip and macro-pixel lengths (up to 5 cm) smear the measurement along z (barrel) or r (disks).
HELIX_TOL_XY, HELIX_TOL_Z = 0.5, 3.0


# ---------------------------------------------------------------- simulation -> hit arrays


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


def sim_hit_arrays(event: SimEvent, cfg: TrackerSimConfig, *, event_id: int) -> dict[str, np.ndarray]:
    """The hit-level arrays (mm, GeV; see :func:`src.io.trackml.event_arrays`) of a simulated event,
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
    row = np.where(real, pid - 1, 0)
    vertex = np.stack([particles[c][row] for c in ("vx", "vy", "vz")], axis=1) * real[:, None]
    mom = np.stack([particles[c][row] for c in ("px", "py", "pz")], axis=1) * real[:, None]
    _, inverse, counts = np.unique(pid, return_inverse=True, return_counts=True)
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
        "particle_vertex": vertex * CM_TO_MM,
        "particle_mom": mom,
        "particle_q": np.where(real, particles["q"][row], 0).astype(np.int64),
        "particle_nhits": np.where(real, counts[inverse], 0).astype(np.int64),
        "event_id": np.array([event_id], dtype=np.int64),
        "b_field": np.array([cfg.b_field], dtype=np.float64),
    }
    return with_weights(arrays)


def with_weights(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays with the challenge's truth weights of the event computed into ``weight``."""
    out = dict(arrays)
    mom = out["particle_mom"]
    pt = np.where(out["particle_id"] > 0, np.hypot(mom[:, 0], mom[:, 1]), np.nan)
    out["weight"] = hit_weights(
        particle_id=out["particle_id"], tz=out["truth_pos"][:, 2], vz=out["particle_vertex"][:, 2], pt=pt
    )
    return out


# ---------------------------------------------------------------- subsets


def _take(arrays: Mapping[str, np.ndarray], keep: np.ndarray, event_id: int) -> dict[str, np.ndarray]:
    """Hits ``keep`` (sorted index) of a hit-level event, as event ``event_id``."""
    n = len(arrays["hit_id"])
    out = {k: (v[keep] if len(v) == n and k not in ("event_id", "b_field") else v) for k, v in arrays.items()}
    out["event_id"] = np.array([event_id], dtype=np.int64)
    return out


@dataclass(frozen=True)
class SubsetSpec:
    """Which hits of an event a dataset keeps (the study's particle subsets).

    Eligible particles have at least ``min_hits`` hits and (with ``max_vertex_r``, mm) a production vertex
    within that transverse distance of the beam line (primaries rather than secondaries from the
    material). ``particles=[lo, hi]`` draws ``per_event`` disjoint subsets of n ~ U{lo..hi} eligible
    particles with all their hits; ``None`` keeps every eligible particle (one event). ``noise`` keeps
    the noise hits, in subsets a disjoint share equal to the subset's share of the eligible particles.
    """

    particles: tuple[int, int] | None = None
    noise: bool = True
    per_event: int = 1
    max_vertex_r: float | None = None
    min_hits: int = 1

    def __post_init__(self) -> None:
        if self.particles is not None:
            lo, hi = (int(v) for v in self.particles)
            if not 1 <= lo <= hi:
                raise ValueError(
                    f"dataset.particles must be [lo, hi] with 1 <= lo <= hi, got {self.particles}"
                )
            object.__setattr__(self, "particles", (lo, hi))
        elif self.per_event != 1:
            raise ValueError("dataset.subsets_per_event > 1 needs dataset.particles=[lo, hi]")
        if self.max_vertex_r is not None:  # 10 and 10.0 are the same setting (and fingerprint)
            object.__setattr__(self, "max_vertex_r", float(self.max_vertex_r))
        if self.per_event < 1 or self.min_hits < 1:
            raise ValueError(
                f"dataset.subsets_per_event and min_hits must be >= 1, got {self.per_event}, {self.min_hits}"
            )

    def eligible(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        """Sorted ids of the event's eligible particles."""
        pid = arrays["particle_id"]
        ids, first, counts = np.unique(pid, return_index=True, return_counts=True)
        ok = (ids > 0) & (counts >= self.min_hits)
        if self.max_vertex_r is not None:
            vertex = arrays["particle_vertex"][first]
            ok &= np.hypot(vertex[:, 0], vertex[:, 1]) <= self.max_vertex_r
        return ids[ok]

    def apply(
        self, arrays: Mapping[str, np.ndarray], *, rng: np.random.Generator, event_ids: Sequence[int]
    ) -> list[dict[str, np.ndarray]]:
        """The ``per_event`` events (hit-level arrays, ids ``event_ids``) this spec makes of one event.

        Subset particles are drawn without replacement across the subsets; when too few remain for a
        subset, it draws afresh from all eligible particles (and a warning says so).
        """
        pid = arrays["particle_id"]
        eligible = self.eligible(arrays)
        noise_hits = np.flatnonzero(pid == 0) if self.noise else np.zeros(0, dtype=np.int64)
        if self.particles is None:
            keep = np.sort(np.concatenate([np.flatnonzero(np.isin(pid, eligible)), noise_hits]))
            return [_take(arrays, keep, event_ids[0])]
        lo, hi = self.particles
        noise_hits = rng.permutation(noise_hits)
        order = rng.permutation(eligible)
        out, used, used_noise = [], 0, 0
        for k in range(self.per_event):
            n = int(rng.integers(lo, hi + 1))
            if used + n <= len(order):
                chosen = order[used : used + n]
                used += n
            else:
                log.warning(
                    "event %d: %d eligible particles left for a subset of %d; drawing it from all %d "
                    "(raise dataset.pileup or lower dataset.subsets_per_event)",
                    int(arrays["event_id"][0]),
                    len(order) - used,
                    n,
                    len(order),
                )
                chosen = rng.choice(eligible, size=min(n, len(eligible)), replace=False)
            n_noise = round(len(noise_hits) * len(chosen) / max(len(eligible), 1))
            if used_noise + n_noise > len(noise_hits):
                used_noise = 0
            extra = noise_hits[used_noise : used_noise + n_noise]
            used_noise += n_noise
            keep = np.sort(np.concatenate([np.flatnonzero(np.isin(pid, chosen)), extra]))
            out.append(_take(arrays, keep, event_ids[k]))
        return out

    def describe(self) -> dict[str, Any]:
        """The settings, for fingerprints."""
        return dataclasses.asdict(self)


def describe_hit_event(event: Event) -> str:
    """One-line summary: hits, particles, noise fraction."""
    pid = event["particle_id"]
    n = len(pid)
    noise = float((pid == 0).float().mean()) if n else float("nan")
    return f"{n:6d} hits, {len(torch.unique(pid[pid > 0])):5d} particles, {100 * noise:4.1f}% noise"


# ---------------------------------------------------------------- sources


class SimulatedHitSource:
    """Hit-level events of the built-in tracker simulation (optionally particle subsets), cached.

    Dataset event ``i`` is subset ``i % per_event`` of simulated event ``i // per_event``; its event id
    is ``i``. Weights are computed on each subset. The cache key covers the generator, seed, subset
    settings and version.
    """

    def __init__(
        self,
        generator: TrackerSimConfig,
        *,
        n_events: int,
        seed: int,
        cache_dir: str | Path,
        subsets: SubsetSpec | None = None,
    ) -> None:
        if n_events < 1:
            raise ValueError(f"dataset.n_events must be >= 1, got {n_events}")
        self.generator = generator
        self.n_events = n_events
        self.seed = seed
        self.subsets = subsets or SubsetSpec()
        spec = {
            "source": "tracker_sim/hits",
            "version": HITS_VERSION,
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
            arrays = sim_hit_arrays(simulate_event(self.generator, seed), self.generator, event_id=sim_index)
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


class TrackMLSource:
    """Events of a directory of TrackML CSV files (with truth and particles), optionally as subsets.

    Event ``i`` is subset ``i % per_event`` of the ``i // per_event``-th event file (by event id); an
    event file over ``max_event_size`` hits (None = no limit) is a bad event. Subsets
    get the id ``1000 × original id + k``; whole events keep their own id. Truth weights are those of the
    files (computed where the column is absent, or everywhere with ``recompute_weights``); subsets keep
    them (the score normalises by the event's total weight).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        n_events: int | None = None,
        b_field: float = 2.0,
        subsets: SubsetSpec | None = None,
        seed: int = 0,
        recompute_weights: bool = False,
        max_event_size: int | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self.max_event_size = max_event_size
        found = find_events(self.path)
        complete = {e: parts for e, parts in found.items() if len(parts) == 3}
        if not complete:
            raise FileNotFoundError(
                f"dataset.path={self.path}: no event with all of eventNNNNNNNNN-{{hits,truth,particles}}.csv"
                "[.gz] (e.g. dataset.path=../shared/data/trackml/mini1)"
            )
        self.event_ids = list(complete)[:n_events] if n_events else list(complete)
        self.b_field = float(b_field)
        self.subsets = subsets or SubsetSpec()
        self.seed = int(seed)
        self.recompute_weights = bool(recompute_weights)
        digest = hashlib.sha256()
        for event_id in self.event_ids:
            for part in sorted(complete[event_id].values()):
                digest.update(part.name.encode())
                digest.update(part.read_bytes())
        options = {
            "b_field": self.b_field,
            "subsets": self.subsets.describe(),
            "seed": self.seed,
            "recompute_weights": self.recompute_weights,
        }
        self.fingerprint = fingerprint({"source": "trackml", "content": digest.hexdigest(), **options})
        self._last: tuple[int, list[dict[str, np.ndarray]]] | None = None

    def __len__(self) -> int:
        return len(self.event_ids) * self.subsets.per_event

    def prepare(self, *, progress: bool = True) -> None:
        del progress  # files are read lazily

    def _events(self, file_index: int) -> list[dict[str, np.ndarray]]:
        if self._last is None or self._last[0] != file_index:
            event_id = self.event_ids[file_index]
            event = read_event(
                self.path,
                event_id,
                compute_weights=self.recompute_weights,
                max_event_size=self.max_event_size,
            )
            arrays = event_arrays(event, b_field=self.b_field)
            per_event = self.subsets.per_event
            ids = (
                [event_id]
                if self.subsets.particles is None
                else [1000 * event_id + k for k in range(per_event)]
            )
            events = self.subsets.apply(
                arrays, rng=np.random.default_rng([self.seed, event_id]), event_ids=ids
            )
            self._last = (file_index, events)
        return self._last[1]

    def load(self, index: int) -> Event:
        file_index, k = divmod(index, self.subsets.per_event)
        return to_tensors(self._events(file_index)[k])
