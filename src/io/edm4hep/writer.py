"""Write calorimeter events as EDM4hep: a ROOT ``events`` TTree with podio 1.x branch names and the
EDM4hep 0.99 datatypes (those of the ODD sample written by ddsim), readable with uproot by any tool:

* ``MCParticles`` (MCParticle: PDG, generatorStatus, simulatorStatus — bit 30 for particles of the
  simulation —, charge, time, mass, vertex, momentum) with ``_MCParticles_parents``/``_daughters``, and
  ``_MCParticles_caloEntry``, this project's one addition: each particle's ``gen_calo_entry``;
* one ``CalorimeterHit`` collection per subdetector present (``ECalBarrelHits``, ...: cellID, energy,
  time, position, ``type`` = iLCSoft's CalorimeterHitType code, whose ``type // 10000`` is the layer);
* ``CaloHitMCParticleLinks`` (CaloHitMCParticleLink ``from`` hit ``to`` particle): the hits' truth
  contributions, **weight = the particle's energy in the hit (GeV)**;
* ``CaloClusters`` (Cluster: energy, position, ``hits``, ``subdetectorEnergies`` = [ECAL, HCAL, other],
  ``shapeParameters`` = [σx, σy, σz]) and ``ClusterMCParticleLinks`` (weight: the particle's share of
  the cluster's hit energy);
* ``Tracks`` (Track: chi2, ndf, ``trackStates`` AtIP with d0, φ, ω, z0, tan λ, time; AtFirstHit whose
  reference point lies at the innermost-hit radius on the straight line of the IP direction; and
  AtCalorimeter at the calorimeter entry; unknown helix parameters of those two states are NaN),
  ``TracksDqdx`` (RecDqdx) and ``TrackMCParticleLinks``.

Collection ids are podio's (32-bit MurmurHash3 of the name). Members the event model has no value for
(endpoints, spins, covariances, ...) are left out. uproot writes flat branches (``MCParticles.PDG``, ...),
not podio's split classes, so podio's own C++ reader does not open these files. A TObjString
``hepreco_edm4hep`` describes the file (JSON: collection types, link-weight convention, B field).
Hits are written grouped by subdetector, in ``SUBDETECTORS`` order (:func:`hits_by_subdetector`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from src.event_model import SUBDETECTORS
from src.io.edm4hep.reader import EVENT_DTYPES, as_event
from src.io.edm4hep.rootfile import WRITER_KEY
from src.io.edm4hep.schema import (
    AT_CALORIMETER,
    AT_FIRST_HIT,
    AT_IP,
    CHT_CODES,
    CHT_LAYER,
    HIT_COLLECTIONS,
    SIM_CREATED_BIT,
    podio_hash,
)

Rows = dict[str, np.ndarray]
#: Keys a write → read gives back only to within this relative difference: EDM4hep keeps no pT, p or η of a
#: track (they follow from ω, tan λ and the field) nor its innermost-hit radius (recovered from the
#: AtFirstHit reference point), keeps MCParticle times in float32 and no energy (E = √(p² + m²)).
DERIVED_ON_READ: dict[str, float] = {
    "track_pt": 3e-7,
    "track_p": 3e-7,
    "track_eta": 3e-7,
    "track_inner_radius": 3e-7,
    "gen_time": 1e-7,
    "gen_energy": 1e-15,
}
_GROUPS = {"cluster_": ("hit_cluster",), "track_": ()}


def complete(event: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The event with the optional collections it lacks entirely (clusters, tracks) added empty."""
    out = dict(event)
    for prefix, extra in _GROUPS.items():
        keys = [k for k in EVENT_DTYPES if k.startswith(prefix)]
        if not any(k in out for k in keys):
            out |= {k: np.zeros(0, EVENT_DTYPES[k]) for k in keys}
            out |= {k: np.full(len(out["hit_energy"]), -1, EVENT_DTYPES[k]) for k in extra if k not in out}
    return as_event(out)


def hits_by_subdetector(event: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The event with its hits (and their contributions and cluster membership) stably reordered by
    subdetector, the order in which :func:`write_events` stores them."""
    out = dict(event)
    order = np.argsort(event["hit_subdetector"], kind="stable")
    for key, value in event.items():
        if key.startswith("hit_") and not key.startswith("hit_contrib"):
            out[key] = value[order]
    ptr = event["hit_contrib_ptr"]
    starts, counts = ptr[:-1][order], np.diff(ptr)[order]
    take = (
        np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(counts.sum())
    ).astype(np.int64)
    out["hit_contrib_ptr"] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out["hit_contrib_particle"] = event["hit_contrib_particle"][take]
    out["hit_contrib_energy"] = event["hit_contrib_energy"][take]
    return out


def _ids(rows: np.ndarray, name: str) -> Rows:
    """podio ObjectIDs pointing at rows of collection ``name`` (rows < 0: unset)."""
    rows = np.asarray(rows, dtype=np.int64)
    return {
        "index": np.where(rows >= 0, rows, -2).astype(np.int32),
        "collectionID": np.full(len(rows), podio_hash(name), dtype=np.uint32),
    }


def _particles(ev: Rows) -> dict[str, Rows]:
    n = len(ev["gen_pdg"])
    parent = ev["gen_parent"].astype(np.int64)
    has = parent >= 0
    kids = np.argsort(parent, kind="stable")[np.count_nonzero(~has) :]
    kid_count = np.bincount(parent[has], minlength=n)
    sim = ((ev["gen_status"] == 0).astype(np.int64) << SIM_CREATED_BIT).astype(np.int32)
    return {
        "MCParticles": {
            "PDG": ev["gen_pdg"],
            "generatorStatus": ev["gen_status"].astype(np.int32),
            "simulatorStatus": sim,
            "charge": ev["gen_charge"],
            "time": ev["gen_time"].astype(np.float32),
            "mass": ev["gen_mass"],
            **{f"vertex.{c}": ev[f"gen_v{c}"] for c in "xyz"},
            **{f"momentum.{c}": ev[f"gen_p{c}"] for c in "xyz"},
            "parents_begin": np.cumsum(has)[:n].astype(np.uint32) - has.astype(np.uint32),
            "parents_end": np.cumsum(has).astype(np.uint32),
            "daughters_begin": (np.cumsum(kid_count) - kid_count).astype(np.uint32),
            "daughters_end": np.cumsum(kid_count).astype(np.uint32),
        },
        "_MCParticles_parents": _ids(parent[has], "MCParticles"),
        "_MCParticles_daughters": _ids(kids, "MCParticles"),
        "_MCParticles_caloEntry": _ids(ev["gen_calo_entry"], "MCParticles"),
    }


def _hits(ev: Rows, subdetectors: Sequence[int]) -> tuple[dict[str, Rows], np.ndarray, np.ndarray]:
    """Hit collections, and per hit its collection's name and its row in it."""
    out: dict[str, Rows] = {}
    sub = ev["hit_subdetector"].astype(np.int64)
    coll = np.empty(len(sub), dtype=object)
    local = np.zeros(len(sub), dtype=np.int64)
    for s in subdetectors:
        name, (calo_type, calo_id, layout) = HIT_COLLECTIONS[SUBDETECTORS[s]], CHT_CODES[SUBDETECTORS[s]]
        mask = sub == s
        coll[mask], local[mask] = name, np.arange(mask.sum())
        out[name] = {
            "cellID": ev["hit_cell"][mask].view(np.uint64),
            "energy": ev["hit_energy"][mask],
            "energyError": np.zeros(mask.sum(), np.float32),
            "time": ev["hit_time"][mask],
            **{f"position.{c}": ev[f"hit_{c}"][mask] for c in "xyz"},
            "type": (
                calo_type + 10 * calo_id + 1000 * layout + CHT_LAYER * ev["hit_layer"][mask].astype(np.int32)
            ),
        }
    return out, coll, local


def _links(src_names: np.ndarray, src_rows: np.ndarray, particle: np.ndarray, weight: np.ndarray) -> Rows:
    ids = np.array([podio_hash(n) for n in src_names], dtype=np.uint32)
    return {
        "weight": weight.astype(np.float32),
        "from": {"index": src_rows.astype(np.int32), "collectionID": ids},
        "to": _ids(particle, "MCParticles"),
    }


def _clusters(ev: Rows, coll: np.ndarray, local: np.ndarray) -> dict[str, Rows]:
    n = len(ev["cluster_energy"])
    member = np.flatnonzero(ev["hit_cluster"] >= 0)
    member = member[np.argsort(ev["hit_cluster"][member], kind="stable")]
    count = np.bincount(ev["hit_cluster"][member], minlength=n)
    three = np.arange(n, dtype=np.uint32) * 3
    hits_ptr = np.concatenate([[0], np.cumsum(count)]).astype(np.uint32)
    ids = np.array([podio_hash(c) for c in coll[member]], dtype=np.uint32)
    zero = np.zeros(n, np.uint32)
    return {
        "CaloClusters": {
            "type": np.zeros(n, np.int32),
            "energy": ev["cluster_energy"],
            **{f"position.{c}": ev[f"cluster_{c}"] for c in "xyz"},
            "iTheta": np.zeros(n, np.float32),
            "shapeParameters_begin": three,
            "shapeParameters_end": three + 3,
            "subdetectorEnergies_begin": three,
            "subdetectorEnergies_end": three + 3,
            "clusters_begin": zero,
            "clusters_end": zero,
            "hits_begin": hits_ptr[:-1],
            "hits_end": hits_ptr[1:],
        },
        "_CaloClusters_clusters": _ids(np.zeros(0), "CaloClusters"),
        "_CaloClusters_hits": {"index": local[member].astype(np.int32), "collectionID": ids},
        "_CaloClusters_shapeParameters": {
            "": np.stack([ev[f"cluster_sigma_{c}"] for c in "xyz"], 1).reshape(-1).astype(np.float32)
        },
        "_CaloClusters_subdetectorEnergies": {
            "": np.stack([ev[f"cluster_energy_{k}"] for k in ("ecal", "hcal", "other")], 1).reshape(-1)
        },
    }


def _cluster_links(ev: Rows) -> Rows:
    """Each cluster's particle with its share of the cluster's hit energy."""
    cluster, particle = np.flatnonzero(ev["cluster_particle"] >= 0), ev["cluster_particle"]
    counts = np.diff(ev["hit_contrib_ptr"])
    owner = np.repeat(ev["hit_cluster"], counts)
    share = np.zeros(len(particle))
    total = np.bincount(
        ev["hit_cluster"][ev["hit_cluster"] >= 0],
        weights=ev["hit_energy"][ev["hit_cluster"] >= 0],
        minlength=len(particle),
    )
    target = particle[np.maximum(owner, 0)] if len(particle) else np.full(len(owner), -1)
    mine = (owner >= 0) & (ev["hit_contrib_particle"] == target)
    np.add.at(share, owner[mine], ev["hit_contrib_energy"][mine].astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(total > 0, share / total, 0.0)[cluster]
    return _links(np.full(len(cluster), "CaloClusters", dtype=object), cluster, particle[cluster], weight)


def _tracks(ev: Rows) -> dict[str, Rows]:
    n = len(ev["track_pt"])
    nan = np.full(n, np.nan, np.float32)
    phi, r, tl = ev["track_phi"], ev["track_inner_radius"], ev["track_tan_lambda"]
    first = [r * np.cos(phi), r * np.sin(phi), ev["track_z0"] + r * tl]
    states = [
        (
            AT_IP,
            [ev["track_d0"], phi, ev["track_omega"], ev["track_z0"], tl, ev["track_time"]],
            [np.zeros(n)] * 3,
        ),
        (AT_FIRST_HIT, [nan] * 6, first),
        (AT_CALORIMETER, [nan] * 6, [ev[f"track_calo_{c}"] for c in "xyz"]),
    ]
    fields = ("D0", "phi", "omega", "Z0", "tanLambda", "time")
    state_rows = {
        "location": np.stack([np.full(n, loc, np.int32) for loc, _, _ in states], 1).reshape(-1),
        **{
            f: np.stack([s[1][k] for s in states], 1).reshape(-1).astype(np.float32)
            for k, f in enumerate(fields)
        },
        **{
            f"referencePoint.{c}": np.stack([s[2][k] for s in states], 1).reshape(-1).astype(np.float32)
            for k, c in enumerate("xyz")
        },
    }
    three = np.arange(n, dtype=np.uint32) * 3
    linked = np.flatnonzero(ev["track_particle"] >= 0)
    return {
        "Tracks": {
            "type": np.zeros(n, np.int32),
            "chi2": ev["track_chi2"],
            "ndf": ev["track_ndf"].astype(np.int32),
            "trackStates_begin": three,
            "trackStates_end": three + 3,
        },
        "_Tracks_trackStates": state_rows,
        "TracksDqdx": {
            "dQdx.type": np.zeros(n, np.int16),
            "dQdx.value": ev["track_dedx"],
            "dQdx.error": ev["track_dedx_error"],
        },
        "_TracksDqdx_track": _ids(np.arange(n), "Tracks"),
        "TrackMCParticleLinks": _links(
            np.full(len(linked), "Tracks", dtype=object),
            linked,
            ev["track_particle"][linked],
            np.ones(len(linked)),
        ),
    }


def _event_collections(ev: Rows, subdetectors: Sequence[int]) -> dict[str, Rows]:
    """Every collection of one event (the same names for every event of a file)."""
    hits, coll, local = _hits(ev, subdetectors)
    counts = np.diff(ev["hit_contrib_ptr"])
    hit_of = np.repeat(np.arange(len(counts)), counts)
    out: dict[str, Rows] = {
        "EventHeader": {"eventNumber": np.zeros(1, np.int32), "weight": np.ones(1)},
        **_particles(ev),
        **hits,
        "CaloHitMCParticleLinks": _links(
            coll[hit_of], local[hit_of], ev["hit_contrib_particle"], ev["hit_contrib_energy"]
        ),
        **_clusters(ev, coll, local),
        "ClusterMCParticleLinks": _cluster_links(ev),
        **_tracks(ev),
    }
    for name in [k for k, v in out.items() if "from" in v]:  # links: members and their two relations
        rows = out.pop(name)
        out |= {name: {"weight": rows["weight"]}, f"_{name}_from": rows["from"], f"_{name}_to": rows["to"]}
    return out


def _jagged(parts: list[np.ndarray]) -> ak.Array:
    counts = np.array([len(p) for p in parts], dtype=np.int64)
    return ak.unflatten(np.concatenate(parts), counts)


def write_events(
    path: str | Path, events: Sequence[Mapping[str, np.ndarray]], *, b_field: float | None = None
) -> Path:
    """Write calorimeter events to ``path`` as EDM4hep (see the module docstring); ``b_field`` (tesla) is
    stored for the tracks' pT (required when an event has tracks). Returns the path."""
    prepared = [hits_by_subdetector(complete(e)) for e in events]
    if b_field is None and any(len(e["track_pt"]) for e in prepared):
        raise ValueError(
            f"write_events({path}): the events hold tracks; pass b_field (tesla): EDM4hep stores the "
            "curvature omega, from which pT is recovered with the field"
        )
    # the subdetectors with hits (a file of events without any hit still holds an empty hit collection)
    subdetectors = sorted({int(s) for e in prepared for s in np.unique(e["hit_subdetector"])}) or [0]
    per_event = [_event_collections(e, subdetectors) for e in prepared]
    for i, collections in enumerate(per_event):
        collections["EventHeader"]["eventNumber"][:] = i
    names = list(per_event[0]) if per_event else []
    arrays: dict[str, ak.Array] = {}
    for name in names:
        fields = per_event[0][name]
        columns = {f: _jagged([c[name][f] for c in per_event]) for f in fields}
        arrays[name] = columns[""] if "" in columns else ak.zip(columns)
    info = {
        "writer": "hepreco src.io.edm4hep",
        "format": "EDM4hep 0.99 datatypes, podio 1.x branch names, flat TTree branches",
        "collections": {n: _TYPES[n] for n in names if n in _TYPES}
        | {n: "CalorimeterHit" for n in names if n.endswith("Hits")},
        "link_weight": "energy",
        "b_field": b_field,
        "shape_parameters": {"CaloClusters": ["sigma_x", "sigma_y", "sigma_z"]},
        "calo_entry_relation": "_MCParticles_caloEntry",
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(path) as f:
        tree = f.mktree(
            "events",
            {n: a.type for n, a in arrays.items()},
            field_name=lambda outer, inner: f"{outer}.{inner}",
            counter_name=lambda counted: f"{counted}_n",
        )
        if per_event:
            tree.extend(arrays)
        f[WRITER_KEY] = json.dumps(info, sort_keys=True)
    return path


_TYPES = {
    "EventHeader": "EventHeader",
    "MCParticles": "MCParticle",
    "CaloHitMCParticleLinks": "Link",
    "CaloClusters": "Cluster",
    "ClusterMCParticleLinks": "Link",
    "Tracks": "Track",
    "TracksDqdx": "RecDqdx",
    "TrackMCParticleLinks": "Link",
}
