"""Fixtures of the EDM4hep tests: a hand-made calorimeter event with every collection, and a file of a
third layout (EDM4hep v1 links, other collection names) built with plain uproot."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from src.io.edm4hep import as_event
from src.io.edm4hep.schema import podio_hash

B_FIELD = 4.0


def handmade_event(seed: int, n_hits: int = 40) -> dict[str, np.ndarray]:
    """A calorimeter event whose truth is consistent: a photon, a K0S decayed in flight into π+π− that
    enter the calorimeter themselves, a Z decayed by the generator into a muon; hits grouped by subdetector
    with 0-2 contributions each (and a little noise energy), three clusters, three tracks at 4 T."""
    rng = np.random.default_rng(seed)
    pdg = np.array([22, 310, 211, -211, 23, 13], np.int32)
    mass = np.array([0.0, 0.497611, 0.13957, 0.13957, 91.1876, 0.10566])
    n = len(pdg)
    px, py, pz = (rng.normal(0, 5, n) for _ in range(3))
    gen = {
        "gen_pdg": pdg,
        "gen_charge": np.array([0, 0, 1, -1, 0, -1], np.float32),
        "gen_status": np.array([1, 1, 0, 0, 2, 1], np.int8),
        "gen_mass": mass,
        "gen_px": px,
        "gen_py": py,
        "gen_pz": pz,
        "gen_energy": np.sqrt(((px * px + py * py) + pz * pz) + mass * mass),
        "gen_vx": rng.normal(0, 1, n),
        "gen_vy": rng.normal(0, 1, n),
        "gen_vz": rng.normal(0, 10, n),
        "gen_time": np.array([0, 0, 0.5, 0.5, 0, 0.25]),
        "gen_parent": np.array([-1, -1, 1, 1, -1, 4], np.int32),
        "gen_calo_entry": np.array([0, -1, 2, 3, -1, 5], np.int32),
    }
    counts = rng.integers(0, 3, n_hits)
    contrib_particle = np.concatenate([rng.choice([0, 2, 3, 5], c, replace=False) for c in counts])
    contrib_energy = rng.uniform(0.01, 1, counts.sum()).astype(np.float32)
    ptr = np.concatenate([[0], np.cumsum(counts)])
    segments = list(itertools.pairwise(ptr))
    energy = np.array([contrib_energy[a:b].sum() for a, b in segments], np.float32) + np.float32(0.003)
    hit_cluster = rng.integers(-1, 3, n_hits)
    hits = {
        "hit_cell": rng.integers(0, 2**62, n_hits),
        "hit_x": rng.normal(0, 1000, n_hits),
        "hit_y": rng.normal(0, 1000, n_hits),
        "hit_z": rng.normal(0, 2000, n_hits),
        "hit_energy": energy,
        "hit_time": rng.uniform(5, 10, n_hits),
        "hit_subdetector": np.sort(rng.choice([0, 1, 2, 3, 7], n_hits)),
        "hit_layer": rng.integers(0, 40, n_hits),
        "hit_particle": [
            contrib_particle[a + np.argmax(contrib_energy[a:b])] if b > a else -1 for a, b in segments
        ],
        "hit_contrib_ptr": ptr,
        "hit_contrib_particle": contrib_particle,
        "hit_contrib_energy": contrib_energy,
        "hit_cluster": hit_cluster,
    }
    clusters = {
        "cluster_energy": rng.uniform(1, 10, 3),
        **{f"cluster_{c}": rng.normal(0, 1000, 3) for c in "xyz"},
        **{f"cluster_energy_{k}": rng.uniform(0, 3, 3) for k in ("ecal", "hcal", "other")},
        "cluster_n_hits": np.bincount(hit_cluster[hit_cluster >= 0], minlength=3),
        **{f"cluster_sigma_{c}": rng.uniform(1, 50, 3) for c in "xyz"},
        "cluster_particle": np.array([0, 2, -1]),
    }
    pt = rng.uniform(1, 20, 3).astype(np.float32)
    charge = np.array([1, -1, 1], np.int8)
    tan_lambda = rng.normal(0, 1, 3).astype(np.float32)
    tracks = {
        "track_particle": np.array([2, 3, -1]),
        "track_charge": charge,
        "track_pt": pt,
        "track_eta": np.arcsinh(tan_lambda),
        "track_phi": rng.uniform(-3, 3, 3),
        "track_p": pt * np.sqrt(1 + tan_lambda.astype(np.float64) ** 2),
        "track_chi2": rng.uniform(0, 20, 3),
        "track_ndf": np.array([10, 12, 8]),
        "track_dedx": rng.uniform(1e-6, 3e-6, 3),
        "track_dedx_error": np.full(3, 1e-7),
        "track_inner_radius": rng.uniform(30, 60, 3),
        "track_tan_lambda": tan_lambda,
        "track_d0": rng.normal(0, 0.01, 3),
        "track_omega": charge * 0.299792458e-3 * B_FIELD / pt.astype(np.float64),
        "track_z0": rng.normal(0, 0.1, 3),
        "track_time": rng.normal(0, 0.01, 3),
        **{f"track_calo_{c}": rng.normal(0, 1500, 3) for c in "xyz"},
    }
    return as_event({k: np.asarray(v) for k, v in (gen | hits | clusters | tracks).items()})


@pytest.fixture
def handmade() -> Callable[..., dict[str, np.ndarray]]:
    """The hand-made event factory (seeded)."""
    return handmade_event


def _ids(rows: list[list[int]], name: str) -> dict[str, ak.Array]:
    return {
        "index": ak.Array([np.asarray(r, np.int32) for r in rows]),
        "collectionID": ak.Array([np.full(len(r), podio_hash(name), np.uint32) for r in rows]),
    }


def third_layout_collections() -> dict[str, dict[str, ak.Array]]:
    """Two events in the EDM4hep v1 layout with other collection names (``MCParticle``, ``ECALBarrel``,
    ``HCALEndcap``, ``PandoraClusters``) and truth as links whose weights are energy fractions
    (``CalohitMCTruthLink``: from/to) and an association (``ClusterMCTruthAssociation``: rec/sim).

    Event 0: particle 0 a photon (status 1) and 1 its conversion electron (status 0); ECALBarrel hits of
    2.0 GeV (0.75 from particle 0, 0.25 from 1 → both the photon's) and 1.0 GeV (all from particle 1),
    CHT types of layers 0 and 5; one HCALEndcap hit of 0.5 GeV without truth, layer 3; one cluster of the
    two ECAL hits, associated to particle 1. Event 1: empty.
    """
    jag = ak.Array
    return {
        "MCParticle": {
            "PDG": jag([[22, 11], []]),
            "generatorStatus": jag([[1, 0], []]),
            "simulatorStatus": jag([[0, 1 << 30], []]),
            "charge": jag([np.array([0.0, -1.0], np.float32), np.zeros(0, np.float32)]),
            "time": jag([np.array([0.0, 0.1], np.float32), np.zeros(0, np.float32)]),
            "mass": jag([[0.0, 0.000511], []]),
            **{f"vertex.{c}": jag([[0.0, 100.0], []]) for c in "xyz"},
            **{f"momentum.{c}": jag([[3.0, 1.0], []]) for c in "xyz"},
            "parents_begin": jag([np.array([0, 0], np.uint32), np.zeros(0, np.uint32)]),
            "parents_end": jag([np.array([0, 1], np.uint32), np.zeros(0, np.uint32)]),
        },
        "_MCParticle_parents": _ids([[0], []], "MCParticle"),
        "ECALBarrel": {
            "cellID": jag([np.array([11, 12], np.uint64), np.zeros(0, np.uint64)]),
            "energy": jag([np.array([2.0, 1.0], np.float32), np.zeros(0, np.float32)]),
            "energyError": jag([np.zeros(2, np.float32), np.zeros(0, np.float32)]),
            "time": jag([np.array([0.5, 0.7], np.float32), np.zeros(0, np.float32)]),
            **{
                f"position.{c}": jag([np.array([1500.0, 1510.0], np.float32), np.zeros(0, np.float32)])
                for c in "xyz"
            },
            "type": jag([np.array([1011, 51011], np.int32), np.zeros(0, np.int32)]),
        },
        "HCALEndcap": {
            "cellID": jag([np.array([21], np.uint64), np.zeros(0, np.uint64)]),
            "energy": jag([np.array([0.5], np.float32), np.zeros(0, np.float32)]),
            "energyError": jag([np.zeros(1, np.float32), np.zeros(0, np.float32)]),
            "time": jag([np.array([3.0], np.float32), np.zeros(0, np.float32)]),
            **{
                f"position.{c}": jag([np.array([2500.0], np.float32), np.zeros(0, np.float32)]) for c in "xyz"
            },
            "type": jag([np.array([32021], np.int32), np.zeros(0, np.int32)]),
        },
        "CalohitMCTruthLink": {
            "weight": jag([np.array([0.75, 0.25, 1.0], np.float32), np.zeros(0, np.float32)])
        },
        "_CalohitMCTruthLink_from": _ids([[0, 0, 1], []], "ECALBarrel"),
        "_CalohitMCTruthLink_to": _ids([[0, 1, 1], []], "MCParticle"),
        "PandoraClusters": {
            "energy": jag([np.array([3.0], np.float32), np.zeros(0, np.float32)]),
            **{
                f"position.{c}": jag([np.array([1505.0], np.float32), np.zeros(0, np.float32)]) for c in "xyz"
            },
            "iTheta": jag([np.zeros(1, np.float32), np.zeros(0, np.float32)]),
            "hits_begin": jag([np.array([0], np.uint32), np.zeros(0, np.uint32)]),
            "hits_end": jag([np.array([2], np.uint32), np.zeros(0, np.uint32)]),
        },
        "_PandoraClusters_hits": _ids([[0, 1], []], "ECALBarrel"),
        "ClusterMCTruthAssociation": {"weight": jag([np.array([1.0], np.float32), np.zeros(0, np.float32)])},
        "_ClusterMCTruthAssociation_rec": _ids([[0], []], "PandoraClusters"),
        "_ClusterMCTruthAssociation_sim": _ids([[1], []], "MCParticle"),
    }


def write_flat(path: Path, collections: dict[str, dict[str, ak.Array]]) -> Path:
    """Write collections as flat branches ``<collection>.<member>`` of a TTree ``events``."""
    arrays = {name: fields[""] if "" in fields else ak.zip(fields) for name, fields in collections.items()}
    with uproot.recreate(path) as f:
        tree = f.mktree(
            "events",
            {n: a.type for n, a in arrays.items()},
            field_name=lambda outer, inner: f"{outer}.{inner}",
            counter_name=lambda counted: f"{counted}_n",
        )
        tree.extend(arrays)
    return path


def rewrite_without(path: Path, out: Path, branch: str) -> Path:
    """A copy of a file written by ``write_flat`` or the writer (flat branches), without ``branch``."""
    source = uproot.open(path)
    tree = source["events"]
    groups: dict[str, dict[str, ak.Array]] = {}
    names = tree.keys()
    for name in names:
        if name != branch and not name.endswith("_n"):
            coll, _, member = name.partition(".")
            groups.setdefault(coll, {})[member] = tree[name].array()
    write_flat(out, groups)
    with uproot.update(out) as f:
        for key in source.keys(cycle=False):
            if key != "events":
                f[key] = str(source[key])
    return out


@pytest.fixture
def third_layout(tmp_path: Path) -> Callable[..., Path]:
    """Write the third-layout file, optionally without some collections or member branches."""

    def _write(drop: tuple[str, ...] = (), drop_members: tuple[str, ...] = ()) -> Path:
        collections = third_layout_collections()
        for name in drop:
            del collections[name]
        for member in drop_members:
            coll, field = member.split(".", 1)
            del collections[coll][field]
        return write_flat(tmp_path / "third_layout.root", collections)

    return _write
