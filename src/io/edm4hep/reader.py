"""Read EDM4hep files into calorimeter events: flat dicts of numpy arrays with the ``gen_*``, ``hit_*``,
``track_*`` and ``cluster_*`` keys of :mod:`src.event_model` (mm, GeV, ns), cast to the declared dtypes,
plus ``hit_cluster`` (int32 per hit, −1 for none). A collection the file lacks gives empty arrays.

Data that does not fit together (a relation pointing past its collection in a damaged file) is a
:class:`src.io.errors.LayoutError` naming the file and the event; :func:`check_event` tells a bad event
(no hits, more than a budget, a NaN or infinite hit position or energy or particle momentum)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from src.event_model import CALO_HITS, CLUSTERS, GEN_PARTICLES, TRACKS
from src.io.edm4hep.access import Branches, HitKind, Selection, select
from src.io.edm4hep.hits import hit_offsets, read_hits, read_particles
from src.io.edm4hep.reco import read_clusters, read_tracks
from src.io.edm4hep.rootfile import EDM4hepFile
from src.io.errors import LayoutError, ReaderError, check_finite, check_size

log = logging.getLogger(__name__)

#: Every key of a calorimeter event and its dtype (from the event model's declarations).
EVENT_DTYPES: MappingProxyType = MappingProxyType(
    {
        key: np.dtype(description.split(",")[0].split()[0])
        for collection in (GEN_PARTICLES, CALO_HITS, TRACKS, CLUSTERS)
        for key, description in collection.fields.items()
    }
    | {"hit_cluster": np.dtype(np.int32)}
)


def as_event(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays cast to the declared dtypes, in the declared key order (contiguous copies)."""
    missing = set(EVENT_DTYPES) - set(arrays)
    if missing:
        raise KeyError(f"calorimeter event lacks {sorted(missing)}")
    return {k: np.ascontiguousarray(arrays[k], dtype=dt) for k, dt in EVENT_DTYPES.items()}


class EDM4hepReader:
    """The calorimeter events of one EDM4hep file (see :func:`src.io.edm4hep.access.select` for which
    collections are read, and the package docstring for the conventions)."""

    def __init__(
        self,
        path: str | Path,
        *,
        hits: HitKind = "auto",
        particles: str | None = None,
        clusters: str | None = None,
        b_field: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.b_field = b_field
        self.file = EDM4hepFile(self.path)
        self.layout = self.file.layout.name
        self.n_events = self.file.n_events
        try:
            self.selection: Selection = select(self.file, hits=hits, particles=particles, clusters=clusters)
        except BaseException:
            self.file.close()
            raise
        if self.selection.lacks:
            log.info("%s lacks %s: empty in its events", self.path, ", ".join(self.selection.lacks))

    def __enter__(self) -> EDM4hepReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self.file.close()

    def read(self, start: int = 0, stop: int | None = None) -> list[dict[str, np.ndarray]]:
        """Events ``[start, stop)`` of the file."""
        stop = self.n_events if stop is None else min(stop, self.n_events)
        if not 0 <= start <= stop:
            raise IndexError(
                f"{self.path}: events [{start}, {stop}) out of range (the file has {self.n_events})"
            )
        out = []
        b = Branches(self.file, start, stop)
        for i in range(stop - start):
            try:
                out.append(self._event(b, i))
            except ReaderError:
                raise
            except (IndexError, ValueError, KeyError, TypeError) as err:  # relations of a damaged file
                raise LayoutError(
                    f"cannot be converted ({type(err).__name__}: {err})",
                    path=self.path,
                    event=start + i,
                    fix="The file is damaged or its collections do not fit together: write it again",
                ) from err
        return out

    def _event(self, b: Branches, i: int) -> dict[str, np.ndarray]:
        """Event ``i`` of the branches ``b``."""
        sel = self.selection
        gen = read_particles(b, sel.particles, i)
        gen["gen_calo_entry"] = np.asarray(gen["gen_calo_entry"], dtype=np.int64)
        hits = read_hits(b, sel, gen, i)
        offsets = hit_offsets(b, sel, i)
        clusters = read_clusters(
            b,
            coll=sel.clusters,
            particles=sel.particles,
            hits=hits,
            offsets=offsets,
            calo_entry=gen["gen_calo_entry"],
            i=i,
        )
        tracks = read_tracks(b, sel.tracks, sel.particles, self.b_field, i)
        return as_event(gen | hits | clusters | tracks)


#: Fields of a calorimeter event that must be finite (hit_time may be NaN: a sim hit without contributions).
FINITE_FIELDS = ("hit_x", "hit_y", "hit_z", "hit_energy", "gen_px", "gen_py", "gen_pz", "gen_energy")


def check_event(
    event: Mapping[str, Any], *, path: str | Path, entry: int, max_event_size: int | None = None
) -> None:
    """Raise a :class:`src.io.errors.BadEventError` for an event of entry ``entry`` of ``path`` without
    hits, with more than ``max_event_size`` hits (None: no limit), or with a NaN or infinite value in one
    of :data:`FINITE_FIELDS`."""
    size = len(event["hit_energy"])
    check_size(size, max_event_size, path=path, event=entry, field="hit_energy", what="calorimeter hits")
    for field in FINITE_FIELDS:
        check_finite(np.asarray(event[field]), path=path, event=entry, field=field)


def read_events(
    path: str | Path,
    *,
    hits: HitKind = "auto",
    particles: str | None = None,
    clusters: str | None = None,
    b_field: float | None = None,
) -> list[dict[str, np.ndarray]]:
    """Every event of an EDM4hep file as calorimeter events."""
    with EDM4hepReader(path, hits=hits, particles=particles, clusters=clusters, b_field=b_field) as reader:
        return reader.read()
