"""Generator particles and calorimeter hits, with their truth, of one event of an EDM4hep file.

Truth: each stored contribution (``SimCalorimeterHit`` → ``CaloHitContribution`` → ``MCParticle``) or
link (``CalorimeterHit`` → ``MCParticle``) is assigned to the particle's **generator-status-1 ancestor**
(``gen_calo_entry``: the particle itself when the generator left it in the final state, else the nearest
such ancestor along the first-parent chain, −1 where there is none), then summed per hit and particle. A
file written by :mod:`src.io.edm4hep.writer` stores each particle's calorimeter-entry particle as the
relation ``_MCParticles_caloEntry``; where present it is used instead.
"""

from __future__ import annotations

import numpy as np

from src.io.edm4hep.access import Branches, Selection, ranges
from src.io.edm4hep.schema import DD4HEP_FIRST_LAYER, subdetector_of
from src.io.edm4hep.truth import generator_ancestor, hit_particles, merge_contributions

_VEC = ("x", "y", "z")


def read_particles(b: Branches, coll: str | None, i: int) -> dict[str, np.ndarray]:
    """The ``gen_*`` arrays of event ``i`` from MCParticle collection ``coll`` (empty for None)."""
    if coll is None:
        return {k: np.zeros(0) for k in _GEN_KEYS}
    m = {k: b.member(coll, k, i) for k in ("PDG", "generatorStatus", "charge", "time", "mass")}
    vertex = [b.member(coll, f"vertex.{c}", i).astype(np.float64) for c in _VEC]
    px, py, pz = (b.member(coll, f"momentum.{c}", i).astype(np.float64) for c in _VEC)
    mass = m["mass"].astype(np.float64)
    begin, end = b.member(coll, "parents_begin", i), b.member(coll, "parents_end", i)
    parents = b.relation(coll, "parents", i)
    n = len(px)
    parent = np.full(n, -1, dtype=np.int64)
    has = (end > begin) & (begin < len(parents.index))
    first = begin[has].astype(np.int64)
    parent[has] = np.where(parents.target[first] == coll, parents.index[first], -1)
    status = m["generatorStatus"]
    if b.has(f"_{coll}_caloEntry.index"):
        entry = b.relation(coll, "caloEntry", i)
        calo_entry = np.where(entry.target == coll, entry.index, -1)
    else:
        calo_entry = generator_ancestor(status, parent)
    return {
        "gen_pdg": m["PDG"],
        "gen_charge": m["charge"],
        "gen_status": np.clip(status, -128, 127),
        "gen_mass": mass,
        "gen_px": px,
        "gen_py": py,
        "gen_pz": pz,
        "gen_energy": np.sqrt(((px * px + py * py) + pz * pz) + mass * mass),
        "gen_vx": vertex[0],
        "gen_vy": vertex[1],
        "gen_vz": vertex[2],
        "gen_time": m["time"].astype(np.float64),
        "gen_parent": parent,
        "gen_calo_entry": calo_entry,
    }


_GEN_KEYS = [
    "gen_pdg",
    "gen_charge",
    "gen_status",
    "gen_mass",
    "gen_px",
    "gen_py",
    "gen_pz",
    "gen_energy",
    "gen_vx",
    "gen_vy",
    "gen_vz",
    "gen_time",
    "gen_parent",
    "gen_calo_entry",
]


def layer_decoder(b: Branches, coll: str) -> tuple[str, int, int]:
    """How hit_layer is found for a hit collection: ("cellid", offset, width) where the file's metadata
    gives the cell-ID encoding of ``coll`` with a ``layer`` field, else ("type", 0, 0) (iLCSoft's
    CalorimeterHitType in CalorimeterHit.type, used where positive), else ("none", 0, 0)."""
    encoding = b.f.metadata_strings.get(f"{coll}__CellIDEncoding")
    if encoding:
        offset = 0
        for field in encoding.split(","):
            parts = field.split(":")
            name, start, width = (parts[0], offset, parts[1]) if len(parts) == 2 else parts
            if name == "layer":
                return "cellid", int(start), abs(int(width))
            offset = int(start) + abs(int(width))
    if b.f.types[coll] == "CalorimeterHit":
        return "type", 0, 0
    return "none", 0, 0


def _layers(decoder: tuple[str, int, int], cell: np.ndarray, hit_type: np.ndarray | None) -> np.ndarray:
    kind, offset, width = decoder
    if kind == "cellid":
        raw = (cell.view(np.uint64) >> np.uint64(offset)) & np.uint64((1 << width) - 1)
        return raw.astype(np.int64) - DD4HEP_FIRST_LAYER
    if kind == "type" and hit_type is not None:
        return np.where(hit_type > 0, hit_type // 10000, -1)
    return np.full(len(cell), -1)


def _sim_contributions(b: Branches, coll: str, particles: str | None, i: int, n: int) -> tuple:
    """Raw contributions (hit row, particle row, energy) and the earliest contribution time per hit."""
    time = np.full(n, np.inf)
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if b.has_relation(coll, "contributions"):
        owner, position = ranges(
            b.member(coll, "contributions_begin", i), b.member(coll, "contributions_end", i)
        )
        rel = b.relation(coll, "contributions", i)
        index, target = rel.index[position], rel.target[position]
        for contrib in {t for t in target if t is not None}:
            sel = (target == contrib) & (index >= 0)
            rows, idx = owner[sel], index[sel]
            energy = b.member(contrib, "energy", i)[idx]
            np.minimum.at(time, rows, b.member(contrib, "time", i)[idx])
            link = b.relation(contrib, "particle", i)
            particle = (
                np.where(link.target[idx] == particles, link.index[idx], -1)
                if particles
                else -np.ones_like(idx)
            )
            out.append((rows, particle, energy))
    time[np.isinf(time)] = np.nan
    return out, time


def hit_offsets(b: Branches, sel: Selection, i: int) -> dict[str, int]:
    """First row of each hit collection of event ``i`` in the event's hit arrays (file order)."""
    counts = [len(b.member(coll, "cellID", i)) for coll in sel.hits]
    return dict(zip(sel.hits, np.concatenate([[0], np.cumsum(counts)[:-1]]).tolist(), strict=True))


def read_hits(b: Branches, sel: Selection, gen: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    """The ``hit_*`` arrays of event ``i`` (hit collections in file order), with CSR truth."""
    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("cell", "x", "y", "z", "energy", "time", "sub", "layer")
    }
    raw: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    offsets = hit_offsets(b, sel, i)
    n_total = 0
    for coll in sel.hits:
        cell = b.member(coll, "cellID", i).astype(np.uint64).view(np.int64)
        n = len(cell)
        reco = sel.hit_type == "CalorimeterHit"
        hit_type = b.member(coll, "type", i) if reco else None
        if reco:
            time = b.member(coll, "time", i)
        else:
            contribs, time = _sim_contributions(b, coll, sel.particles, i, n)
            raw += [(rows + n_total, p, e) for rows, p, e in contribs]
        cols["cell"].append(cell)
        for c in _VEC:
            cols[c].append(b.member(coll, f"position.{c}", i))
        cols["energy"].append(b.member(coll, "energy", i))
        cols["time"].append(time)
        cols["sub"].append(np.full(n, subdetector_of(coll)))
        cols["layer"].append(_layers(layer_decoder(b, coll), cell, hit_type))
        n_total += n
    energy = np.concatenate(cols["energy"]).astype(np.float32)
    if sel.hit_type == "CalorimeterHit" and sel.particles:
        raw.append(_link_contributions(b, sel.particles, offsets, energy, i))
    rows, particle, contrib = (np.concatenate([r[k] for r in raw]) if raw else np.zeros(0) for k in range(3))
    entry = gen["gen_calo_entry"]
    particle = particle.astype(np.int64)
    valid = (particle >= 0) & (particle < len(entry))
    mapped = np.where(valid, entry[np.where(valid, particle, 0)] if len(entry) else -1, -1)
    ptr, contrib_particle, contrib_energy = merge_contributions(
        rows.astype(np.int64), mapped, contrib, n_total
    )
    return {
        "hit_cell": np.concatenate(cols["cell"]),
        "hit_x": np.concatenate(cols["x"]),
        "hit_y": np.concatenate(cols["y"]),
        "hit_z": np.concatenate(cols["z"]),
        "hit_energy": energy,
        "hit_time": np.concatenate(cols["time"]),
        "hit_subdetector": np.concatenate(cols["sub"]),
        "hit_layer": np.concatenate(cols["layer"]),
        "hit_particle": hit_particles(ptr, contrib_particle, contrib_energy),
        "hit_contrib_ptr": ptr,
        "hit_contrib_particle": contrib_particle,
        "hit_contrib_energy": contrib_energy,
    }


def _link_contributions(
    b: Branches, particles: str, offsets: dict[str, int], energy: np.ndarray, i: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contributions from links ``CalorimeterHit`` → ``MCParticle``; a link's weight is the particle's
    energy in the hit (GeV) in files of this project's writer, else its fraction of the hit energy (the
    iLCSoft/key4hep convention)."""
    src, dst, weight = b.links(i)
    hit_colls = np.array(list(offsets), dtype=object)
    keep = np.isin(src.target, hit_colls) & (dst.target == particles) & (src.index >= 0)
    rows = np.array([offsets[t] for t in src.target[keep]], dtype=np.int64) + src.index[keep]
    w = weight[keep].astype(np.float32)
    deposited = w if b.f.writer_info.get("link_weight") == "energy" else w * energy[rows]
    return rows, dst.index[keep], deposited
