"""Synthetic calorimeter events (the flat dict of ``src.event_model``) for particle-flow tests: known
particles, their tracks and hits, and clusters that merge particles which hit the calorimeter close
together, so every rule of the target assignment and of the rule-based PF has something to act on."""

from __future__ import annotations

import numpy as np

from src.sim.generators import SIMULATED, concat_tables, particle_table

#: Barrel entrance radius (mm) and field (T) of the synthetic detector.
R_CALO, B_FIELD = 1500.0, 4.0
#: Particle species of the synthetic events (K0S decays to π+π− before the calorimeter, ν leaves nothing).
SPECIES = (211, -211, 321, -321, 22, 22, 22, 130, 2112, 11, -11, 13, 310, 12)
_EM, _MUONS = (11, 22), (13,)
_MERGE_DR = 0.04
#: Rule-based PF constants for these events (unit energy scales, the wide link): the class defaults are
#: those calibrated on the full simulation, whose responses differ from this synthetic detector's.
UNIT_PF = {"link_dr": 0.1, "em_scale": 1.0, "hadron_ecal_scale": 1.0, "hadron_hcal_scale": 1.0}


def _direction(eta: np.ndarray, phi: np.ndarray, r: np.ndarray) -> np.ndarray:
    return np.stack([r * np.cos(phi), r * np.sin(phi), r * np.sinh(eta)], axis=-1)


def _kinematics(table: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    pt = np.hypot(table["gen_px"], table["gen_py"])
    return (
        pt,
        np.arcsinh(table["gen_pz"] / np.maximum(pt, 1e-12)),
        np.arctan2(table["gen_py"], table["gen_px"]),
    )


def _generator(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Status-1 particles (plus π+π− daughters of every K0S, made 'by the simulation')."""
    pdg = rng.choice(SPECIES, n)
    energy = 1.0 + rng.exponential(8.0, n)
    eta, phi = rng.uniform(-1.0, 1.0, n), rng.uniform(-np.pi, np.pi, n)
    p = np.sqrt(np.maximum(energy**2 - 0.25, 0.1))
    pt = p / np.cosh(eta)
    table = particle_table(pdg, pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta))
    daughters, parents = [], []
    for k in np.flatnonzero(pdg == 310):
        mom = np.array([table["gen_px"][k], table["gen_py"][k], table["gen_pz"][k]])
        kick = rng.normal(0.0, 0.03 * np.linalg.norm(mom), 3)
        pair = np.stack([0.5 * mom + kick, 0.5 * mom - kick])
        daughters.append(particle_table([211, -211], *pair.T, status=SIMULATED))
        parents += [k, k]
    gen = concat_tables(table, *daughters)
    gen["gen_parent"][n:] = parents  # rows of the K0S in the first table
    return gen


def _tracks(gen: dict[str, np.ndarray], rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Tracks of charged particles with pT > 0.3 GeV, and each particle's azimuth at the calorimeter."""
    pt, eta, phi = _kinematics(gen)
    q = gen["gen_charge"]
    omega = q * 0.299792458e-3 * B_FIELD / np.maximum(pt, 1e-9)  # 1/mm
    bend = np.where(q != 0, np.arcsin(np.clip(R_CALO * omega / 2, -2.0, 2.0).clip(-1, 1)), 0.0)
    reaches = np.abs(R_CALO * omega / 2) < 1.0
    calo_phi = phi - bend
    leaves = (gen["gen_status"] != 2) & (np.abs(gen["gen_pdg"]) != 310)
    has_track = leaves & (q != 0) & (pt > 0.3)
    rows = np.flatnonzero(has_track)
    n = len(rows)
    smeared = pt[rows] * (1 + rng.normal(0, 0.01, n))
    calo = _direction(eta[rows], calo_phi[rows], np.full(n, R_CALO))
    calo[~reaches[rows]] = np.nan
    tracks = {
        "track_particle": rows.astype(np.int32),
        "track_charge": q[rows].astype(np.int8),
        "track_pt": smeared.astype(np.float32),
        "track_eta": eta[rows].astype(np.float32),
        "track_phi": phi[rows].astype(np.float32),
        "track_p": (smeared * np.cosh(eta[rows])).astype(np.float32),
        "track_chi2": rng.chisquare(15, n).astype(np.float32),
        "track_ndf": np.full(n, 15, dtype=np.int16),
        "track_dedx": np.full(n, 2.7e-7, dtype=np.float32),
        "track_dedx_error": np.full(n, 1e-8, dtype=np.float32),
        "track_inner_radius": np.full(n, 31.0, dtype=np.float32),
        "track_tan_lambda": np.sinh(eta[rows]).astype(np.float32),
        "track_d0": rng.normal(0, 0.01, n).astype(np.float32),
        "track_omega": omega[rows].astype(np.float32),
        "track_z0": rng.normal(0, 0.01, n).astype(np.float32),
        "track_time": np.zeros(n, dtype=np.float32),
        "track_calo_x": calo[:, 0].astype(np.float32),
        "track_calo_y": calo[:, 1].astype(np.float32),
        "track_calo_z": calo[:, 2].astype(np.float32),
    }
    return tracks, np.where(reaches | (q == 0), calo_phi, np.nan)


def _hits(
    gen: dict[str, np.ndarray], calo_phi: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Hits of every particle that reaches the calorimeter: EM showers in the ECAL, hadrons 30/70 in
    ECAL/HCAL at a response of 0.8, muons as MIPs; plus three noise hits."""
    _, eta, _ = _kinematics(gen)
    pdg, energy = np.abs(gen["gen_pdg"]), gen["gen_energy"]
    depositing = (gen["gen_status"] != 2) & ~np.isin(pdg, (12, 14, 16, 310)) & np.isfinite(calo_phi)
    cols: dict[str, list] = {k: [] for k in ("particle", "energy", "sub", "r", "eta", "phi")}
    for g in np.flatnonzero(depositing):
        if pdg[g] in _EM:
            parts = [(0, 4, energy[g] * rng.normal(1.0, 0.03))]
        elif pdg[g] in _MUONS:
            parts = [(0, 2, 0.2), (2, 6, 1.2)]
        else:
            response = 0.8 * energy[g] * rng.normal(1.0, 0.1)
            parts = [(0, 3, 0.3 * response), (2, 5, 0.7 * response)]
        for sub, n, total in parts:
            r0 = 1550.0 if sub == 0 else 1900.0
            cols["particle"] += [g] * n
            cols["energy"] += list(total * rng.dirichlet(np.ones(n)))
            cols["sub"] += [sub] * n
            cols["r"] += list(r0 + 60.0 * np.arange(n))
            cols["eta"] += list(eta[g] + rng.normal(0, 0.008, n))
            cols["phi"] += list(calo_phi[g] + rng.normal(0, 0.008, n))
    for _ in range(3):  # noise
        for k, v in zip(cols, (-1, 0.05, 0, 1600.0, rng.uniform(-1, 1), rng.uniform(-3, 3)), strict=True):
            cols[k].append(v)
    pos = _direction(np.asarray(cols["eta"]), np.asarray(cols["phi"]), np.asarray(cols["r"]))
    n = len(cols["energy"])
    particle = np.asarray(cols["particle"], dtype=np.int32)
    energy_hits = np.asarray(cols["energy"], dtype=np.float32)
    real = particle >= 0
    return {
        "hit_cell": np.arange(n, dtype=np.int64),
        "hit_x": pos[:, 0].astype(np.float32),
        "hit_y": pos[:, 1].astype(np.float32),
        "hit_z": pos[:, 2].astype(np.float32),
        "hit_energy": energy_hits,
        "hit_time": np.zeros(n, dtype=np.float32),
        "hit_subdetector": np.asarray(cols["sub"], dtype=np.int8),
        "hit_layer": np.zeros(n, dtype=np.int16),
        "hit_particle": particle,
        "hit_contrib_ptr": np.concatenate([[0], np.cumsum(real)]).astype(np.int64),
        "hit_contrib_particle": particle[real],
        "hit_contrib_energy": energy_hits[real],
    }


def _clusters(
    hits: dict[str, np.ndarray], gen_eta: np.ndarray, calo_phi: np.ndarray
) -> dict[str, np.ndarray]:
    """One cluster per group of particles whose calorimeter impacts lie within ΔR < 0.04 (noise: none)."""
    particle = hits["hit_particle"]
    owners = np.unique(particle[particle >= 0])
    group = {int(g): i for i, g in enumerate(owners)}
    for i, a in enumerate(owners):  # union by ΔR (small events: quadratic is fine)
        for b in owners[i + 1 :]:
            dphi = np.remainder(calo_phi[a] - calo_phi[b] + np.pi, 2 * np.pi) - np.pi
            if np.hypot(gen_eta[a] - gen_eta[b], dphi) < _MERGE_DR:
                old, new = group[int(b)], group[int(a)]
                group = {k: (new if v == old else v) for k, v in group.items()}
    labels = {v: i for i, v in enumerate(sorted(set(group.values())))}
    hit_cluster = np.array([labels[group[int(p)]] if p >= 0 else -1 for p in particle], dtype=np.int32)
    m = len(labels)
    e = hits["hit_energy"].astype(np.float64)
    sub = hits["hit_subdetector"]
    member = hit_cluster >= 0
    c = hit_cluster[member]

    def wsum(v: np.ndarray) -> np.ndarray:
        return np.bincount(c, weights=(e * v)[member], minlength=m)

    total = wsum(np.ones_like(e))
    out = {"cluster_energy": total.astype(np.float32)}
    for axis in "xyz":
        v = hits[f"hit_{axis}"].astype(np.float64)
        mean = wsum(v) / total
        out[f"cluster_{axis}"] = mean.astype(np.float32)
        out[f"cluster_sigma_{axis}"] = np.sqrt(np.maximum(wsum(v**2) / total - mean**2, 0)).astype(np.float32)
    out["cluster_energy_ecal"] = wsum((sub == 0).astype(float)).astype(np.float32)
    out["cluster_energy_hcal"] = wsum((sub == 2).astype(float)).astype(np.float32)
    out["cluster_energy_other"] = np.zeros(m, dtype=np.float32)
    out["cluster_n_hits"] = np.bincount(c, minlength=m).astype(np.int32)
    best = np.full(m, -1, dtype=np.int32)
    for k in range(m):
        sel = hit_cluster == k
        pids, inv = np.unique(particle[sel], return_inverse=True)
        best[k] = pids[np.argmax(np.bincount(inv, weights=e[sel]))]
    out["cluster_particle"] = best
    out["hit_cluster"] = hit_cluster
    return out


def synthetic_calo_event(seed: int, n_particles: int = 25) -> dict[str, np.ndarray]:
    """A calorimeter event of ``n_particles`` status-1 particles (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    gen = _generator(rng, n_particles)
    tracks, calo_phi = _tracks(gen, rng)
    hits = _hits(gen, calo_phi, rng)
    _, eta, _ = _kinematics(gen)
    clusters = _clusters(hits, eta, calo_phi)
    entered = (gen["gen_status"] != 2) & ~np.isin(np.abs(gen["gen_pdg"]), (12, 14, 16, 310))
    gen["gen_calo_entry"] = np.where(entered, np.arange(len(entered)), -1).astype(np.int32)
    return {**gen, **tracks, **hits, **clusters}
