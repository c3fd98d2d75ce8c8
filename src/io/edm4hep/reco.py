"""A reconstruction's clusters and tracks in one event of an EDM4hep file.

Clusters: energy and position as stored; ECAL/HCAL/other energies from ``subdetectorEnergies`` where each
cluster has at least two (iLCSoft/Pandora order: ECAL, HCAL, then yoke and forward calorimeters, summed
into "other"), else from the member hits read; spreads from the ``shapeParameters`` the writer names
``sigma_x/y/z``, else the energy-weighted spread of the member hits read; ``hit_cluster`` membership from
the ``hits`` relation (a hit listed by two clusters belongs to the first; hits of collections not read
are left out, and ``cluster_n_hits`` counts the member hits read). The particle of a cluster comes
from ``Cluster`` → ``MCParticle`` links (largest weight) where the file has them, else from its hits' truth.

Tracks: the ``AtIP`` track state gives d0, φ, ω, z0, tan λ and time; ``AtCalorimeter`` the calorimeter
entry; ``AtFirstHit`` the innermost-hit radius (NaN where a state is absent); dE/dx from ``RecDqdx``; the
particle from ``Track`` → ``MCParticle`` links. pT = 0.299792458 B / |ω| needs the field B (tesla): the
``b_field`` argument, else the value the writer stored; NaN without either.
"""

from __future__ import annotations

import logging

import numpy as np

from src.event_model import CLUSTERS, SUBDETECTORS, TRACKS
from src.io.edm4hep.access import Branches, ranges
from src.io.edm4hep.schema import AT_CALORIMETER, AT_FIRST_HIT, AT_IP
from src.io.edm4hep.truth import cluster_particles, cluster_spread, segment_argmax

log = logging.getLogger(__name__)

#: pT (GeV) = _PT_PER_TESLA_MM * B (T) * radius (mm).
_PT_PER_TESLA_MM = 0.299792458e-3
_ECAL = np.array([s.startswith("ecal") or s == "hgcal_ce_e" for s in SUBDETECTORS])
_HCAL = np.array([s.startswith("hcal") or s.startswith("hgcal_ce_h") for s in SUBDETECTORS])


def _best_link(b: Branches, coll: str, particles: str | None, n: int, i: int) -> tuple[np.ndarray, bool]:
    """Per object of ``coll``, the particle of its largest-weight link to ``particles`` (−1 without), and
    whether the file links ``coll`` to particles at all in this event."""
    out = np.full(n, -1, dtype=np.int64)
    if particles is None:
        return out, False
    src, dst, weight = b.links(i)
    keep = (src.target == coll) & (dst.target == particles) & (src.index >= 0) & (src.index < n)
    if not keep.any():
        return out, False
    owner, target, w = src.index[keep], dst.index[keep], weight[keep]
    order = np.argsort(owner, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=n))])
    best = segment_argmax(ptr, w[order])
    out[best >= 0] = target[order][best[best >= 0]]
    return out, True


def read_clusters(
    b: Branches,
    *,
    coll: str | None,
    particles: str | None,
    hits: dict[str, np.ndarray],
    offsets: dict[str, int],
    calo_entry: np.ndarray,
    i: int,
) -> dict[str, np.ndarray]:
    """The ``cluster_*`` arrays and ``hit_cluster`` of event ``i`` (empty, all −1, without ``coll``);
    ``offsets`` gives the first hit row of each hit collection, ``calo_entry`` the particles'
    ``gen_calo_entry``."""
    n_hits = len(hits["hit_energy"])
    hit_cluster = np.full(n_hits, -1, dtype=np.int64)
    if coll is None:
        return {"hit_cluster": hit_cluster} | {k: np.zeros(0) for k in CLUSTERS.fields}
    energy = b.member(coll, "energy", i)
    n = len(energy)
    begin, end = b.member(coll, "hits_begin", i), b.member(coll, "hits_end", i)
    owner, position = ranges(begin, end)
    rel = b.relation(coll, "hits", i)
    index, target = rel.index[position], rel.target[position]
    ours = np.isin(target, np.array(list(offsets), dtype=object)) & (index >= 0)
    rows = np.array([offsets[t] for t in target[ours]], dtype=np.int64) + index[ours]
    rows, first = np.unique(rows, return_index=True)
    hit_cluster[rows] = owner[ours][first]
    xyz = np.stack([hits["hit_x"], hits["hit_y"], hits["hit_z"]], axis=1)
    split = _subdetector_energies(b, coll, n, i)
    if split is None:
        sub = hits["hit_subdetector"].astype(np.int64)
        split = [
            np.bincount(hit_cluster[m], weights=hits["hit_energy"][m], minlength=n)
            for m in (
                _ECAL[sub] & (hit_cluster >= 0),
                _HCAL[sub] & (hit_cluster >= 0),
                ~(_ECAL | _HCAL)[sub] & (hit_cluster >= 0),
            )
        ]
    spread = _named_shape(b, coll, n, i)
    if spread is None:
        spread = cluster_spread(hit_cluster, xyz, hits["hit_energy"], n)
    particle, linked = _best_link(b, coll, particles, n, i)
    if linked:
        inside = (particle >= 0) & (particle < len(calo_entry))
        particle = np.where(inside, calo_entry[np.where(inside, particle, 0)] if len(calo_entry) else -1, -1)
    else:
        particle = cluster_particles(
            hit_cluster, hits["hit_contrib_ptr"], hits["hit_contrib_particle"], hits["hit_contrib_energy"], n
        )
    return {
        "hit_cluster": hit_cluster,
        "cluster_energy": energy,
        "cluster_x": b.member(coll, "position.x", i),
        "cluster_y": b.member(coll, "position.y", i),
        "cluster_z": b.member(coll, "position.z", i),
        "cluster_energy_ecal": split[0],
        "cluster_energy_hcal": split[1],
        "cluster_energy_other": split[2],
        "cluster_n_hits": np.bincount(hit_cluster[hit_cluster >= 0], minlength=n),
        "cluster_sigma_x": spread[:, 0],
        "cluster_sigma_y": spread[:, 1],
        "cluster_sigma_z": spread[:, 2],
        "cluster_particle": particle,
    }


def _subdetector_energies(b: Branches, coll: str, n: int, i: int) -> list[np.ndarray] | None:
    begin_branch = f"{coll}.subdetectorEnergies_begin"
    if not b.has(begin_branch):
        return None
    begin = b.member(coll, "subdetectorEnergies_begin", i).astype(np.int64)
    end = b.member(coll, "subdetectorEnergies_end", i).astype(np.int64)
    if n == 0 or (end - begin).min() < 2:
        return None
    values = b.vector(coll, "subdetectorEnergies").event(i)
    other = np.array([values[s + 2 : e].sum(dtype=np.float32) for s, e in zip(begin, end, strict=True)])
    return [values[begin], values[begin + 1], other.astype(np.float32)]


def _named_shape(b: Branches, coll: str, n: int, i: int) -> np.ndarray | None:
    names = b.f.writer_info.get("shape_parameters", {}).get(coll, [])
    wanted = ("sigma_x", "sigma_y", "sigma_z")
    if not all(w in names for w in wanted):
        return None
    begin = b.member(coll, "shapeParameters_begin", i).astype(np.int64)
    values = b.vector(coll, "shapeParameters").event(i)
    return np.stack([values[begin + names.index(w)] for w in wanted], axis=1) if n else np.zeros((0, 3))


def read_tracks(b: Branches, coll: str | None, particles: str | None, b_field: float | None, i: int) -> dict:
    """The ``track_*`` arrays of event ``i`` (empty without ``coll``)."""
    if coll is None:
        return {k: np.zeros(0) for k in TRACKS.fields}
    chi2 = b.member(coll, "chi2", i)
    n = len(chi2)
    owner, position = ranges(b.member(coll, "trackStates_begin", i), b.member(coll, "trackStates_end", i))
    state = {f: b.vector(coll, "trackStates", f).event(i)[position] for f in _STATE_FIELDS}

    def at(location: int, fallback: bool) -> np.ndarray:
        """State row of each track at ``location`` (its first state if ``fallback``), −1 if none."""
        pick = np.full(n, -1, dtype=np.int64)
        hit = np.flatnonzero(state["location"] == location)
        tracks, first = np.unique(owner[hit], return_index=True)
        pick[tracks] = hit[first]
        if fallback:
            missing = pick < 0
            tracks, first = np.unique(owner, return_index=True)
            pick[tracks[missing[tracks]]] = first[missing[tracks]]
        return pick

    def take(field: str, rows: np.ndarray) -> np.ndarray:
        return np.where(rows >= 0, state[field][np.maximum(rows, 0)] if len(owner) else np.nan, np.nan)

    ip, first_hit, calo = at(AT_IP, True), at(AT_FIRST_HIT, False), at(AT_CALORIMETER, False)
    omega, tan_lambda = take("omega", ip), take("tanLambda", ip)
    field = b_field if b_field is not None else b.f.writer_info.get("b_field")
    with np.errstate(divide="ignore", invalid="ignore"):
        pt = _PT_PER_TESLA_MM * float(field) / np.abs(omega) if field is not None else np.full(n, np.nan)
    if field is None and n:
        log.warning("%s: %d track(s) but no magnetic field: pass b_field to get pT and p", b.f.path, n)
    dedx, dedx_error = _dqdx(b, coll, n, i)
    particle, _ = _best_link(b, coll, particles, n, i)
    return {
        "track_particle": particle,
        "track_charge": np.sign(omega),
        "track_pt": pt,
        "track_eta": np.arcsinh(tan_lambda),
        "track_phi": take("phi", ip),
        "track_p": pt * np.sqrt(1.0 + tan_lambda.astype(np.float64) ** 2),
        "track_chi2": chi2,
        "track_ndf": b.member(coll, "ndf", i),
        "track_dedx": dedx,
        "track_dedx_error": dedx_error,
        "track_inner_radius": np.hypot(
            take("referencePoint.x", first_hit), take("referencePoint.y", first_hit)
        ),
        "track_tan_lambda": tan_lambda,
        "track_d0": take("D0", ip),
        "track_omega": omega,
        "track_z0": take("Z0", ip),
        "track_time": take("time", ip),
        "track_calo_x": take("referencePoint.x", calo),
        "track_calo_y": take("referencePoint.y", calo),
        "track_calo_z": take("referencePoint.z", calo),
    }


_STATE_FIELDS = (
    "location",
    "D0",
    "phi",
    "omega",
    "Z0",
    "tanLambda",
    "time",
    "referencePoint.x",
    "referencePoint.y",
    "referencePoint.z",
)


def _dqdx(b: Branches, track_coll: str, n: int, i: int) -> tuple[np.ndarray, np.ndarray]:
    """dE/dx and its error per track from RecDqdx collections pointing at ``track_coll`` (NaN without)."""
    value, error = np.full(n, np.nan, np.float32), np.full(n, np.nan, np.float32)
    for coll in b.f.collections("RecDqdx"):
        rel = b.relation(coll, "track", i)
        keep = (rel.target == track_coll) & (rel.index >= 0) & (rel.index < n)
        value[rel.index[keep]] = b.member(coll, "dQdx.value", i)[keep]
        error[rel.index[keep]] = b.member(coll, "dQdx.error", i)[keep]
    return value, error
