"""Which collections of a file make the calorimeter event (:func:`select`), and on-demand access to their
branches and relations for a range of events (:class:`Branches`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from src.io.edm4hep.rootfile import EDM4hepFile, Jagged, MissingCollectionError
from src.io.edm4hep.schema import (
    CLUSTER_PREFERENCE,
    DATATYPE,
    LINK_ENDS,
    PARTICLE_PREFERENCE,
    relation_branch,
    vector_branch,
)

log = logging.getLogger(__name__)

HitKind = Literal["auto", "reco", "sim"]
_HIT_TYPES = {"reco": "CalorimeterHit", "sim": "SimCalorimeterHit"}


@dataclass(frozen=True)
class Selection:
    """The collections one calorimeter event is read from (None: the file has none), and what the file
    lacks of a complete event (``lacks``: MC particles, hit truth, clusters, tracks)."""

    particles: str | None
    hits: tuple[str, ...]
    hit_type: str
    clusters: str | None
    tracks: str | None
    lacks: tuple[str, ...]


def _prefer(names: list[str], patterns: Sequence[re.Pattern[str]]) -> str | None:
    for pattern in patterns:
        for name in names:
            if pattern.search(name):
                return name
    return names[0] if names else None


def _named(f: EDM4hepFile, name: str, datatype: str, option: str) -> str:
    if f.types.get(name) != datatype:
        have = f.collections(datatype)
        raise MissingCollectionError(
            f"no {datatype} collection {name!r} ({option}={name!r}); the file's {datatype} collections: "
            f"{have or 'none'}",
            path=f.path,
            field=name,
        )
    return name


def select(
    f: EDM4hepFile,
    *,
    hits: HitKind = "auto",
    particles: str | None = None,
    clusters: str | None = None,
) -> Selection:
    """The collections of ``f`` to read: calibrated ``CalorimeterHit`` collections where the file has
    any (``hits="auto"``), else its ``SimCalorimeterHit`` ones; the ``MCParticle`` collection named
    ``particles`` (default: ``MCParticles``, else the first); the ``Cluster`` collection ``clusters``
    (default: the Pandora clusters, else the first); the first ``Track`` collection."""
    if hits not in ("auto", "reco", "sim"):
        raise ValueError(f"hits must be 'auto', 'reco' or 'sim', got {hits!r}")
    hit_type = _HIT_TYPES.get(hits) or (
        "CalorimeterHit" if f.collections("CalorimeterHit") else "SimCalorimeterHit"
    )
    hit_names = tuple(f.collections(hit_type))
    if not hit_names:
        raise MissingCollectionError(
            f"no {hit_type} collection (hits={hits!r}); the file's collections: "
            + ", ".join(f"{c} ({t})" for c, t in f.types.items()),
            path=f.path,
            field=hit_type,
        )
    p = _named(f, particles, "MCParticle", "particles") if particles else None
    k = _named(f, clusters, "Cluster", "clusters") if clusters else None
    particle_coll = p or _prefer(f.collections("MCParticle"), PARTICLE_PREFERENCE)
    cluster_coll = k or _prefer(f.collections("Cluster"), CLUSTER_PREFERENCE)
    track_coll = _prefer(f.collections("Track"), ())
    truth_type = "CaloHitContribution" if hit_type == "SimCalorimeterHit" else "Link"
    lacks = {
        "MC particles": particle_coll is None,
        "hit truth": particle_coll is None or not f.collections(truth_type),
        "clusters": cluster_coll is None,
        "tracks": track_coll is None,
    }
    return Selection(
        particles=particle_coll,
        hits=hit_names,
        hit_type=hit_type,
        clusters=cluster_coll,
        tracks=track_coll,
        lacks=tuple(what for what, missing in lacks.items() if missing),
    )


@dataclass(frozen=True)
class Relation:
    """A relation's targets for one event: row index and collection name (None: not in the file)."""

    index: np.ndarray
    target: np.ndarray  # object array of collection names or None


class Branches:
    """Branches of events ``[start, stop)`` of a file, read once on first use."""

    def __init__(self, f: EDM4hepFile, start: int, stop: int) -> None:
        self.f, self.start, self.stop = f, start, stop
        self._cache: dict[str, Jagged] = {}

    def __call__(self, branch: str, collection: str) -> Jagged:
        """The branch (of ``collection``, named in errors)."""
        if branch not in self._cache:
            self._cache.update(self.f.read({branch: collection}, self.start, self.stop))
        return self._cache[branch]

    def member(self, coll: str, member: str, i: int) -> np.ndarray:
        """Member ``member`` of collection ``coll`` in event ``i`` (relative to ``start``)."""
        return self(f"{coll}.{member}", coll).event(i)

    def has(self, branch: str) -> bool:
        """Whether the file has the branch."""
        return branch in self.f.branches

    def _prefix(self, coll: str, relation: str) -> str:
        datatype = DATATYPE[self.f.types[coll]]
        if datatype.name != "Link":
            return relation_branch(self.f.layout, coll, datatype, relation)
        end = 0 if relation == "from" else 1
        names = next((p for p in LINK_ENDS if self.has(f"_{coll}_{p[0]}.index")), LINK_ENDS[0])
        return self.f.layout.relation.format(coll=coll, index=end, name=names[end])

    def has_relation(self, coll: str, relation: str) -> bool:
        """Whether collection ``coll`` stores relation ``relation``."""
        return self.has(self._prefix(coll, relation) + ".index")

    def relation(self, coll: str, relation: str, i: int) -> Relation:
        """Targets of relation ``relation`` of ``coll`` in event ``i`` (one entry per stored link)."""
        prefix = self._prefix(coll, relation)
        index = self(prefix + ".index", coll).event(i).astype(np.int64)
        ids = self(prefix + ".collectionID", coll).event(i).astype(np.int64)
        unique, inverse = np.unique(ids, return_inverse=True)
        names = np.array([self.f.names.get(int(c)) for c in unique], dtype=object)
        target = names[inverse.reshape(-1)]
        missing = [int(c) for c, n in zip(unique, names, strict=True) if n is None]
        if missing and (str(self.f.path), coll, relation) not in _WARNED:
            _WARNED.add((str(self.f.path), coll, relation))
            log.warning(
                "%s: %s.%s points to collection id(s) %s, not in the file: left out",
                self.f.path,
                coll,
                relation,
                missing,
            )
        return Relation(np.where(index >= 0, index, -1), target)

    def vector(self, coll: str, member: str, field: str | None = None) -> Jagged:
        """Vector member ``member`` of ``coll`` (``field`` of it for vectors of components)."""
        branch = vector_branch(self.f.layout, coll, DATATYPE[self.f.types[coll]], member)
        return self(f"{branch}.{field}" if field else branch, coll)

    def links(self, i: int) -> tuple[Relation, Relation, np.ndarray]:
        """Every link of every link collection in event ``i``, concatenated: (from, to, weight)."""
        parts = [
            (self.relation(c, "from", i), self.relation(c, "to", i), self.member(c, "weight", i))
            for c in self.f.collections("Link")
            if self.has_relation(c, "from") and self.has_relation(c, "to")
        ]
        return (
            Relation(_cat([p[0].index for p in parts], np.int64), _cat([p[0].target for p in parts], object)),
            Relation(_cat([p[1].index for p in parts], np.int64), _cat([p[1].target for p in parts], object)),
            _cat([p[2] for p in parts], np.float32),
        )


def _cat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)


#: (file, collection, relation) already warned about (once per process).
_WARNED: set[tuple[str, str, str]] = set()


def ranges(begin: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner row, position) of every entry of the ranges ``[begin[j], end[j])``, owner-ordered."""
    counts = (end.astype(np.int64) - begin.astype(np.int64)).clip(min=0)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else np.zeros(0, np.int64)
    position = (
        np.arange(int(counts.sum())) - np.repeat(starts, counts) + np.repeat(begin.astype(np.int64), counts)
    )
    return owner, position
