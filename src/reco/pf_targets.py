"""Target particles of PF elements, one per element at most, in the MLPF CLIC dataset's definitions.

Which generator particles are targets (:func:`target_particles`): status-1 particles (neutrinos excepted)
above ``min_energy`` that left something in the detector own what they and their descendants left (the
simulation's decay products, conversions); a status-1 particle that left nothing itself (decayed in flight,
converted) is replaced by the interacting particles it produced within ΔR < ``replace_dr`` of its
direction, each owning what it and its own descendants left. A candidate is *visible*, hence a target,
when it owns a track (the tracker assigns a track to the particle that made most of its hits) or more than
``min_cluster_fraction`` of its energy lies in clusters.

How they are assigned (:func:`assign_targets`): in order of decreasing energy, each target particle takes
its best unused track (its own before its descendants', then by momentum), else its best unused cluster
(the one holding most of its energy). A particle left without an element is added, as a four-vector, to
the particle that holds its best cluster, so the elements' targets carry exactly the targets' energy:
nothing is lost and nothing counted twice (:attr:`PFTargets.energy_balance`). Track-assigned particles get
charged classes (electron, muon, else charged hadron), cluster-assigned ones neutral classes (photon for
e± and γ, else neutral hadron).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from src.event_model import PF_CLASS_PDG, PF_CLASSES, PF_PARTICLE_FEATURES
from src.metrics.particle_flow import delta_r

NEUTRINOS = (12, 14, 16)
_COLUMN = {name: i for i, name in enumerate(PF_PARTICLE_FEATURES)}
CLASS_PDG = dict(zip(PF_CLASSES, PF_CLASS_PDG, strict=True))


@dataclass(frozen=True)
class TargetConfig:
    """Thresholds of the target definition (GeV, fractions, ΔR)."""

    min_energy: float = 1e-3
    min_cluster_fraction: float = 0.1
    replace_dr: float = 0.2


@dataclass(frozen=True)
class PFTargets:
    """The targets of one event.

    ``track``/``cluster``: one PF_PARTICLE_FEATURES row per element (all zero: no target). ``particles``:
    gen rows of the visible target particles; ``element``: per target particle, its element (index into
    tracks then clusters) or −1 when it was merged; ``merged_into``: the target particle it was added to,
    or −1.
    """

    track: np.ndarray
    cluster: np.ndarray
    particles: np.ndarray
    element: np.ndarray
    merged_into: np.ndarray
    visible_energy: float

    @property
    def energy_balance(self) -> float:
        """Σ target energy over elements − Σ energy of the visible target particles (0 up to rounding)."""
        on_elements = float(self.track[:, _COLUMN["energy"]].sum() + self.cluster[:, _COLUMN["energy"]].sum())
        return on_elements - self.visible_energy


def _children(parent: np.ndarray) -> list[np.ndarray]:
    """Rows of the children of every row (from ``gen_parent``)."""
    order = np.argsort(parent, kind="stable")
    starts = np.searchsorted(parent[order], np.arange(len(parent)), side="left")
    ends = np.searchsorted(parent[order], np.arange(len(parent)), side="right")
    return [order[a:b] for a, b in zip(starts, ends, strict=True)]


def _eta_phi(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pt = np.hypot(px, py)
    return np.arcsinh(pz / np.maximum(pt, 1e-12)), np.arctan2(py, px)


def deposits(event: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every energy deposit of the event's hits: (hit row, gen row, energy) from the truth contributions,
    or, for an event without them, each hit's whole energy for its ``hit_particle``."""
    ptr = np.asarray(event.get("hit_contrib_ptr", np.zeros(1)), dtype=np.int64)
    particle = np.asarray(event.get("hit_contrib_particle", ()), dtype=np.int64)
    if len(particle):
        hit = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
        return hit, particle, np.asarray(event["hit_contrib_energy"], dtype=np.float64)
    n_hits = len(event.get("hit_energy", ()))
    return (
        np.arange(n_hits),
        np.asarray(event.get("hit_particle", np.full(n_hits, -1)), dtype=np.int64),
        np.asarray(event.get("hit_energy", ()), dtype=np.float64),
    )


def target_particles(
    event: Mapping[str, np.ndarray], config: TargetConfig = TargetConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """(candidate gen rows, owner of every gen row: index into the candidates or −1).

    Candidates are the status-1 particles that left something and the replacements of those that left
    nothing (see the module docstring); visibility is decided by :func:`assign_targets`.
    """
    pdg = np.abs(np.asarray(event["gen_pdg"], dtype=np.int64))
    parent = np.asarray(event["gen_parent"], dtype=np.int64)
    px, py, pz = (np.asarray(event[f"gen_p{c}"], dtype=np.float64) for c in "xyz")
    n = len(pdg)
    _, particle, energy = deposits(event)
    track_particle = np.asarray(event.get("track_particle", ()), dtype=np.int64)
    left_something = np.zeros(n, dtype=bool)
    left_something[particle[(particle >= 0) & (energy > 0)]] = True
    left_something[track_particle[track_particle >= 0]] = True
    roots = np.flatnonzero(
        (np.asarray(event["gen_status"]) == 1)
        & ~np.isin(pdg, NEUTRINOS)
        & (np.asarray(event["gen_energy"], dtype=np.float64) > config.min_energy)
    )
    children = _children(parent)
    eta, phi = _eta_phi(px, py, pz)
    owner = np.full(n, -1, dtype=np.int64)
    candidates: list[int] = []

    def claim(row: int) -> None:
        """Row and its subtree belong to a new candidate."""
        index, stack = len(candidates), [row]
        candidates.append(row)
        while stack:
            r = stack.pop()
            owner[r] = index
            stack.extend(c for c in children[r] if owner[c] < 0)

    for root in roots:
        if owner[root] >= 0:
            continue
        if left_something[root]:
            claim(int(root))
            continue
        stack = list(children[root])
        while stack:
            c = int(stack.pop())
            if not left_something[c]:
                stack.extend(children[c])
            elif delta_r(eta[c], phi[c], eta[root], phi[root]) < config.replace_dr:
                claim(c)
    return np.asarray(candidates, dtype=np.int64), owner


def _cluster_weights(
    event: Mapping[str, np.ndarray], owner: np.ndarray, n_candidates: int, n_clusters: int
) -> np.ndarray:
    """Energy [candidates, clusters] each candidate (with its descendants) left in each cluster."""
    hit, particle, energy = deposits(event)
    if n_clusters == 0 or not len(hit):
        return np.zeros((n_candidates, n_clusters))
    cluster = np.asarray(event["hit_cluster"], dtype=np.int64)[hit]
    who = np.where(particle >= 0, owner[np.clip(particle, 0, None)], -1)
    ok = (who >= 0) & (cluster >= 0)
    flat = np.bincount(
        who[ok] * n_clusters + cluster[ok], weights=energy[ok], minlength=n_candidates * n_clusters
    )
    return flat.reshape(n_candidates, n_clusters)


def _row(p4: np.ndarray, cls: str, charge: float, status: float, number: int) -> np.ndarray:
    """A PF_PARTICLE_FEATURES row from a four-vector (px, py, pz, E)."""
    row = np.zeros(len(PF_PARTICLE_FEATURES))
    pt = float(np.hypot(p4[0], p4[1]))
    eta, phi = _eta_phi(p4[0], p4[1], p4[2])
    row[_COLUMN["PDG"]] = CLASS_PDG[cls]
    row[_COLUMN["charge"]] = charge
    row[_COLUMN["pt"]], row[_COLUMN["eta"]] = pt, eta
    row[_COLUMN["sin_phi"]], row[_COLUMN["cos_phi"]] = np.sin(phi), np.cos(phi)
    row[_COLUMN["energy"]] = p4[3]
    row[_COLUMN["generatorStatus"]] = status
    row[_COLUMN["particle_number"]] = number
    return row


def charged_class(pdg: int) -> str:
    """Class of a particle on a track."""
    return {11: "electron", 13: "muon"}.get(abs(pdg), "charged_hadron")


def neutral_class(pdg: int) -> str:
    """Class of a particle on a cluster."""
    return "photon" if abs(pdg) in (11, 22) else "neutral_hadron"


def assign_targets(event: Mapping[str, np.ndarray], config: TargetConfig = TargetConfig()) -> PFTargets:
    """Targets of the tracks and clusters of a calorimeter event (see the module docstring)."""
    candidates, owner = target_particles(event, config)
    track_particle = np.asarray(event.get("track_particle", ()), dtype=np.int64)
    track_p = np.asarray(event.get("track_p", np.zeros(len(track_particle))), dtype=np.float64)
    track_charge = np.asarray(event.get("track_charge", np.zeros(len(track_particle))), dtype=np.float64)
    n_tracks = len(track_particle)
    n_clusters = len(event.get("cluster_energy", ()))
    gen_p4 = np.stack([np.asarray(event[k], dtype=np.float64) for k in ("gen_px", "gen_py", "gen_pz")]
                      + [np.asarray(event["gen_energy"], dtype=np.float64)], axis=1)  # fmt: skip
    weights = _cluster_weights(event, owner, len(candidates), n_clusters)
    track_owner = np.where(track_particle >= 0, owner[np.clip(track_particle, 0, None)], -1)
    energy = gen_p4[candidates, 3] if len(candidates) else np.zeros(0)
    fraction = weights.sum(axis=1) / np.maximum(energy, 1e-12)
    has_track = np.isin(np.arange(len(candidates)), track_owner)
    visible = np.flatnonzero(has_track | (fraction > config.min_cluster_fraction))
    visible = visible[np.argsort(-energy[visible], kind="stable")]

    element = np.full(len(candidates), -1, dtype=np.int64)
    track_used, cluster_used = np.zeros(n_tracks, bool), np.zeros(n_clusters, bool)
    for c in visible:
        tracks = np.flatnonzero((track_owner == c) & ~track_used)
        if len(tracks):
            own = track_particle[tracks] == candidates[c]
            t = tracks[np.lexsort((-track_p[tracks], ~own))[0]]
            element[c], track_used[t] = t, True
            continue
        w = np.where(cluster_used, 0.0, weights[c])
        if n_clusters and w.max() > 0:
            k = int(np.argmax(w))
            element[c], cluster_used[k] = n_tracks + k, True
    holder = np.full(n_tracks + n_clusters, -1, dtype=np.int64)
    holder[element[element >= 0]] = np.flatnonzero(element >= 0)
    p4 = gen_p4[candidates].copy() if len(candidates) else np.zeros((0, 4))
    merged_into = np.full(len(candidates), -1, dtype=np.int64)
    for c in visible[element[visible] < 0]:  # left over: every cluster it reached is taken
        host = holder[n_tracks + int(np.argmax(weights[c]))]
        merged_into[c] = host
        p4[host] += p4[c]

    rows = np.zeros((n_tracks + n_clusters, len(PF_PARTICLE_FEATURES)))
    pdg = np.asarray(event["gen_pdg"], dtype=np.int64)
    status = np.asarray(event["gen_status"], dtype=np.float64)
    charge = np.asarray(event["gen_charge"], dtype=np.float64)
    kept = visible[element[visible] >= 0]
    for number, c in enumerate(sorted(kept, key=lambda c: element[c]), start=1):
        e, g = int(element[c]), int(candidates[c])
        if e < n_tracks:
            q = charge[g] if charge[g] != 0 else np.sign(track_charge[e])
            rows[e] = _row(p4[c], charged_class(pdg[g]), q, status[g], number)
            rows[e, _COLUMN["gp_to_track"]] = 1.0
        else:
            rows[e] = _row(p4[c], neutral_class(pdg[g]), 0.0, status[g], number)
        rows[e, _COLUMN["gp_to_cluster"]] = fraction[c]
    position = np.full(len(candidates), -1, dtype=np.int64)
    position[visible] = np.arange(len(visible))
    merged = merged_into[visible]
    return PFTargets(
        track=rows[:n_tracks].astype(np.float32),
        cluster=rows[n_tracks:].astype(np.float32),
        particles=candidates[visible],
        element=element[visible],
        merged_into=np.where(merged >= 0, position[np.clip(merged, 0, None)], -1),
        visible_energy=float(energy[visible].sum()),
    )
