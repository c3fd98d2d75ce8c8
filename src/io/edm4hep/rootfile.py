"""One EDM4hep ROOT file as uproot sees it: its ``events`` tree (highest cycle), branch-naming layout,
collections and their types, collection ids, and its branches read as per-event slices of flat arrays.

Every uproot call goes through :func:`uproot_errors`, so a truncated or non-ROOT file raises
:class:`UnreadableFileError` naming the file rather than a traceback from inside uproot; a collection or
branch the reader needs and the file lacks raises :class:`MissingCollectionError` naming both. Both are
:class:`src.io.errors.ReaderError` s (``path``, ``event``, ``field``, ``fix``), like every reader's errors.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from src.io.edm4hep.schema import DATATYPES, LAYOUTS, LINK_CLASS, Layout, podio_hash
from src.io.errors import CorruptFileError, MissingFieldError, ReaderError

log = logging.getLogger(__name__)

#: The writer's own description of a file (JSON in a TObjString of this name).
WRITER_KEY = "hepreco_edm4hep"
_CLASS = re.compile(r"^vector<edm4hep::(\w+?)Data>$")


class EDM4hepError(ReaderError):
    """A file that cannot be read as EDM4hep; the message names the file and what is wrong."""


class UnreadableFileError(EDM4hepError, CorruptFileError):
    """Not a ROOT file, or a truncated or damaged one."""


class MissingCollectionError(EDM4hepError, MissingFieldError):
    """A collection or branch the reader needs is not in the file (``field``: the branch or collection)."""


@contextmanager
def uproot_errors(path: Path, what: str) -> Iterator[None]:
    """Re-raise any error of uproot while reading ``what`` of ``path`` as :class:`UnreadableFileError`."""
    try:
        yield
    except ReaderError:
        raise
    except Exception as err:  # uproot raises many kinds (OSError, ValueError, struct.error, ...)
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise UnreadableFileError(
            f"cannot read {what} ({type(err).__name__}: {first})",
            path=path,
            fix="Is it a complete EDM4hep ROOT file (not truncated, not another format)?",
        ) from err


@dataclass(frozen=True)
class Jagged:
    """One branch of every event as flat values and per-event offsets."""

    values: np.ndarray
    offsets: np.ndarray

    def event(self, i: int) -> np.ndarray:
        """Values of event ``i``."""
        return self.values[self.offsets[i] : self.offsets[i + 1]]


class EDM4hepFile:
    """An open EDM4hep file (use as a context manager, or call :meth:`close`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such file")
        with self.path.open("rb") as fh:
            magic = fh.read(4)
        if magic != b"root":
            raise UnreadableFileError(
                f"not a ROOT file (it starts with {magic!r}, a ROOT file with b'root')",
                path=self.path,
                fix="EDM4hep files are ROOT files written by podio",
            )
        with uproot_errors(self.path, "the file"):
            self._file = uproot.open(self.path, handler=uproot.source.file.MemmapSource)
            keys = self._file.keys(cycle=True)
            self.writer_info: dict[str, Any] = (
                json.loads(str(self._file[WRITER_KEY])) if f"{WRITER_KEY};1" in keys else {}
            )
            events = sorted((k for k in keys if k.split(";")[0] == "events"), key=_cycle)
            if not events:
                raise MissingCollectionError(
                    f"no 'events' tree (the file holds {sorted(self._file.keys(cycle=False))})",
                    path=self.path,
                    field="events",
                    fix="EDM4hep files keep their events in a TTree named 'events'",
                )
            self.tree_key = events[-1]  # duplicate cycles: the highest is the complete one
            self.tree = self._file[self.tree_key]
            self.n_events = int(self.tree.num_entries)
            self.branches = {b.name: b for b in self.tree.itervalues(recursive=True)}
            self.types = self._collection_types()
            self.layout = self._layout(keys)
            self.ids = self._collection_ids()
        self.names = {i: n for n, i in self.ids.items()}

    def __enter__(self) -> EDM4hepFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying ROOT file."""
        self._file.close()

    # ------------------------------------------------------------------ structure
    def _collection_types(self) -> dict[str, str]:
        """Collection name → datatype name: from the class of the top-level branch where the file has
        one, else from the writer's description, else from the members present (flat branches)."""
        types: dict[str, str] = {}
        members: dict[str, set[str]] = {}
        for name, branch in self.tree.items(recursive=False):
            match = _CLASS.match(branch.typename)
            if match:
                cls = match.group(1)
                types[name] = "Link" if LINK_CLASS.search(cls) else cls
            elif "." in name and not name.startswith("_") and "#" not in name:
                coll, member = name.split(".", 1)
                members.setdefault(coll, set()).add(member)
        declared = self.writer_info.get("collections", {})
        for coll, present in members.items():
            if coll in types:
                continue
            found = declared.get(coll) or next(
                (t.name for t in DATATYPES if t.signature <= present), "unknown"
            )
            types[coll] = found
        return types

    def _layout(self, keys: Sequence[str]) -> Layout:
        if any(k.startswith("podio_metadata") for k in keys):
            return LAYOUTS["podio_1"]
        if any("#" in b for b in self.branches):
            return LAYOUTS["edm4hep_2021"]
        return LAYOUTS["podio_1"]

    def _collection_ids(self) -> dict[str, int]:
        layout = self.layout
        tree_key = f"{layout.id_tree};1"
        if tree_key in self._file.keys(cycle=True):
            meta = self._file[layout.id_tree]
            branches = set(meta.keys())
            if layout.id_names in branches and layout.id_values in branches:
                names = meta[layout.id_names].array(library="np", entry_stop=1)[0]
                ids = meta[layout.id_values].array(library="np", entry_stop=1)[0]
                return {str(n): int(i) for n, i in zip(names, ids, strict=True)}
        if layout.name == "edm4hep_2021":
            raise MissingCollectionError(
                "a 2021-layout file needs its collection-id table, which is missing",
                path=self.path,
                field=f"{layout.id_tree}/{layout.id_names}",
            )
        return {name: podio_hash(name) for name in self.types}

    def collections(self, datatype: str) -> list[str]:
        """Collections of a datatype, in the file's order."""
        return [c for c, t in self.types.items() if t == datatype]

    def require(self, branch: str, collection: str) -> None:
        """Raise :class:`MissingCollectionError` unless ``branch`` (of ``collection``) is in the file."""
        if branch not in self.branches:
            raise MissingCollectionError(
                f"collection {collection!r} lacks branch {branch!r} (the file's collections: "
                f"{sorted(self.types)})",
                path=self.path,
                field=branch,
            )

    @functools.cached_property
    def metadata_strings(self) -> dict[str, str]:
        """The file-level string parameters of a podio 1.x file (``metadata`` tree), e.g. cell-ID
        encodings ``<collection>__CellIDEncoding``; empty where there are none."""
        if "metadata;1" not in self._file.keys(cycle=True) or self.layout.name != "podio_1":
            return {}
        with uproot_errors(self.path, "the metadata tree"):
            meta = self._file["metadata"]
            if "GPStringKeys" not in set(meta.keys()):
                return {}
            keys = meta["GPStringKeys"].array(library="np", entry_stop=1)[0]
            values = meta["GPStringValues"].array(library="np", entry_stop=1)[0]
        return {str(k): str(v[0]) for k, v in zip(keys, values, strict=True) if len(v)}

    # ------------------------------------------------------------------ data
    def read(self, branches: dict[str, str], entry_start: int, entry_stop: int) -> dict[str, Jagged]:
        """Branches (name → the collection it belongs to, for messages) of events
        ``[entry_start, entry_stop)`` as flat values with offsets."""
        for branch, collection in branches.items():
            self.require(branch, collection)
        out: dict[str, Jagged] = {}
        with uproot_errors(self.path, f"branches of {sorted(set(branches.values()))}"):
            for branch in branches:
                column = self.branches[branch].array(
                    library="ak", entry_start=entry_start, entry_stop=entry_stop
                )
                counts = ak.to_numpy(ak.num(column, axis=1)).astype(np.int64)
                offsets = np.concatenate([[0], np.cumsum(counts)])
                out[branch] = Jagged(ak.to_numpy(ak.flatten(column, axis=1)), offsets)
        return out


def _cycle(key: str) -> int:
    return int(key.split(";")[1]) if ";" in key else 0
