"""Synthetic calorimeter events in the declared event format (src/event_model/): a known number of
well-separated Gaussian blobs of hits on a cylinder, one per particle, plus noise hits and tracks of the
charged particles. For tests that must not depend on the detector simulation."""

from __future__ import annotations

import numpy as np
import torch

from src.event_model import CALO_PARTICLE_TYPES

RADIUS = 1500.0  # mm, the ECAL barrel's inner face
PDGS = (22, 211, -211, 130, 11)


def blob_event(
    n_particles: int,
    seed: int,
    *,
    hits_per_particle: int = 20,
    noise_hits: int = 10,
    spread: float = 0.01,
    spacing: float = 0.25,
    energy: tuple[float, float] = (2.0, 20.0),
) -> dict[str, torch.Tensor]:
    """One event: ``n_particles`` particles, each a blob of hits with (η, φ) spread ``spread`` around its
    direction; the directions are distinct points of an (η, φ) grid of pitch ``spacing``, so blobs never
    overlap; particle energies are uniform in ``energy`` (GeV). Hits carry one contribution each;
    ``hit_cluster`` is the truth partition (a perfect clustering)."""
    rng = np.random.default_rng(seed)
    etas = np.arange(-1.0, 1.0 + 1e-9, spacing)
    phis = np.arange(-np.pi + spacing / 2, np.pi, spacing)
    grid = np.stack(np.meshgrid(etas, phis, indexing="ij"), -1).reshape(-1, 2)
    if n_particles > len(grid):
        raise ValueError(f"{n_particles} blobs do not fit a grid of {len(grid)} points")
    centre = grid[rng.choice(len(grid), n_particles, replace=False)]
    pdg = rng.choice(PDGS, n_particles)
    energy = rng.uniform(*energy, n_particles)
    theta = 2 * np.arctan(np.exp(-centre[:, 0]))
    p = (
        np.stack(
            [np.sin(theta) * np.cos(centre[:, 1]), np.sin(theta) * np.sin(centre[:, 1]), np.cos(theta)], 1
        )
        * energy[:, None]
    )
    charge = np.array([{211: 1.0, -211: -1.0, 11: -1.0}.get(int(c), 0.0) for c in pdg], dtype=np.float32)
    # hits: blob members, then noise
    owner = np.repeat(np.arange(n_particles), hits_per_particle)
    eta = centre[owner, 0] + rng.normal(0, spread, len(owner))
    phi = centre[owner, 1] + rng.normal(0, spread, len(owner))
    share = rng.dirichlet(np.ones(hits_per_particle), n_particles).reshape(-1)
    e_hit = share * energy[owner] * 0.95
    eta = np.concatenate([eta, rng.uniform(-1.2, 1.2, noise_hits)])
    phi = np.concatenate([phi, rng.uniform(-np.pi, np.pi, noise_hits)])
    e_hit = np.concatenate([e_hit, rng.uniform(0.001, 0.01, noise_hits)])
    hit_particle = np.concatenate([owner, np.full(noise_hits, -1)]).astype(np.int32)
    n_hits = len(eta)
    x, y, z = RADIUS * np.cos(phi), RADIUS * np.sin(phi), RADIUS * np.sinh(eta)
    signal = hit_particle >= 0
    charged = np.flatnonzero(charge != 0)
    event = {
        "gen_pdg": pdg.astype(np.int32),
        "gen_charge": charge,
        "gen_status": np.ones(n_particles, dtype=np.int8),
        "gen_mass": np.zeros(n_particles),
        "gen_px": p[:, 0],
        "gen_py": p[:, 1],
        "gen_pz": p[:, 2],
        "gen_energy": energy,
        "gen_vx": np.zeros(n_particles),
        "gen_vy": np.zeros(n_particles),
        "gen_vz": np.zeros(n_particles),
        "gen_time": np.zeros(n_particles),
        "gen_parent": np.full(n_particles, -1, dtype=np.int32),
        "gen_calo_entry": np.arange(n_particles, dtype=np.int32),
        "hit_cell": np.arange(n_hits, dtype=np.int64),
        "hit_x": x.astype(np.float32),
        "hit_y": y.astype(np.float32),
        "hit_z": z.astype(np.float32),
        "hit_energy": e_hit.astype(np.float32),
        "hit_time": (np.sqrt(x**2 + y**2 + z**2) / 299.792458 + rng.normal(0, 0.1, n_hits)).astype(
            np.float32
        ),
        "hit_subdetector": np.zeros(n_hits, dtype=np.int8),
        "hit_layer": rng.integers(0, 30, n_hits).astype(np.int16),
        "hit_particle": hit_particle,
        "hit_contrib_ptr": np.concatenate([[0], np.cumsum(signal)]).astype(np.int64),
        "hit_contrib_particle": hit_particle[signal],
        "hit_contrib_energy": e_hit[signal].astype(np.float32),
        "track_particle": charged.astype(np.int32),
        "track_charge": charge[charged].astype(np.int8),
        "track_pt": np.hypot(p[charged, 0], p[charged, 1]).astype(np.float32),
        "track_eta": centre[charged, 0].astype(np.float32),
        "track_phi": centre[charged, 1].astype(np.float32),
        "track_p": energy[charged].astype(np.float32),
        "track_time": np.zeros(len(charged), dtype=np.float32),
        "track_calo_x": (RADIUS * np.cos(centre[charged, 1])).astype(np.float32),
        "track_calo_y": (RADIUS * np.sin(centre[charged, 1])).astype(np.float32),
        "track_calo_z": (RADIUS * np.sinh(centre[charged, 0])).astype(np.float32),
        "hit_cluster": hit_particle.copy(),
        "cluster_energy": np.bincount(owner, weights=e_hit[: len(owner)], minlength=n_particles).astype(
            np.float32
        ),
    }
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in event.items()}


def type_index(pdg: int) -> int:
    """Class index of a PDG id in the calorimeter particle types."""
    return [code for _, code in CALO_PARTICLE_TYPES].index(pdg)
