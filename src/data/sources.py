"""Event sources: where the line-segment events of a dataset come from.

Every source yields events as a dict of tensors with the LS schema of :mod:`src.data.schema`: ``x``
float32 [N, 23], ``particle_id`` int64 (−1 = fake), ``sim_pt``/``sim_eta`` float32 (NaN where unknown),
``track_length`` int64 (number of LS of the same sim track in the event, 0 for fakes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from src.data.cache import Event, EventCache, fingerprint, to_tensors
from src.data.schema import N_LS_FEATURES
from src.data.tracker_sim import TrackerSimConfig, simulate_ls_event

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


class SimulatedLSSource:
    """Line segments from the built-in tracker simulation, cached per event.

    The cache key is a fingerprint of the generator configuration, the seed and the simulation version;
    ``n_events`` is not part of it, so asking for more events extends the same cache.
    """

    def __init__(
        self, generator: TrackerSimConfig, *, n_events: int, seed: int, cache_dir: str | Path
    ) -> None:
        if n_events < 1:
            raise ValueError(f"dataset.n_events must be >= 1, got {n_events}")
        self.generator = generator
        self.n_events = n_events
        self.seed = seed
        spec = {
            "source": "tracker_sim/line_segments",
            "version": SIMULATION_VERSION,
            "seed": seed,
            "generator": dataclasses.asdict(generator),
        }
        self.cache = EventCache(cache_dir, "sim_ls", spec)
        self.fingerprint = self.cache.fingerprint

    def __len__(self) -> int:
        return self.n_events

    def _make(self, index: int) -> Event:
        return to_tensors(simulate_ls_event(self.generator, event_seed(self.seed, index)))

    def prepare(self, *, progress: bool = True) -> None:
        self.cache.build(self.n_events, self._make, describe=describe_ls_event, progress=progress)

    def load(self, index: int) -> Event:
        return self.cache.load(index)


_GRAPH_FILE = re.compile(r"graph_(\d+)\.pt$")


class HeptCmsRawSource:
    """Real CMS LST events of the HEPT-CMS study: a directory of ``graph_N.pt`` files.

    Each file is a ``torch_geometric.data.Data`` with ``x`` float32 [N, 23] and ``particle_id`` (−1 =
    fake). It is loaded with ``weights_only=True`` and only PyG's data classes allowed, so no arbitrary
    code is unpickled. The events carry no simulated pT or η (NaN).
    """

    def __init__(self, path: str | Path, *, n_events: int | None = None) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise FileNotFoundError(
                f"dataset.path={self.path} is not a directory of graph_N.pt files "
                "(e.g. dataset.path=../shared/data/hept-cms-lst/pu100)"
            )
        files = sorted(
            (p for p in self.path.iterdir() if _GRAPH_FILE.search(p.name)),
            key=lambda p: int(_GRAPH_FILE.search(p.name).group(1)),
        )
        if not files:
            raise FileNotFoundError(f"no graph_N.pt files in dataset.path={self.path}")
        self.files = files[:n_events] if n_events else files
        digest = hashlib.sha256()
        for f in self.files:
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
        self.fingerprint = fingerprint({"source": "hept_cms_raw", "content": digest.hexdigest()})

    def __len__(self) -> int:
        return len(self.files)

    def prepare(self, *, progress: bool = True) -> None:
        del progress  # files are read lazily; nothing to build

    def load(self, index: int) -> Event:
        path = self.files[index]
        data = _load_pyg_data(path)
        for field in ("x", "particle_id"):
            if field not in data:
                raise KeyError(f"{path}: field '{field}' missing (found {sorted(data)})")
        x = data["x"].float()
        if x.ndim != 2 or x.shape[1] != N_LS_FEATURES:
            raise ValueError(f"{path}: field 'x' has shape {tuple(x.shape)}, expected [N, {N_LS_FEATURES}]")
        pid = data["particle_id"].long().reshape(-1)
        if len(pid) != len(x):
            raise ValueError(f"{path}: 'particle_id' has {len(pid)} entries but 'x' has {len(x)} rows")
        nan = torch.full((len(x),), float("nan"))
        return {
            "x": x,
            "particle_id": pid,
            "sim_pt": nan,
            "sim_eta": nan.clone(),
            "track_length": torch.from_numpy(track_lengths(pid.numpy())),
        }


def _load_pyg_data(path: Path) -> dict[str, torch.Tensor]:
    """Load a saved ``torch_geometric.data.Data`` safely and return its tensors."""
    from torch_geometric.data import Data
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    with torch.serialization.safe_globals([Data, DataEdgeAttr, DataTensorAttr, GlobalStorage]):
        try:
            obj = torch.load(path, weights_only=True)
        except Exception as err:
            raise ValueError(
                f"{path}: not a torch_geometric Data file readable without unpickling code: {err}"
            ) from err
    if isinstance(obj, Data):
        return {k: v for k, v in obj.to_dict().items() if isinstance(v, torch.Tensor)}
    if isinstance(obj, dict):
        return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    raise ValueError(
        f"{path}: expected a torch_geometric Data or a dict of tensors, got {type(obj).__name__}"
    )
