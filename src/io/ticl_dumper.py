"""CMS ``ticlDumper`` ROOT ntuples (the TICL linking study's input), read and written with uproot + awkward.

One tree entry per event, under the ``ticlDumper/`` directory:

* ``clusters``: layer clusters — ``position_x/y/z`` (cm), ``energy`` (GeV), ``time`` (ns, −99 none),
  ``cluster_layer_id`` (1-based HGCAL layer), ``cluster_number_of_hits``;
* a trackster tree (default ``ticlTrackstersCLUE3DHigh``) — ``NTracksters``, ``barycenter_x/y/z`` (cm),
  ``barycenter_eta/phi``, ``eVector0_x/y/z``, ``EV1..3`` (cm²), ``sigmaPCA1..3`` (cm), ``raw_energy``,
  ``raw_em_energy``, ``time``, ``id_probabilities`` [T][6], ``vertices_indexes`` [T][n] (rows of
  ``clusters``);
* a simulated-trackster tree (default ``simtrackstersCP``) — ``pdgID``, ``regressed_energy`` (the
  particle's energy), ``raw_energy`` (its deposits), ``barycenter_eta/phi``, and ``isPU`` (the linking
  study's pileup flag; a file without it is read as all signal, with a warning);
* ``associations`` — ``<tracksters>_recoToSim_CP`` [T][k] (rows of the simulated tracksters) with
  ``..._score`` and ``..._sharedE``.

CMS stores lengths in cm; the TICL events of :mod:`src.event_model` are in mm, so the reader multiplies by
10 and the writer divides. Nested branches (``vector<vector<T>>``) are read as they are; uproot cannot
write them, so the writer stores each flattened per event with a ``<name>_counts`` branch (entries per
trackster), which the reader recognises. A missing tree or branch raises an error naming the file, the
tree and the branch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from src.event_model import PARTICLE_TYPES
from src.io.errors import CorruptFileError, MissingFieldError, ReaderError, check_finite, check_size

log = logging.getLogger(__name__)

DIRECTORY = "ticlDumper"
TRACKSTERS = "ticlTrackstersCLUE3DHigh"
SIM_TRACKSTERS = "simtrackstersCP"
CM = 10.0  # mm per cm
_SCALAR_TRACKSTER = (
    "barycenter_eta", "barycenter_phi", "eVector0_x", "eVector0_y", "eVector0_z",
    "raw_energy", "raw_em_energy", "time",
)  # fmt: skip
_LENGTH = ("barycenter_x", "barycenter_y", "barycenter_z", "sigmaPCA1", "sigmaPCA2", "sigmaPCA3")
_AREA = ("EV1", "EV2", "EV3")
_CLUSTER_BRANCHES = (
    "position_x", "position_y", "position_z", "energy", "time", "cluster_layer_id", "cluster_number_of_hits",
)  # fmt: skip
_SIM_BRANCHES = ("pdgID", "regressed_energy", "raw_energy", "barycenter_eta", "barycenter_phi")


def _charge(pdg: np.ndarray) -> np.ndarray:
    """Electric charge of PDG ids (the particle package; 0 for ids it does not know)."""
    from particle import Particle
    from particle.particle import InvalidParticle, ParticleNotFound

    out = np.zeros(len(pdg), dtype=np.float32)
    for code in np.unique(pdg):
        try:
            out[pdg == code] = Particle.from_pdgid(int(code)).charge
        except (ParticleNotFound, InvalidParticle):
            out[pdg == code] = 0.0
    return out


def _tree(file: uproot.ReadOnlyDirectory, path: Path, name: str) -> uproot.TTree:
    key = f"{DIRECTORY}/{name}"
    if key not in file:
        trees = sorted({k.split(";")[0] for k in file.keys()})  # noqa: SIM118 (uproot's keys())
        raise MissingFieldError(
            f"no tree {key} (the file has {trees})",
            path=path,
            field=key,
            fix="Give a ticlDumper ntuple, or name its trees with dataset.trackster_tree / dataset.sim_tree",
        )
    return file[key]


def _arrays(
    tree: uproot.TTree, path: Path, names: Sequence[str], nested: Sequence[str] = ()
) -> dict[str, ak.Array]:
    """Branches of every entry; ``nested`` ones as [entry][object][k], flattened or not in the file."""
    have = set(tree.keys())
    out = {}
    for name in (*names, *nested):
        if name not in have:
            raise MissingFieldError(
                f"tree {tree.object_path} has no branch {name!r} (it has {sorted(have)[:12]}...)",
                path=path,
                field=name,
                fix="Write the ntuple with the branch (ticlDumper's default content)",
            )
    if names:
        data = tree.arrays(list(names), library="ak")
        out = {name: data[name] for name in names}
    for name in nested:
        values = tree[name].array(library="ak")
        if values.ndim == 2 and f"{name}_counts" in have:
            counts = tree[f"{name}_counts"].array(library="ak")
            values = ak.Array([ak.unflatten(v, c) for v, c in zip(values, counts, strict=True)])
        out[name] = values
    return out


def _csr(nested: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    counts = ak.to_numpy(ak.num(nested, axis=1)) if len(nested) else np.zeros(0, dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    flat = ak.to_numpy(ak.flatten(nested, axis=None)) if len(nested) else np.zeros(0)
    return ptr, flat


def read_ticl_dumper(
    path: str | Path, *, trackster_tree: str = TRACKSTERS, sim_tree: str = SIM_TRACKSTERS
) -> list[dict[str, np.ndarray]]:
    """The TICL events (``lc_*``, ``trackster_*``, ``sim_*``; mm, GeV, ns) of a ticlDumper file."""
    path = Path(path)
    prefix = f"{trackster_tree}_recoToSim_CP"
    try:
        with uproot.open(path) as file:
            clusters, tracksters, sims, assoc = _read(file, path, trackster_tree, sim_tree, prefix)
    except (FileNotFoundError, ReaderError):
        raise
    except Exception as err:  # uproot reports damage in many ways: wrap every one
        raise CorruptFileError(
            f"not a readable ROOT file ({type(err).__name__}: {err})",
            path=path,
            fix="Copy the file again or remove it from dataset.path",
        ) from err
    return ticl_events(
        clusters, tracksters, sims, {k.replace(prefix, "recoToSim"): v for k, v in assoc.items()}
    )


def _read(
    file: uproot.ReadOnlyDirectory, path: Path, trackster_tree: str, sim_tree: str, prefix: str
) -> tuple[dict[str, ak.Array], ...]:
    """The branches of the four trees the reader needs."""
    clusters = _arrays(_tree(file, path, "clusters"), path, _CLUSTER_BRANCHES)
    tracksters = _arrays(
        _tree(file, path, trackster_tree),
        path,
        (*_SCALAR_TRACKSTER, *_LENGTH, *_AREA),
        ("id_probabilities", "vertices_indexes"),
    )
    sim_t = _tree(file, path, sim_tree)
    sims = _arrays(sim_t, path, _SIM_BRANCHES)
    if "isPU" in sim_t.keys():  # noqa: SIM118 (a TTree's branch names, not a dict)
        sims["isPU"] = sim_t["isPU"].array(library="ak")
    else:
        log.warning("%s: %s has no isPU branch; every simulated particle is read as signal", path, sim_tree)
    assoc = _arrays(
        _tree(file, path, "associations"), path, (), (prefix, f"{prefix}_score", f"{prefix}_sharedE")
    )
    return clusters, tracksters, sims, assoc


def ticl_events(
    clusters: dict[str, ak.Array],
    tracksters: dict[str, ak.Array],
    sims: dict[str, ak.Array],
    assoc: dict[str, ak.Array],
) -> list[dict[str, np.ndarray]]:
    """TICL events from the branches of the four trees, one entry per event (nested branches as
    [event][trackster][k]; ``assoc`` keys ``recoToSim``, ``recoToSim_score``, ``recoToSim_sharedE``)."""
    events = []
    for i in range(len(clusters["energy"])):
        event = {
            "lc_x": CM * ak.to_numpy(clusters["position_x"][i]),
            "lc_y": CM * ak.to_numpy(clusters["position_y"][i]),
            "lc_z": CM * ak.to_numpy(clusters["position_z"][i]),
            "lc_energy": ak.to_numpy(clusters["energy"][i]),
            "lc_time": ak.to_numpy(clusters["time"][i]),
            "lc_layer": ak.to_numpy(clusters["cluster_layer_id"][i]) - 1,
            "lc_n_hits": ak.to_numpy(clusters["cluster_number_of_hits"][i]),
        }
        for name in _SCALAR_TRACKSTER:
            event[f"trackster_{name}"] = ak.to_numpy(tracksters[name][i])
        for name in _LENGTH:
            event[f"trackster_{name}"] = CM * ak.to_numpy(tracksters[name][i])
        for name in _AREA:
            event[f"trackster_{name}"] = CM * CM * ak.to_numpy(tracksters[name][i])
        event["trackster_lc_ptr"], event["trackster_lc_index"] = _csr(tracksters["vertices_indexes"][i])
        _, probabilities = _csr(tracksters["id_probabilities"][i])
        event["trackster_id_probabilities"] = probabilities.reshape(-1, len(PARTICLE_TYPES))
        ptr, index = _csr(assoc["recoToSim"][i])
        event |= {
            "trackster_sim_ptr": ptr,
            "trackster_sim_index": index,
            "trackster_sim_score": _csr(assoc["recoToSim_score"][i])[1],
            "trackster_sim_shared_energy": _csr(assoc["recoToSim_sharedE"][i])[1],
        }
        pdg = ak.to_numpy(sims["pdgID"][i]).astype(np.int32)
        pileup = ak.to_numpy(sims["isPU"][i]) if "isPU" in sims else np.zeros(len(pdg), dtype=bool)
        event |= {
            "sim_gen_row": np.full(len(pdg), -1),
            "sim_pdg": pdg,
            "sim_charge": _charge(pdg),
            "sim_energy": ak.to_numpy(sims["regressed_energy"][i]),
            "sim_deposited_energy": ak.to_numpy(sims["raw_energy"][i]),
            "sim_eta": ak.to_numpy(sims["barycenter_eta"][i]),
            "sim_phi": ak.to_numpy(sims["barycenter_phi"][i]),
            "sim_interaction": np.asarray(pileup).astype(np.int16),
        }
        events.append(typed_event(event))
    return events


def check_ticl_event(
    event: dict[str, np.ndarray], *, path: str | Path, entry: int, max_event_size: int | None = None
) -> None:
    """Raise a :class:`src.io.errors.BadEventError` for an event of entry ``entry`` of ``path`` without layer
    clusters, with more than ``max_event_size`` of them (None: no limit), or with a NaN or infinite value."""
    check_size(
        len(event["lc_energy"]),
        max_event_size,
        path=path,
        event=entry,
        field="clusters/energy",
        what="layer clusters",
    )
    for field, values in event.items():
        check_finite(values, path=path, event=entry, field=field)


def typed_event(event: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The TICL event's arrays in the dtypes of src.event_model."""
    ints = {
        "lc_layer": np.int16,
        "lc_n_hits": np.int32,
        "trackster_lc_ptr": np.int64,
        "trackster_sim_ptr": np.int64,
    }
    ints |= {"trackster_lc_index": np.int32, "trackster_sim_index": np.int32, "sim_gen_row": np.int32}
    ints |= {"sim_pdg": np.int32, "sim_interaction": np.int16}
    return {k: np.asarray(v, dtype=ints.get(k, np.float32)) for k, v in event.items()}


def _nested_branch(values: list[np.ndarray], ptrs: list[np.ndarray], name: str) -> dict[str, ak.Array]:
    """A [event][trackster][k] branch as uproot can write it: flattened per event + ``<name>_counts``."""
    return {
        name: ak.Array([np.asarray(v) for v in values]),
        f"{name}_counts": ak.Array([np.diff(p).astype(np.int32) for p in ptrs]),
    }


def write_ticl_dumper(
    path: str | Path,
    events: Sequence[dict[str, np.ndarray]],
    *,
    trackster_tree: str = TRACKSTERS,
    sim_tree: str = SIM_TRACKSTERS,
) -> Path:
    """Write TICL events (``lc_*``, ``trackster_*``, ``sim_*``) as a ticlDumper ntuple; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def column(key: str, scale: float = 1.0, dtype: type = np.float32) -> ak.Array:
        return ak.Array([(np.asarray(e[key], dtype=np.float64) / scale).astype(dtype) for e in events])

    clusters = {
        "position_x": column("lc_x", CM),
        "position_y": column("lc_y", CM),
        "position_z": column("lc_z", CM),
        "energy": column("lc_energy"),
        "time": column("lc_time"),
        "cluster_layer_id": ak.Array([np.asarray(e["lc_layer"], dtype=np.int32) + 1 for e in events]),
        "cluster_number_of_hits": column("lc_n_hits", dtype=np.int32),
    }
    tracksters = {"NTracksters": np.array([len(e["trackster_raw_energy"]) for e in events], dtype=np.int32)}
    tracksters |= {name: column(f"trackster_{name}") for name in _SCALAR_TRACKSTER}
    tracksters |= {name: column(f"trackster_{name}", CM) for name in _LENGTH}
    tracksters |= {name: column(f"trackster_{name}", CM * CM) for name in _AREA}
    lc_ptrs = [e["trackster_lc_ptr"] for e in events]
    tracksters |= _nested_branch(
        [e["trackster_lc_index"].astype(np.uint32) for e in events], lc_ptrs, "vertices_indexes"
    )
    six = [
        np.arange(len(e["trackster_raw_energy"]) + 1, dtype=np.int64) * len(PARTICLE_TYPES) for e in events
    ]
    tracksters |= _nested_branch(
        [np.asarray(e["trackster_id_probabilities"], dtype=np.float32).ravel() for e in events],
        six,
        "id_probabilities",
    )
    sims = {
        "NTracksters": np.array([len(e["sim_pdg"]) for e in events], dtype=np.int32),
        "pdgID": column("sim_pdg", dtype=np.int32),
        "regressed_energy": column("sim_energy"),
        "raw_energy": column("sim_deposited_energy"),
        "barycenter_eta": column("sim_eta"),
        "barycenter_phi": column("sim_phi"),
        "isPU": ak.Array([np.asarray(e["sim_interaction"]) != 0 for e in events]),
    }
    prefix = f"{trackster_tree}_recoToSim_CP"
    sim_ptrs = [e["trackster_sim_ptr"] for e in events]
    assoc: dict[str, ak.Array] = {}
    for suffix, key, dtype in (
        ("", "index", np.uint32),
        ("_score", "score", np.float32),
        ("_sharedE", "shared_energy", np.float32),
    ):
        values = [np.asarray(e[f"trackster_sim_{key}"]).astype(dtype) for e in events]
        assoc |= _nested_branch(values, sim_ptrs, prefix + suffix)
    with uproot.recreate(path) as file:
        for name, branches in (
            ("clusters", clusters),
            (trackster_tree, tracksters),
            (sim_tree, sims),
            ("associations", assoc),
        ):
            file[f"{DIRECTORY}/{name}"] = branches
    return path
