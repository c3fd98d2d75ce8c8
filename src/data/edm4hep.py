"""Calorimeter events of EDM4hep files (``dataset=edm4hep``): a file or a directory of ``*.root`` files,
read with :mod:`src.io.edm4hep` and converted once into the event cache (one file per event). The cache
key is a fingerprint of the files' contents and the reader's options, so editing or replacing a file
builds a new cache entry. Every event is checked when it is loaded (:func:`src.io.edm4hep.check_event`):
no hits, more than ``max_event_size`` hits, or a NaN/inf hit or momentum make it a bad event, named with its
file and entry (``dataset.on_bad_event`` says whether the run stops or skips it)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from src.data.cache import Event, EventCache, to_tensors
from src.io.edm4hep import EDM4hepReader, check_event
from src.io.edm4hep.access import HitKind
from src.io.edm4hep.rootfile import EDM4hepFile

log = logging.getLogger(__name__)

#: Bump when the reader's conversion changes in a way that invalidates cached events.
READER_VERSION = 1
#: Events read from a file at a time while the cache is built.
CHUNK = 256


def find_edm4hep_files(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else the ``*.root`` files of the directory, sorted by name."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"dataset.path={path}: no such file or directory")
    files = sorted(path.glob("*.root"))
    if not files:
        raise FileNotFoundError(f"dataset.path={path}: the directory holds no *.root file")
    return files


def describe_calo_event(event: Event) -> str:
    """One-line summary: hits (with truth), generator particles, clusters, tracks."""
    truth = int((event["hit_particle"] >= 0).sum())
    return (
        f"{len(event['hit_energy']):6d} hits ({truth} with truth), {len(event['gen_pdg']):5d} particles, "
        f"{len(event['cluster_energy']):4d} clusters, {len(event['track_pt']):4d} tracks"
    )


class EDM4hepSource:
    """The calorimeter events of EDM4hep files, in file order then entry order (the first ``n_events``
    of them; None: all), cached per event."""

    def __init__(
        self,
        path: str | Path,
        *,
        n_events: int | None,
        cache_dir: str | Path,
        hits: HitKind,
        particles: str | None,
        clusters: str | None,
        b_field: float | None,
        max_event_size: int | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self.max_event_size = max_event_size
        self.files = find_edm4hep_files(self.path)
        self.options = {"hits": hits, "particles": particles, "clusters": clusters, "b_field": b_field}
        digest = hashlib.sha256()
        entries: list[tuple[int, int]] = []
        for k, f in enumerate(self.files):
            digest.update(f.read_bytes())
            with EDM4hepFile(f) as opened:
                entries += [(k, i) for i in range(opened.n_events)]
        self.entries = entries[:n_events] if n_events is not None else entries
        spec = {
            "source": "edm4hep",
            "version": READER_VERSION,
            "content": digest.hexdigest(),
            "reader": self.options,
        }
        self.cache = EventCache(cache_dir, "edm4hep", spec)
        self.fingerprint = self.cache.fingerprint
        self._memo: tuple[tuple[int, int], list[dict[str, np.ndarray]]] | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def _make(self, index: int) -> Event:
        k, entry = self.entries[index]
        chunk = (k, entry // CHUNK)
        if self._memo is None or self._memo[0] != chunk:
            with EDM4hepReader(self.files[k], **self.options) as reader:
                self._memo = (chunk, reader.read(chunk[1] * CHUNK, (chunk[1] + 1) * CHUNK))
        return to_tensors(self._memo[1][entry % CHUNK])

    def prepare(self, *, progress: bool = True) -> None:
        self.cache.build(len(self), self._make, describe=describe_calo_event, progress=progress)
        self._memo = None

    def load(self, index: int) -> Event:
        event = self.cache.load(index, rebuild=self._make)
        k, entry = self.entries[index]
        check_event(event, path=self.files[k], entry=entry, max_event_size=self.max_event_size)
        return event
