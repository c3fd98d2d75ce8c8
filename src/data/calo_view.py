"""The hit-level view of a calorimeter event: one token per hit (and optionally per track), with the truth
of the particle that entered the calorimeter behind each hit.

Tokens are the event's hits, then (``with_tracks``) its tracks that reach the calorimeter. Inputs per token
(columns of ``x``, in :attr:`CaloHitView.feature_names` order): log energy (GeV; a track's momentum),
position x, y, z (mm; a track's point at the calorimeter entrance), r, η, sin φ, cos φ, the unit direction
(a hit's from the origin, a track's momentum direction), the layer (−1 for tracks), ECAL and HCAL flags;
``with_time`` adds the time (a hit's delay behind light from the origin, ``hit_time − ρ/c``; a track's
``track_time``), ``with_tracks`` a track flag and the track charge (0 for hits). ``coords`` are (η, φ) of
the position, φ periodic.

Truth (:func:`calo_truth`): the energy each hit received from each particle (its contributions) is credited
to the particle that entered the calorimeter (``gen_calo_entry``); a hit belongs to the particle with the
most of its energy, noise hits (``hit_particle`` −1) to none (−1). Objects are the particles with
calorimeter energy; a track belongs to its particle's object, or to none when that particle left nothing.
Per token: ``object_id`` (gen row, −1), ``type_id`` (:data:`src.event_model.CALO_PARTICLE_TYPES`),
``charge_id`` (0, 1, 2 for −, 0, +), ``log_energy_factor`` (log of the particle's energy over the energy
it deposited: what calibrates a cluster's summed hit energy) and ``direction`` (unit momentum).
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from src.data.cache import Event
from src.event_model import SUBDETECTORS, InputSpec, calo_particle_type

#: Speed of light (mm/ns).
C_MM_PER_NS = 299.792458
ECAL = ("ecal_barrel", "ecal_endcap", "hgcal_ce_e")
HCAL = ("hcal_barrel", "hcal_endcap", "hgcal_ce_h_si", "hgcal_ce_h_scint")
BASE_FEATURES = (
    "log_energy", "x", "y", "z", "r", "eta", "sin_phi", "cos_phi",
    "dir_x", "dir_y", "dir_z", "layer", "ecal", "hcal",
)  # fmt: skip
#: Hit and track arrays handed on to the evaluation (the baseline clustering, its rule-based particle
#: types and the plots read them), whatever the inputs.
PASSTHROUGH = (
    "hit_cell", "hit_x", "hit_y", "hit_z", "hit_energy", "hit_time", "hit_subdetector", "hit_layer",
    "track_charge", "track_p", "track_calo_x", "track_calo_y", "track_calo_z",
)  # fmt: skip


def _np(event: Event, key: str, dtype: type | None = None) -> np.ndarray:
    if key not in event:
        raise KeyError(
            f"the calorimeter hit view needs calorimeter events (dataset=sim_calo or dataset=edm4hep); this "
            f"event lacks {key!r} (it has {sorted(event)[:6]}...)"
        )
    value = event[key]
    array = value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    return array.astype(dtype) if dtype is not None else array


def entry_of(particles: np.ndarray, calo_entry: np.ndarray) -> np.ndarray:
    """The particle that entered the calorimeter for each gen row (itself where ``gen_calo_entry`` is −1);
    −1 stays −1."""
    particles = np.asarray(particles, dtype=np.int64)
    ok = particles >= 0
    entry = np.full(len(particles), -1, dtype=np.int64)
    mapped = calo_entry[particles[ok]].astype(np.int64)
    entry[ok] = np.where(mapped >= 0, mapped, particles[ok])
    return entry


def calo_truth(event: Event) -> dict[str, np.ndarray]:
    """Per hit its object (calorimeter-entry gen row, −1 for noise); the contributions credited to those
    objects (``contrib_hit``, ``contrib_object``, ``contrib_energy``: one per hit from ``hit_particle`` and
    the hit energy where the event stores no contributions); ``has_truth``: whether any hit has a particle.
    """
    hit_particle = _np(event, "hit_particle", np.int64)
    energy = _np(event, "hit_energy", np.float64)
    calo_entry = _np(event, "gen_calo_entry", np.int64)
    n_hits = len(hit_particle)
    ptr = _np(event, "hit_contrib_ptr", np.int64)
    particle = _np(event, "hit_contrib_particle", np.int64)
    if len(particle):
        if len(ptr) != n_hits + 1 or ptr[-1] != len(particle):
            raise ValueError(
                f"hit_contrib_ptr has {len(ptr)} entries ending at {ptr[-1] if len(ptr) else None}; a "
                f"CSR offset array of {n_hits} hits with {len(particle)} contributions needs {n_hits + 1} "
                f"ending at {len(particle)}"
            )
        hit = np.repeat(np.arange(n_hits), np.diff(ptr))
        c_energy = _np(event, "hit_contrib_energy", np.float64)
        c_object = entry_of(particle, calo_entry)
    else:
        hit = np.arange(n_hits)
        c_energy = energy
        c_object = entry_of(hit_particle, calo_entry)
    keep = c_object >= 0
    hit, c_object, c_energy = hit[keep], c_object[keep], c_energy[keep]
    # sum per (hit, object), then the object with the most energy per hit
    keys, inverse = np.unique(np.stack([hit, c_object]), axis=1, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=c_energy, minlength=keys.shape[1])
    order = np.lexsort((-sums, keys[0]))
    first = order[np.unique(keys[0, order], return_index=True)[1]]
    hit_object = entry_of(hit_particle, calo_entry)
    hit_object[keys[0, first]] = keys[1, first]
    hit_object[hit_particle < 0] = -1
    return {
        "hit_object": hit_object,
        "contrib_hit": keys[0],
        "contrib_object": keys[1],
        "contrib_energy": sums,
        "has_truth": np.array([bool((hit_object >= 0).any())]),
    }


def _has_clusters(event: Event) -> bool:
    """Whether the event carries a reconstruction's clusters (a file without a cluster collection gives
    empty ``cluster_*`` arrays)."""
    return "hit_cluster" in event and len(event.get("cluster_energy", ())) > 0


def _position_columns(pos: np.ndarray) -> dict[str, np.ndarray]:
    x, y, z = pos.T
    r = np.hypot(x, y)
    rho = np.sqrt(r**2 + z**2)
    phi = np.arctan2(y, x)
    return {
        "x": x,
        "y": y,
        "z": z,
        "r": r,
        "rho": rho,
        "phi": phi,
        "sin_phi": np.sin(phi),
        "cos_phi": np.cos(phi),
        "eta": np.arcsinh(z / np.maximum(r, 1e-6)),
    }


class CaloHitView:
    """Calorimeter hits (and optionally tracks) as tokens with per-token particle truth; see the module
    docstring for the columns. ``with_time`` adds the time column, ``with_tracks`` the tracks as tokens."""

    def __init__(self, *, with_time: bool, with_tracks: bool) -> None:
        self.with_time = with_time
        self.with_tracks = with_tracks
        names = list(BASE_FEATURES)
        if with_time:
            names.append("time")
        if with_tracks:
            names += ["is_track", "charge"]
        self.feature_names = tuple(names)
        self.inputs = InputSpec(
            feature_names=self.feature_names, coords=("eta", "phi"), periodic=(False, True)
        )

    def _hit_features(self, event: Event) -> tuple[dict[str, np.ndarray], np.ndarray]:
        pos = np.stack([_np(event, f"hit_{a}", np.float64) for a in "xyz"], axis=1)
        cols = _position_columns(pos)
        sub = np.asarray(SUBDETECTORS)[_np(event, "hit_subdetector", np.int64)]
        n = len(pos)
        feats = {
            "log_energy": np.log(np.maximum(_np(event, "hit_energy", np.float64), 1e-6)),
            **{f"dir_{a}": cols[a] / np.maximum(cols["rho"], 1e-6) for a in "xyz"},
            "layer": _np(event, "hit_layer", np.float64),
            "ecal": np.isin(sub, ECAL).astype(np.float64),
            "hcal": np.isin(sub, HCAL).astype(np.float64),
            "time": _np(event, "hit_time", np.float64) - cols["rho"] / C_MM_PER_NS,
            "is_track": np.zeros(n),
            "charge": np.zeros(n),
        }
        return cols | feats, np.ones(n, dtype=bool)

    def _track_features(self, event: Event) -> tuple[dict[str, np.ndarray], np.ndarray]:
        pos = np.stack([_np(event, f"track_calo_{a}", np.float64) for a in "xyz"], axis=1)
        reach = np.isfinite(pos).all(axis=1)
        pos = pos[reach]
        cols = _position_columns(pos)
        theta = 2 * np.arctan(np.exp(-_np(event, "track_eta", np.float64)[reach]))
        phi = _np(event, "track_phi", np.float64)[reach]
        n = len(pos)
        feats = {
            "log_energy": np.log(np.maximum(_np(event, "track_p", np.float64)[reach], 1e-6)),
            "dir_x": np.sin(theta) * np.cos(phi),
            "dir_y": np.sin(theta) * np.sin(phi),
            "dir_z": np.cos(theta),
            "layer": np.full(n, -1.0),
            "ecal": np.zeros(n),
            "hcal": np.zeros(n),
            "time": _np(event, "track_time", np.float64)[reach],
            "is_track": np.ones(n),
            "charge": _np(event, "track_charge", np.float64)[reach],
        }
        return cols | feats, reach

    def __call__(self, event: Event) -> Data:
        truth = calo_truth(event)
        hit_cols, _ = self._hit_features(event)
        objects = [truth["hit_object"]]
        parts = [hit_cols]
        calo_entry = _np(event, "gen_calo_entry", np.int64)
        n_gen = len(calo_entry)
        deposit = np.bincount(truth["contrib_object"], weights=truth["contrib_energy"], minlength=n_gen)
        if self.with_tracks:
            track_cols, reach = self._track_features(event)
            track_object = entry_of(_np(event, "track_particle", np.int64)[reach], calo_entry)
            track_object[track_object >= 0] = np.where(
                deposit[track_object[track_object >= 0]] > 0, track_object[track_object >= 0], -1
            )
            objects.append(track_object)
            parts.append(track_cols)
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        x = np.stack([cols[n] for n in self.feature_names], axis=1)
        obj = np.concatenate(objects)
        n_hits = len(truth["hit_object"])
        gen = self._gen_arrays(event, deposit)
        has = obj >= 0
        target = obj.clip(min=0)
        return Data(
            x=torch.from_numpy(x).float(),
            coords=torch.from_numpy(np.stack([cols["eta"], cols["phi"]], axis=1)).float(),
            is_hit=torch.from_numpy(np.arange(len(obj)) < n_hits),
            object_id=torch.from_numpy(obj),
            type_id=torch.from_numpy(np.where(has, gen["gen_type"][target], -1)),
            charge_id=torch.from_numpy(np.where(has, gen["gen_charge_id"][target], -1)),
            log_energy_factor=torch.from_numpy(np.where(has, gen["gen_log_factor"][target], 0.0)).float(),
            direction=torch.from_numpy(np.where(has[:, None], gen["gen_dir"][target], 0.0)).float(),
            contrib_hit=torch.from_numpy(truth["contrib_hit"]),
            contrib_object=torch.from_numpy(truth["contrib_object"]),
            contrib_energy=torch.from_numpy(truth["contrib_energy"]).float(),
            has_truth=torch.from_numpy(truth["has_truth"]),
            event_cluster=torch.from_numpy(
                _np(event, "hit_cluster", np.int64) if "hit_cluster" in event else np.full(n_hits, -1)
            ),
            has_event_clusters=torch.tensor([_has_clusters(event)]),
            **{k: torch.from_numpy(_np(event, k)) for k in PASSTHROUGH},
            **{k: torch.from_numpy(v) for k, v in gen.items()},
            num_nodes=len(obj),
        )

    @staticmethod
    def _gen_arrays(event: Event, deposit: np.ndarray) -> dict[str, np.ndarray]:
        """Per generator particle: energy, type, charge class, unit direction, deposited energy, log of
        energy over deposit, and whether the generator made it as a visible final-state particle."""
        p = np.stack([_np(event, f"gen_p{a}", np.float64) for a in "xyz"], axis=1)
        energy = _np(event, "gen_energy", np.float64)
        pdg = _np(event, "gen_pdg", np.int64)
        invisible = np.isin(np.abs(pdg), (12, 14, 16))
        return {
            "gen_energy": energy.astype(np.float32),
            "gen_type": calo_particle_type(pdg),
            "gen_charge_id": np.clip(np.rint(_np(event, "gen_charge", np.float64)), -1, 1).astype(np.int64)
            + 1,
            "gen_dir": (p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-9)).astype(np.float32),
            "gen_deposit": deposit.astype(np.float32),
            "gen_log_factor": np.log(np.maximum(energy, 1e-6) / np.maximum(deposit, 1e-3)).astype(np.float32),
            "gen_visible": (_np(event, "gen_status", np.int64) == 1) & ~invisible,
        }
