"""A per-event on-disk cache keyed by a fingerprint of the generator or reader configuration.

One file per event (``event_000042.pt``, a dict of tensors loadable with ``weights_only=True``) and its
manifest (``event_000042.sha256``: the file's SHA-256 and size), both written atomically (temporary file
+ rename, :mod:`src.utils.files`), so a killed build leaves no half-written event and a rerun continues
where it stopped. Every read checks the event against its manifest: an entry that is cut short, altered or
unreadable (a partial copy, a full disk) is named in a warning, removed and rebuilt from its source, and
the run goes on. An entry written before manifests existed is checked by loading it and then gets one.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from src.utils.files import atomic_write_bytes, remove_stale_temporaries, sha256_of

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


class CacheEntryError(ValueError):
    """A cached event that is unreadable and that this cache cannot rebuild (it was removed)."""


class EventCache:
    """Directory ``root/<name>-<fingerprint>/``: one file per event, its manifest, and ``meta.json``."""

    def __init__(self, root: str | Path, name: str, spec: Mapping[str, Any]) -> None:
        self.spec = dict(spec)
        self.fingerprint = fingerprint(self.spec)
        self.dir = Path(root) / f"{name}-{self.fingerprint}"

    def path(self, index: int) -> Path:
        """File of event ``index``."""
        return self.dir / f"event_{index:06d}.pt"

    def manifest(self, index: int) -> Path:
        """Manifest of event ``index``: ``<sha256> <size in bytes>``."""
        return self.dir / f"event_{index:06d}.sha256"

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
        remove_stale_temporaries(self.dir)
        todo = self.missing(n_events)
        if not todo:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "meta.json"
        if not meta.exists():
            text = json.dumps(self.spec, indent=2, sort_keys=True, default=_json_default)
            atomic_write_bytes(meta, text.encode())
        log.info("Building %d event(s) into %s", len(todo), self.dir)
        bar = tqdm(todo, desc=f"events -> {self.dir.name}", unit="evt", disable=not progress)
        for i in bar:
            event = make_event(i)
            self.save(i, event)
            if describe is not None:
                bar.write(f"event {i:6d}: {describe(event)}")

    def save(self, index: int, event: Event) -> None:
        """Write event ``index`` and then its manifest (a file without its manifest is checked on read)."""
        buffer = io.BytesIO()
        torch.save(event, buffer)
        data = buffer.getvalue()
        atomic_write_bytes(self.path(index), data)
        atomic_write_bytes(self.manifest(index), f"{sha256_of(data)} {len(data)}\n".encode())

    def load(self, index: int, *, rebuild: Callable[[int], Event] | None = None) -> Event:
        """Read one cached event (tensors only, no arbitrary unpickling), verified against its manifest.

        A damaged entry is removed with a warning naming it, then rebuilt with ``rebuild(index)`` (and
        cached again); without ``rebuild`` a :class:`CacheEntryError` says how to rebuild it.
        """
        path = self.path(index)
        if not path.exists():
            raise FileNotFoundError(f"event {index} is not in the cache {self.dir}; build it first")
        problem, event = self._read(index)
        if problem is None:
            return event
        action = "rebuilding it from its source" if rebuild is not None else "it cannot be rebuilt here"
        log.warning("Cached event %s %s: removed, %s", path, problem, action)
        path.unlink(missing_ok=True)
        self.manifest(index).unlink(missing_ok=True)
        if rebuild is None:
            raise CacheEntryError(
                f"{path}: {problem}; the entry was removed: rerun the command that wrote this cache "
                f"({self.dir}) to rebuild it"
            )
        event = rebuild(index)
        self.save(index, event)
        return event

    def _read(self, index: int) -> tuple[str | None, Event]:
        """(problem or None, event): the entry checked against its manifest, then loaded."""
        path, manifest = self.path(index), self.manifest(index)
        try:
            data = path.read_bytes()
            expected = manifest.read_text().split() if manifest.exists() else None
        except OSError as err:
            return f"is unreadable ({err})", {}
        problem = _manifest_problem(data, expected, manifest.name)
        if problem is not None:
            return problem, {}
        try:
            event = torch.load(io.BytesIO(data), weights_only=True)
        except Exception as err:  # any failure of the zip or unpickler: the entry is damaged
            return f"is not a readable event file ({type(err).__name__}: {err})", {}
        if not isinstance(event, dict) or not all(isinstance(v, torch.Tensor) for v in event.values()):
            return "does not hold a dict of tensors", {}
        if expected is None:  # written before manifests: adopt it now that it loaded
            atomic_write_bytes(manifest, f"{sha256_of(data)} {len(data)}\n".encode())
        return None, event


def _manifest_problem(data: bytes, expected: list[str] | None, name: str) -> str | None:
    """How ``data`` disagrees with its manifest's ``[sha256, size]`` (None: it agrees, or no manifest)."""
    if expected is None:
        return None
    if len(expected) != 2 or not expected[1].isdigit():
        return f"has a damaged manifest {name}"
    if int(expected[1]) != len(data):
        return f"holds {len(data)} bytes where its manifest says {expected[1]}"
    if sha256_of(data) != expected[0]:
        return "does not match the checksum of its manifest"
    return None
