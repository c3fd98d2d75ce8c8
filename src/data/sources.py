"""Event sources: where the line-segment events of a dataset come from.

Every source yields events as a dict of tensors with the LS collection of :mod:`src.event_model`: ``x``
float32 [N, 23], ``particle_id`` int64 (−1 = fake), ``sim_pt``/``sim_eta`` float32 (NaN where unknown),
``track_length`` int64 (number of LS of the same sim track in the event, 0 for fakes). The simulated
source runs the tracker simulation (:mod:`src.sim.tracker`) and then the LST reconstruction
(:mod:`src.reco.lst`); the real ones read files (:mod:`src.io.hept_cms`, :mod:`src.io.lst_ntuple`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from src.data.cache import Event, EventCache, fingerprint, to_tensors
from src.io.hept_cms import find_graph_files, read_graph
from src.io.lst_ntuple import TREE, LSTNtuple, find_ntuple_files
from src.reco.ls_features import line_segment_event, ntuple_branches
from src.reco.lst import LineSegments, LSTConfig, build_line_segments, sector_window
from src.sim.tracker.config import SimEvent, TrackerSimConfig
from src.sim.tracker.simulate import simulate_event

log = logging.getLogger(__name__)

#: Bump when the simulation changes in a way that invalidates cached events.
SIMULATION_VERSION = 1


class EventSource(Protocol):
    """What a DataModule needs from a source of events."""

    fingerprint: str

    def __len__(self) -> int: ...

    def prepare(self, *, progress: bool = True) -> None:
        """Make every event available (build or check); idempotent."""

    def load(self, index: int) -> Event:
        """Event ``index`` as a dict of tensors."""


def describe_ls_event(event: Event) -> str:
    """One-line summary: LS count and fake fraction."""
    n = len(event["particle_id"])
    fake = float((event["particle_id"] < 0).float().mean()) if n else float("nan")
    return f"{n:7d} LS, {100 * fake:5.1f}% fake"


def track_lengths(particle_id: np.ndarray) -> np.ndarray:
    """Number of LS sharing each LS's sim track (0 for fakes, ``particle_id < 0``)."""
    out = np.zeros(len(particle_id), dtype=np.int64)
    true = particle_id >= 0
    _, inverse, counts = np.unique(particle_id[true], return_inverse=True, return_counts=True)
    out[true] = counts[inverse]
    return out


def event_seed(seed: int, index: int) -> int:
    """Independent, reproducible seed of event ``index`` of a dataset seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _simulate(generator: TrackerSimConfig, lst: LSTConfig, seed: int) -> tuple[LineSegments, SimEvent]:
    """Simulate the hits (only those the LS of ``lst.phi_sector`` can use) and build the LS as LST does."""
    if lst.b_field != generator.b_field:
        raise ValueError(
            f"the LST reconstruction assumes B = {lst.b_field} T, the simulation has {generator.b_field}"
        )
    event = simulate_event(generator, seed, phi_window=sector_window(lst))
    return build_line_segments(event.hits, lst), event


def simulate_ls_event(generator: TrackerSimConfig, lst: LSTConfig, seed: int) -> dict[str, np.ndarray]:
    """Line segments of one simulated event: simulate the hits (only those the LS of ``lst.phi_sector``
    can use), then reconstruct as LST does.

    Returns ``x`` float32 [N, 23] (columns of ``src.event_model.LS_FEATURE_NAMES``), ``particle_id``
    int64 [N] (−1 = fake), ``sim_pt``/``sim_eta`` float32 [N] (NaN for fakes) and ``track_length`` int64
    [N] (LS of the same particle in the event, 0 for fakes). Deterministic for a seed.
    """
    ls, event = _simulate(generator, lst, seed)
    return line_segment_event(ls, event, lst.b_field)


def simulate_lst_ntuple_event(
    generator: TrackerSimConfig, lst: LSTConfig, seed: int
) -> dict[str, np.ndarray]:
    """The same event as :func:`simulate_ls_event`, as the branches of an LST ntuple entry
    (:func:`src.io.lst_ntuple.write_lst_ntuple` writes them; reading them back gives that event)."""
    ls, event = _simulate(generator, lst, seed)
    return ntuple_branches(ls, event, lst.b_field)


class SimulatedLSSource:
    """Line segments from the built-in tracker simulation and LST reconstruction, cached per event.

    The cache key is a fingerprint of the simulation and reconstruction configurations, the seed and the
    simulation version; ``n_events`` is not part of it, so asking for more events extends the same cache.
    """

    def __init__(
        self,
        generator: TrackerSimConfig,
        lst: LSTConfig,
        *,
        n_events: int,
        seed: int,
        cache_dir: str | Path,
    ) -> None:
        if n_events < 1:
            raise ValueError(f"dataset.n_events must be >= 1, got {n_events}")
        self.generator = generator
        self.lst = lst
        self.n_events = n_events
        self.seed = seed
        spec = {
            "source": "tracker_sim/line_segments",
            "version": SIMULATION_VERSION,
            "seed": seed,
            "generator": generator.describe(),
            "lst": dataclasses.asdict(lst),
        }
        self.cache = EventCache(cache_dir, "sim_ls", spec)
        self.fingerprint = self.cache.fingerprint

    def __len__(self) -> int:
        return self.n_events

    def _make(self, index: int) -> Event:
        return to_tensors(simulate_ls_event(self.generator, self.lst, event_seed(self.seed, index)))

    def prepare(self, *, progress: bool = True) -> None:
        self.cache.build(self.n_events, self._make, describe=describe_ls_event, progress=progress)

    def load(self, index: int) -> Event:
        return self.cache.load(index, rebuild=self._make)


def _ls_event(arrays: dict[str, np.ndarray]) -> Event:
    """A read LS event (``x``, ``particle_id``, optional ``sim_pt``/``sim_eta``) with its track lengths."""
    pid = arrays["particle_id"]
    nan = np.full(len(pid), np.nan, dtype=np.float32)
    return to_tensors(
        {
            "x": arrays["x"],
            "particle_id": pid,
            "sim_pt": arrays.get("sim_pt", nan),
            "sim_eta": arrays.get("sim_eta", nan.copy()),
            "track_length": track_lengths(pid),
        }
    )


def _file_digest(files: list[Path], *, whole: bool) -> str:
    """Hash of the files' names and contents (``whole=False``: sizes and first and last MiB only)."""
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode())
        if whole:
            digest.update(f.read_bytes())
            continue
        size = f.stat().st_size
        digest.update(str(size).encode())
        with f.open("rb") as fh:
            digest.update(fh.read(1 << 20))
            fh.seek(max(size - (1 << 20), 0))
            digest.update(fh.read(1 << 20))
    return digest.hexdigest()


class HeptCmsRawSource:
    """Real CMS LST events of the HEPT-CMS study: a directory of ``graph_N.pt`` files
    (:mod:`src.io.hept_cms`). The events carry no simulated pT or η (NaN). An event over
    ``max_event_size`` LS (None = no limit) is a bad event."""

    def __init__(
        self, path: str | Path, *, n_events: int | None = None, max_event_size: int | None = None
    ) -> None:
        self.path = Path(path).expanduser()
        files = find_graph_files(self.path)
        self.files = files[:n_events] if n_events else files
        self.max_event_size = max_event_size
        content = _file_digest(self.files, whole=True)
        self.fingerprint = fingerprint({"source": "hept_cms_raw", "content": content})

    def __len__(self) -> int:
        return len(self.files)

    def prepare(self, *, progress: bool = True) -> None:
        del progress  # files are read lazily; nothing to build

    def load(self, index: int) -> Event:
        return _ls_event(read_graph(self.files[index], max_event_size=self.max_event_size))


class LSTNtupleSource:
    """Real (or written) CMS LST ntuples (:mod:`src.io.lst_ntuple`): a ``.root`` file or a directory of
    them, one event per TTree entry, in file-name then entry order.

    The first ``n_events`` events are used (None: all); an event over ``max_event_size`` LS is a bad
    event. Files that cannot be opened stop the run (their events cannot be counted). The fingerprint
    hashes the file names, sizes and first and last MiB, and the tree name.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        tree: str = TREE,
        n_events: int | None = None,
        max_event_size: int | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        files = find_ntuple_files(self.path)
        self.ntuples = [LSTNtuple(f, tree=tree, max_event_size=max_event_size) for f in files]
        self.entries = [(k, e) for k, nt in enumerate(self.ntuples) for e in range(len(nt))]
        if n_events:
            self.entries = self.entries[:n_events]
        if not self.entries:
            raise ValueError(f"dataset.path={self.path}: the LST ntuple(s) hold no events (tree '{tree}')")
        content = _file_digest(files, whole=False)
        self.fingerprint = fingerprint({"source": "lst_ntuple", "tree": tree, "content": content})

    def __len__(self) -> int:
        return len(self.entries)

    def prepare(self, *, progress: bool = True) -> None:
        del progress  # entries are read lazily

    def load(self, index: int) -> Event:
        k, entry = self.entries[index]
        return _ls_event(self.ntuples[k].read(entry))
