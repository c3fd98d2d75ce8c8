"""Synthetic TICL events from Gaussian mixtures fitted to the tracksters of a dataset (the TICL linking
study's "dummy data"), keeping every particle's signal or pileup origin (the study's generator lost it).

Fit, separately for signal particles, pileup particles and tracksters associated to no particle:

* particles per event (empirical);
* per particle, a mixture over [η of its centre, log of its reconstructed energy, log of its number of
  tracksters] (signal: η relative to the event's signal centre, whose η is drawn from the data, so close-by
  particles stay close; φ is drawn uniformly, the detector being symmetric in φ);
* per trackster, a mixture over its features relative to its particle: Δη, Δφ, log energy fraction, |z|,
  log num_LCs, log num_hits, z_min and z_max offsets, log EV1..3, the axis direction relative to the
  barycentre's, the EM fraction and the log particle-type probabilities; timing (present or not, and its
  value) and the particle's PDG id and generated-to-reconstructed energy ratio are drawn from the data.

Sampled events are TICL events (``lc_*``, ``trackster_*``, ``sim_*``) whose tracksters are associated to
their particle with score 0; layer clusters are laid along each trackster's axis between z_min and z_max,
enough to reproduce num_LCs, num_hits, z_min and z_max. Write them with :mod:`src.io.ticl_dumper` and train
on them with ``dataset=ticl_ntuple``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.mixture import GaussianMixture

from src.event_model import NO_TIME, PARTICLE_TYPES, TRACKSTERS
from src.io.ticl_dumper import typed_event
from src.reco.ticl_graph import F, trackster_features
from src.reco.ticl_truth import best_association

GROUPS = ("signal", "pileup", "none")
#: The per-trackster arrays of a TICL event (its CSR members and association aside).
TRACKSTER_KEYS = tuple(k for k in TRACKSTERS.fields if not k.startswith(("trackster_lc_", "trackster_sim_")))


def _wrap(phi: np.ndarray) -> np.ndarray:
    return (phi + np.pi) % (2 * np.pi) - np.pi


def _angles(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(polar angle, azimuth) of vectors [N, 3]."""
    return np.arctan2(np.hypot(v[:, 0], v[:, 1]), np.abs(v[:, 2])), np.arctan2(v[:, 1], v[:, 0])


def relative_tracksters(x: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Trackster features [T, 29] as the vectors the trackster mixture models, relative to the (η, φ,
    energy) of their particle ``centre`` [T, 3]."""
    bary = x[:, [F["barycenter_x"], F["barycenter_y"], F["barycenter_z"]]]
    axis = x[:, [F["eVector0_x"], F["eVector0_y"], F["eVector0_z"]]]
    theta_b, phi_b = _angles(bary)
    theta_a, phi_a = _angles(axis)
    z = np.abs(x[:, F["barycenter_z"]])
    energy = np.maximum(x[:, F["raw_energy"]], 1e-6)
    probabilities = x[:, F["photon_prob"] : F["neutral_hadron_prob"] + 1]
    columns = [
        x[:, F["barycenter_eta"]] - centre[:, 0],
        _wrap(x[:, F["barycenter_phi"]] - centre[:, 1]),
        np.log(energy / centre[:, 2]),
        z,
        np.log(np.maximum(x[:, F["num_LCs"]], 1)),
        np.log(np.maximum(x[:, F["num_hits"]], 1)),
        np.abs(x[:, F["z_min"]]) - z,
        np.abs(x[:, F["z_max"]]) - z,
        *(np.log(np.maximum(x[:, F[f"EV{k}"]], 1e-3)) for k in (1, 2, 3)),
        theta_a - theta_b,
        _wrap(phi_a - phi_b),
        x[:, F["raw_em_energy"]] / energy,
        *np.log(np.maximum(probabilities, 1e-6)).T,
    ]
    return np.stack(columns, 1)


@dataclass
class GroupModel:
    """Fitted statistics of one group of particles (signal, pileup, or tracksters of no particle)."""

    counts: np.ndarray
    particle: GaussianMixture | None = None
    trackster: GaussianMixture | None = None
    pdg_charge: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    response: np.ndarray = field(default_factory=lambda: np.ones(1))
    centre_eta: np.ndarray = field(default_factory=lambda: np.zeros(1))


@dataclass
class TracksterModel:
    """Everything sampling needs: one :class:`GroupModel` per group, timing, and the layer z table."""

    groups: dict[str, GroupModel]
    timed_fraction: float
    times: np.ndarray
    layer_z: np.ndarray


def _mixture(data: np.ndarray, components: int, seed: int) -> GaussianMixture | None:
    if len(data) < 2:
        return None
    gmm = GaussianMixture(
        min(components, len(data)), covariance_type="full", reg_covar=1e-4, random_state=seed
    )
    return gmm.fit(data)


def _particle_centre(x: np.ndarray) -> tuple[float, float, float]:
    """Energy-weighted (η, φ) and the summed energy of a particle's tracksters (features [n, 29])."""
    e = x[:, F["raw_energy"]]
    eta = float((x[:, F["barycenter_eta"]] * e).sum() / e.sum())
    phi = x[:, F["barycenter_phi"]]
    return eta, float(np.arctan2((np.sin(phi) * e).sum(), (np.cos(phi) * e).sum())), float(e.sum())


def fit_trackster_model(
    events: list[dict[str, np.ndarray]], *, max_score: float = 0.2, components: int = 8, seed: int = 0
) -> TracksterModel:
    """Fit the mixtures and empirical distributions to TICL events (their tracksters and association).

    Particle vectors: signal [η − η_centre, φ − φ_centre, log E, log n_tracksters]; pileup and tracksters
    of no particle (each its own "particle") [η, log E, log n_tracksters]."""
    rows = {
        g: {"counts": [], "particle": [], "trackster": [], "pdg": [], "resp": [], "eta": []} for g in GROUPS
    }
    times, layers, layer_z = [], [], []
    for event in events:
        x = trackster_features(event).astype(np.float64)
        keys = ("ptr", "index", "score", "shared_energy")
        _, particle = best_association(*(event[f"trackster_sim_{k}"] for k in keys), max_score=max_score)
        pileup = event["sim_interaction"] != 0
        layers.append(event["lc_layer"])
        layer_z.append(np.abs(event["lc_z"]))
        times.append(x[:, F["time"]])
        lone = np.flatnonzero(particle < 0)
        rows["none"]["counts"].append(len(lone))
        for t in lone:
            eta, phi, energy = _particle_centre(x[t : t + 1])
            rows["none"]["particle"].append([eta, np.log(energy), 0.0])
            rows["none"]["trackster"].append(
                relative_tracksters(x[t : t + 1], np.array([[eta, phi, energy]]))
            )
        signal = []
        for group, sel in (("signal", ~pileup), ("pileup", pileup)):
            sims = [p for p in np.flatnonzero(sel) if (particle == p).any()]
            rows[group]["counts"].append(len(sims))
            for p in sims:
                mine = particle == p
                eta, phi, energy = _particle_centre(x[mine])
                centre = np.tile([eta, phi, energy], (int(mine.sum()), 1))
                rows[group]["trackster"].append(relative_tracksters(x[mine], centre))
                rows[group]["pdg"].append((event["sim_pdg"][p], event["sim_charge"][p]))
                rows[group]["resp"].append(event["sim_energy"][p] / energy)
                if group == "signal":
                    signal.append([eta, phi, np.log(energy), np.log(mine.sum())])
                else:
                    rows[group]["particle"].append([eta, np.log(energy), np.log(mine.sum())])
        if signal:
            signal = np.asarray(signal)
            eta_c = signal[:, 0].mean()
            phi_c = float(np.arctan2(np.sin(signal[:, 1]).mean(), np.cos(signal[:, 1]).mean()))
            rows["signal"]["eta"].append(eta_c)
            signal[:, 0] -= eta_c
            signal[:, 1] = _wrap(signal[:, 1] - phi_c)
            rows["signal"]["particle"].extend(signal.tolist())
    groups = {}
    for g, r in rows.items():
        groups[g] = GroupModel(
            counts=np.asarray(r["counts"], dtype=np.int64),
            particle=_mixture(np.asarray(r["particle"], dtype=np.float64), components, seed),
            trackster=_mixture(
                np.concatenate(r["trackster"]) if r["trackster"] else np.zeros((0, 1)), components, seed
            ),
            pdg_charge=np.asarray(r["pdg"], dtype=np.float64).reshape(-1, 2),
            response=np.asarray(r["resp"] or [1.0], dtype=np.float64),
            centre_eta=np.asarray(r["eta"] or [2.2], dtype=np.float64),
        )
    t = np.concatenate(times) if times else np.zeros(0)
    lay, z = (np.concatenate(a) if a else np.zeros(0) for a in (layers, layer_z))
    table = np.array([np.median(z[lay == k]) for k in np.unique(lay)]) if len(lay) else np.array([3200.0])
    return TracksterModel(
        groups, float((t != NO_TIME).mean()) if len(t) else 0.0, t[t != NO_TIME], np.sort(table)
    )


def _tracksters(r: np.ndarray, centre: np.ndarray, model: TracksterModel, rng: np.random.Generator) -> dict:
    """Trackster arrays (and layer clusters as lists) from sampled relative vectors [n, 19] of one
    particle at ``centre`` = (η, φ, E)."""
    n = len(r)
    eta = centre[0] + r[:, 0]
    phi = _wrap(centre[1] + r[:, 1])
    fraction = np.exp(r[:, 2])
    energy = centre[2] * fraction / fraction.sum()
    z = np.sign(eta) * np.clip(r[:, 3], model.layer_z[0], model.layer_z[-1])
    rho = np.abs(z) / np.sinh(np.abs(eta))
    bary = np.stack([rho * np.cos(phi), rho * np.sin(phi), z], 1)
    theta_b = np.arctan2(rho, np.abs(z))
    theta_a, phi_a = np.clip(theta_b + r[:, 11], 0.0, 1.5), phi + r[:, 12]
    axis = np.stack(
        [np.sin(theta_a) * np.cos(phi_a), np.sin(theta_a) * np.sin(phi_a), np.sign(z) * np.cos(theta_a)], 1
    )
    ev = np.sort(np.exp(r[:, 8:11]), axis=1)[:, ::-1]
    probabilities = np.exp(r[:, 14:20])
    probabilities /= probabilities.sum(1, keepdims=True)
    timed = rng.random(n) < model.timed_fraction
    time = np.where(timed, rng.choice(model.times, n) if len(model.times) else 0.0, NO_TIME)
    n_lc = np.maximum(2, np.round(np.exp(r[:, 4]))).astype(int)
    n_hits = np.maximum(n_lc, np.round(np.exp(r[:, 5]))).astype(int)
    z_lo = np.clip(np.abs(z) + np.minimum(r[:, 6], 0.0), model.layer_z[0], np.abs(z))
    z_hi = np.clip(np.abs(z) + np.maximum(r[:, 7], 0.0), np.abs(z), model.layer_z[-1])
    out = {
        "trackster_barycenter_x": bary[:, 0],
        "trackster_barycenter_y": bary[:, 1],
        "trackster_barycenter_z": z,
        "trackster_barycenter_eta": eta,
        "trackster_barycenter_phi": phi,
        **{f"trackster_eVector0_{c}": axis[:, k] for k, c in enumerate("xyz")},
        **{f"trackster_EV{k + 1}": ev[:, k] for k in range(3)},
        **{f"trackster_sigmaPCA{k + 1}": np.sqrt(ev[:, k]) for k in range(3)},
        "trackster_raw_energy": energy,
        "trackster_raw_em_energy": energy * np.clip(r[:, 13], 0.0, 1.0),
        "trackster_time": time,
        "trackster_id_probabilities": probabilities,
    }
    lcs = []
    for k in range(n):  # layer clusters along the axis from z_min to z_max
        zs = np.sign(z[k]) * np.linspace(z_lo[k], z_hi[k], n_lc[k])
        step = (zs - z[k]) / axis[k, 2] if abs(axis[k, 2]) > 1e-6 else np.zeros(n_lc[k])
        pos = bary[k] + step[:, None] * axis[k]
        hits = np.full(n_lc[k], n_hits[k] // n_lc[k]) + (np.arange(n_lc[k]) < n_hits[k] % n_lc[k])
        lcs.append((pos, np.full(n_lc[k], energy[k] / n_lc[k]), hits, time[k]))
    return out | {"lcs": lcs}


def _sample_group(model: TracksterModel, group: str, rng: np.random.Generator, seed: int) -> list[tuple]:
    """(centre (η, φ, E), tracksters dict, pdg, charge, generated energy) of one event's particles."""
    g = model.groups[group]
    n = int(rng.choice(g.counts)) if len(g.counts) else 0
    if n == 0 or g.particle is None or g.trackster is None:
        return []
    g.particle.random_state, g.trackster.random_state = seed, seed + 1
    vectors = g.particle.sample(n)[0]
    if group == "signal":
        eta_c, phi_c = float(rng.choice(g.centre_eta)), float(rng.uniform(-np.pi, np.pi))
        centres = np.stack([eta_c + vectors[:, 0], _wrap(phi_c + vectors[:, 1]), np.exp(vectors[:, 2])], 1)
        n_t = vectors[:, 3]
    else:
        centres = np.stack([vectors[:, 0], rng.uniform(-np.pi, np.pi, n), np.exp(vectors[:, 1])], 1)
        n_t = vectors[:, 2]
    n_t = np.ones(n, dtype=int) if group == "none" else np.maximum(1, np.round(np.exp(n_t))).astype(int)
    relative = g.trackster.sample(int(n_t.sum()))[0]
    rng.shuffle(relative)
    out, start = [], 0
    for k in range(n):
        r = relative[start : start + n_t[k]]
        start += n_t[k]
        pdg, charge = g.pdg_charge[rng.integers(len(g.pdg_charge))] if len(g.pdg_charge) else (0, 0)
        energy = centres[k, 2] * float(rng.choice(g.response))
        out.append((centres[k], _tracksters(r, centres[k], model, rng), int(pdg), float(charge), energy))
    return out


def sample_events(model: TracksterModel, n_events: int, *, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """``n_events`` synthetic TICL events; signal particles have interaction 0, pileup particles 1, 2, ..."""
    events = []
    for i in range(n_events):
        rng = np.random.default_rng([seed, i])
        parts = {g: _sample_group(model, g, rng, seed * 7919 + 3 * i + k) for k, g in enumerate(GROUPS)}
        events.append(_assemble(parts, model))
    return events


def _assemble(parts: dict[str, list[tuple]], model: TracksterModel) -> dict[str, np.ndarray]:
    """One TICL event from sampled particles (every trackster associated to its particle, score 0)."""
    trackster_keys = TRACKSTER_KEYS
    columns: dict[str, list] = {k: [] for k in trackster_keys}
    lc = {k: [] for k in ("lc_x", "lc_y", "lc_z", "lc_energy", "lc_time", "lc_layer", "lc_n_hits")}
    lc_ptr, sim_ptr, sim_index, shared = [0], [0], [], []
    sims = {
        k: []
        for k in (
            "sim_pdg",
            "sim_charge",
            "sim_energy",
            "sim_deposited_energy",
            "sim_eta",
            "sim_phi",
            "sim_interaction",
        )
    }
    n_lc = 0
    pileup_id = 0
    for group in GROUPS:
        for centre, tracksters, pdg, charge, energy in parts[group]:
            owner = -1
            if group != "none":
                owner = len(sims["sim_pdg"])
                pileup_id += group == "pileup"
                values = (
                    pdg,
                    charge,
                    energy,
                    centre[2],
                    centre[0],
                    centre[1],
                    pileup_id if group == "pileup" else 0,
                )
                for key, value in zip(sims, values, strict=True):
                    sims[key].append(value)
            for k in range(len(tracksters["trackster_raw_energy"])):
                for key in trackster_keys:
                    columns[key].append(tracksters[key][k])
                pos, e, hits, time = tracksters["lcs"][k]
                layer = np.clip(np.searchsorted(model.layer_z, np.abs(pos[:, 2])), 0, len(model.layer_z) - 1)
                for key, value in (
                    ("lc_x", pos[:, 0]),
                    ("lc_y", pos[:, 1]),
                    ("lc_z", pos[:, 2]),
                    ("lc_energy", e),
                    ("lc_n_hits", hits),
                    ("lc_layer", layer),
                ):
                    lc[key].extend(value)
                lc["lc_time"].extend([time] * len(e))
                n_lc += len(e)
                lc_ptr.append(n_lc)
                if owner >= 0:
                    sim_index.append(owner)
                    shared.append(tracksters["trackster_raw_energy"][k])
                sim_ptr.append(len(sim_index))
    event = {k: np.asarray(v, dtype=np.float32) for k, v in columns.items()}
    event["trackster_id_probabilities"] = event.get("trackster_id_probabilities", np.zeros((0, 6))).reshape(
        -1, len(PARTICLE_TYPES)
    )
    event |= {k: np.asarray(v) for k, v in lc.items()}
    event |= {
        "trackster_lc_ptr": np.asarray(lc_ptr, dtype=np.int64),
        "trackster_lc_index": np.arange(n_lc, dtype=np.int32),
        "trackster_sim_ptr": np.asarray(sim_ptr, dtype=np.int64),
        "trackster_sim_index": np.asarray(sim_index, dtype=np.int32),
        "trackster_sim_score": np.zeros(len(sim_index), dtype=np.float32),
        "trackster_sim_shared_energy": np.asarray(shared, dtype=np.float32),
    }
    event |= {k: np.asarray(v) for k, v in sims.items()} | {"sim_gen_row": np.full(len(sims["sim_pdg"]), -1)}
    return typed_event(event)
