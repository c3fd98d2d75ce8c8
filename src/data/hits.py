"""Hit-level events: TrackML events and the particle subsets of any hit-level event.

Hit-level sources give the per-hit arrays of :func:`src.io.trackml.event_arrays` (TrackML units: mm,
GeV), so a model trained on one reads the other: :class:`TrackMLSource` reads a directory of TrackML CSV
files (:mod:`src.io.trackml`); :class:`src.data.sim_hits.SimulatedHitSource` simulates them.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from src.data.cache import Event, fingerprint, to_tensors
from src.io.trackml import event_arrays, find_events, read_event
from src.metrics.trackml_score import hit_weights

log = logging.getLogger(__name__)


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
