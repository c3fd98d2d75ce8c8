"""Truth of TICL objects: simulated particles (CaloParticles), the reco-to-sim association of tracksters,
and the particle-type probabilities that stand in for TICL's identification.

Simulated particles are the particles that entered the calorimeter (``gen_calo_entry``), each collecting
the hit contributions of itself and of its descendants. A hit's energy is shared among its particles in
proportion to their contributions, f(h, p) = c_p(h) / Σ_q c_q(h). For trackster t and particle p (CMS's
``TracksterToSimTracksterAssociatorByHits`` with every hit in one trackster, fraction 1):

* shared energy  S(t, p) = Σ_{h∈t} f(h, p) E_h;
* score          s(t, p) = Σ_{h∈t} (1 − f(h, p))² E_h² / Σ_{h∈t} E_h²  (0: all of t is p's; 1: none is).

A trackster is associated to the particle it shares most energy with when that particle's score is below
``max_score`` (the study: 0.2), else to none (−1).

Particle types: the smeared true type of the trackster's most-sharing particle (not a shower-shape
classifier): logits ``sharpness`` × one-hot(type) + N(0, 1) per class, softmax; uniform for a trackster
that shares energy with no particle (noise only).
"""

from __future__ import annotations

import numpy as np

from src.event_model import PARTICLE_TYPES


def particle_type(pdg: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """Index into PARTICLE_TYPES of each particle: γ, e, μ, π0, charged or neutral hadron."""
    apdg = np.abs(np.asarray(pdg))
    out = np.where(np.asarray(charge) != 0, 4, 5)
    for code, t in ((22, 0), (11, 1), (13, 2), (111, 3)):
        out = np.where(apdg == code, t, out)
    return out.astype(np.int64)


def smeared_probabilities(types: np.ndarray, sharpness: float, rng: np.random.Generator) -> np.ndarray:
    """[T, 6] class probabilities around the true ``types`` (−1: unknown, uniform)."""
    k = len(PARTICLE_TYPES)
    logits = rng.normal(size=(len(types), k))
    known = types >= 0
    logits[known, types[known]] += sharpness
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[~known] = 1.0 / k
    return p.astype(np.float32)


def sim_particles(event: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The ``sim_*`` arrays of an event and, per hit contribution, its sim row and its energy fraction.

    ``event`` is a calorimeter event (``gen_*``, ``hit_energy``, ``hit_contrib_*``). Particles are ordered
    by generator row; ``sim_deposited_energy`` is Σ_h f(h, p) E_h over every hit of the event.
    """
    ptr = event["hit_contrib_ptr"]
    contrib_hit = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    particle = event["hit_contrib_particle"].astype(np.int64)
    entry = event["gen_calo_entry"][particle].astype(np.int64)
    entry = np.where(entry >= 0, entry, particle)
    c = event["hit_contrib_energy"].astype(np.float64)
    total = np.bincount(contrib_hit, weights=c, minlength=len(ptr) - 1)
    fraction = c / np.maximum(total[contrib_hit], 1e-300)
    rows, sim = np.unique(entry, return_inverse=True)
    deposited = np.bincount(sim, weights=fraction * event["hit_energy"][contrib_hit], minlength=len(rows))
    px, py, pz = (event[f"gen_{k}"][rows] for k in ("px", "py", "pz"))
    pt = np.hypot(px, py)
    interaction = event.get("gen_interaction", np.zeros(len(event["gen_pdg"]), dtype=np.int16))
    arrays = {
        "sim_gen_row": rows.astype(np.int32),
        "sim_pdg": event["gen_pdg"][rows].astype(np.int32),
        "sim_charge": event["gen_charge"][rows].astype(np.float32),
        "sim_energy": event["gen_energy"][rows].astype(np.float32),
        "sim_deposited_energy": deposited.astype(np.float32),
        "sim_eta": np.arcsinh(pz / np.maximum(pt, 1e-12)).astype(np.float32),
        "sim_phi": np.arctan2(py, px).astype(np.float32),
        "sim_interaction": np.asarray(interaction)[rows].astype(np.int16),
    }
    return arrays, sim.astype(np.int64), fraction


def associate(
    hit_trackster: np.ndarray,
    hit_energy: np.ndarray,
    contrib_ptr: np.ndarray,
    contrib_sim: np.ndarray,
    contrib_fraction: np.ndarray,
    *,
    n_sim: int,
    n_tracksters: int,
) -> dict[str, np.ndarray]:
    """The reco-to-sim association of tracksters 0…T−1 (``hit_trackster``: −1 for hits in none) as CSR
    ``trackster_sim_*`` arrays, each trackster's particles ordered by score (best first)."""
    n_t = n_tracksters
    e = hit_energy.astype(np.float64)
    in_t = hit_trackster >= 0
    e2 = np.bincount(hit_trackster[in_t], weights=e[in_t] ** 2, minlength=n_t)
    contrib_hit = np.repeat(np.arange(len(contrib_ptr) - 1), np.diff(contrib_ptr))
    t = hit_trackster[contrib_hit]
    keep = t >= 0
    t, p, f, eh = t[keep], contrib_sim[keep], contrib_fraction[keep], e[contrib_hit[keep]]
    key = t * max(n_sim, 1) + p
    pairs, inverse = np.unique(key, return_inverse=True)
    shared = np.bincount(inverse, weights=f * eh, minlength=len(pairs))
    gain = np.bincount(inverse, weights=(2 * f - f * f) * eh * eh, minlength=len(pairs))
    pt, pp = pairs // max(n_sim, 1), pairs % max(n_sim, 1)
    score = 1.0 - gain / np.maximum(e2[pt], 1e-300)
    order = np.lexsort((pp, score, pt))
    pt, pp, score, shared = pt[order], pp[order], score[order], shared[order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(pt, minlength=n_t))]).astype(np.int64)
    return {
        "trackster_sim_ptr": ptr,
        "trackster_sim_index": pp.astype(np.int32),
        "trackster_sim_score": np.clip(score, 0.0, 1.0).astype(np.float32),
        "trackster_sim_shared_energy": shared.astype(np.float32),
    }


def best_association(
    ptr: np.ndarray, index: np.ndarray, score: np.ndarray, shared: np.ndarray, *, max_score: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per trackster: the sim row it shares most energy with (−1: none) and its association (that row
    when its score is below ``max_score``, else −1)."""
    n = len(ptr) - 1
    owner = np.repeat(np.arange(n), np.diff(ptr))
    best = np.full(n, -1, dtype=np.int64)
    best_score = np.ones(n)
    if len(owner):
        order = np.lexsort((-shared, owner))  # per trackster, largest shared energy first
        first = np.ones(len(order), dtype=bool)
        first[1:] = owner[order][1:] != owner[order][:-1]
        rows = order[first]
        best[owner[rows]] = index[rows]
        best_score[owner[rows]] = score[rows]
    return best, np.where(best_score < max_score, best, -1)
