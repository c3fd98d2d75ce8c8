"""A per-event on-disk cache keyed by a fingerprint of the generator or reader configuration.

One file per event (``event_000042.pt``, a dict of tensors loadable with ``weights_only=True``), written
atomically (temporary file + ``os.replace``) so a killed build leaves no half-written event and a rerun
continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

log = logging.getLogger(__name__)

Event = dict[str, torch.Tensor]


def fingerprint(spec: Mapping[str, Any], *, length: int = 12) -> str:
    """A short, stable hash of a JSON-serialisable specification (sorted keys)."""
    blob = json.dumps(spec, sort_keys=True, default=_json_default).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, tuple | set):
        return list(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot fingerprint object of type {type(obj).__name__}: {obj!r}")


def to_tensors(arrays: Mapping[str, np.ndarray | torch.Tensor]) -> Event:
    """Convert a dict of numpy arrays to a dict of tensors (no copy where possible)."""
    return {
        k: v if isinstance(v, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(v))
        for k, v in arrays.items()
    }


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file in the same directory, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class EventCache:
    """Directory ``root/<name>-<fingerprint>/`` holding one file per event plus ``meta.json``."""

    def __init__(self, root: str | Path, name: str, spec: Mapping[str, Any]) -> None:
        self.spec = dict(spec)
        self.fingerprint = fingerprint(self.spec)
        self.dir = Path(root) / f"{name}-{self.fingerprint}"

    def path(self, index: int) -> Path:
        """File of event ``index``."""
        return self.dir / f"event_{index:06d}.pt"

    def missing(self, n_events: int) -> list[int]:
        """Indices in ``range(n_events)`` that are not cached yet."""
        return [i for i in range(n_events) if not self.path(i).exists()]

    def build(
        self,
        n_events: int,
        make_event: Callable[[int], Event],
        *,
        describe: Callable[[Event], str] | None = None,
        progress: bool = True,
    ) -> None:
        """Create every missing event of ``range(n_events)`` with ``make_event(index)``."""
        todo = self.missing(n_events)
        if not todo:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "meta.json"
        if not meta.exists():
            meta.write_text(json.dumps(self.spec, indent=2, sort_keys=True, default=_json_default))
        log.info("Building %d event(s) into %s", len(todo), self.dir)
        bar = tqdm(todo, desc=f"events -> {self.dir.name}", unit="evt", disable=not progress)
        for i in bar:
            event = make_event(i)
            atomic_save(event, self.path(i))
            if describe is not None:
                bar.write(f"event {i:6d}: {describe(event)}")

    def load(self, index: int) -> Event:
        """Read one cached event (tensors only, no arbitrary unpickling)."""
        path = self.path(index)
        if not path.exists():
            raise FileNotFoundError(f"event {index} is not in the cache {self.dir}; build it first")
        return torch.load(path, weights_only=True)
