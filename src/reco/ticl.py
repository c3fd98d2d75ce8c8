"""TICL reconstruction of an HGCAL event: hits → layer clusters (CLUE) → tracksters (CLUE3D) → truth.

Input: a calorimeter event (``src.event_model``: ``gen_*``, ``hit_*`` with contributions) and the noise σ
of each hit's cell. Output: the TICL event, a flat dict of ``lc_*``, ``trackster_*`` and ``sim_*`` arrays
(see the TICL section of :mod:`src.event_model`). Only HGCAL hits enter (CE-E, CE-H silicon and
scintillator); ``z_sign`` = +1 or −1 keeps one endcap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from src.event_model import SUBDETECTORS
from src.reco.clue import clue
from src.reco.clue3d import CLUE3DConfig, clue3d
from src.reco.ticl_objects import layer_cluster_properties, trackster_properties
from src.reco.ticl_truth import (
    associate,
    best_association,
    particle_type,
    sim_particles,
    smeared_probabilities,
)

CE_E, CE_H_SI, CE_H_SCINT = (
    SUBDETECTORS.index(n) for n in ("hgcal_ce_e", "hgcal_ce_h_si", "hgcal_ce_h_scint")
)


@dataclass(frozen=True)
class TICLConfig:
    """The reconstruction's parameters (CMS values where CMS has one; distances in mm, energies in GeV).

    ``ce_e_layers``: CE-H layer k is HGCAL layer ``ce_e_layers`` + k. CLUE: ``dc_silicon`` (CMS 1.3 cm),
    ``dc_scintillator`` (radians of φ at the hit's radius: ~1.5 tiles of 2π/288), ``kappa`` (ρ_c = κ σ_noise),
    ``outlier_factor`` and the position's log-weight offset ``w0``. Layer clusters with fewer than
    ``min_lc_hits`` hits do not enter CLUE3D (CMS's filteredLayerClusters). Times come from hits above
    ``time_min_energy``, at least ``time_min_hits`` of them per layer cluster. Particle-type probabilities:
    ``id_sharpness`` (:mod:`src.reco.ticl_truth`).
    """

    z_sign: int = 0
    ce_e_layers: int = 26
    dc_silicon: float = 13.0
    dc_scintillator: float = 0.033
    kappa: float = 9.0
    outlier_factor: float = 2.0
    w0: float = 2.9
    min_lc_hits: int = 2
    time_min_energy: float = 0.02
    time_min_hits: int = 3
    id_sharpness: float = 2.0
    clue3d: CLUE3DConfig = field(default_factory=CLUE3DConfig)

    def __post_init__(self) -> None:
        if self.z_sign not in (-1, 0, 1):
            raise ValueError(f"reco.z_sign must be -1, 0 (both endcaps) or +1, got {self.z_sign}")
        if isinstance(self.clue3d, dict):
            object.__setattr__(self, "clue3d", CLUE3DConfig(**self.clue3d))


def hgcal_hits(event: dict[str, np.ndarray], config: TICLConfig) -> np.ndarray:
    """Rows of the event's HGCAL hits (of one endcap when ``config.z_sign`` is ±1)."""
    sub = event["hit_subdetector"]
    keep = np.isin(sub, (CE_E, CE_H_SI, CE_H_SCINT))
    if config.z_sign:
        keep &= np.sign(event["hit_z"]) == config.z_sign
    return np.flatnonzero(keep)


def layer_clusters(
    event: dict[str, np.ndarray], rows: np.ndarray, noise: np.ndarray, config: TICLConfig
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """CLUE on the hits ``rows``: the ``lc_*`` arrays and the layer cluster of every hit (−1: none)."""
    sub = event["hit_subdetector"][rows]
    layer = event["hit_layer"][rows].astype(np.int64) + np.where(sub == CE_E, 0, config.ce_e_layers)
    x, y, z = (event[f"hit_{k}"][rows].astype(np.float64) for k in ("x", "y", "z"))
    scint = sub == CE_H_SCINT
    dc = np.where(scint, config.dc_scintillator * np.hypot(x, y), config.dc_silicon)
    key = (layer * 2 + scint) * 2 + (z > 0)
    label = clue(
        x,
        y,
        key,
        event["hit_energy"][rows],
        noise=noise[rows],
        dc=dc,
        kappa=config.kappa,
        outlier_factor=config.outlier_factor,
    )
    hits = {"x": x, "y": y, "z": z, "energy": event["hit_energy"][rows], "time": event["hit_time"][rows]}
    lc = layer_cluster_properties(
        hits | {"layer": layer},
        label,
        w0=config.w0,
        time_min_energy=config.time_min_energy,
        time_min_hits=config.time_min_hits,
    )
    hit_lc = np.full(len(event["hit_energy"]), -1, dtype=np.int64)
    hit_lc[rows] = label
    return lc, hit_lc


def reconstruct(
    event: dict[str, np.ndarray], config: TICLConfig, *, noise: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """The TICL event of a calorimeter event (``noise``: σ of every hit's cell, GeV); deterministic for
    ``seed`` (which only draws the particle-type probabilities)."""
    rows = hgcal_hits(event, config)
    lc, hit_lc = layer_clusters(event, rows, noise, config)
    usable = lc["lc_n_hits"] >= config.min_lc_hits
    lc_trackster = np.full(len(usable), -1, dtype=np.int64)
    sel = np.flatnonzero(usable)
    lc_trackster[sel] = clue3d(
        np.stack([lc[f"lc_{k}"][sel] for k in ("x", "y", "z")], 1),
        lc["lc_layer"][sel],
        lc["lc_energy"][sel],
        config.clue3d,
    )
    tracksters = trackster_properties(lc, lc_trackster, em_layers=config.ce_e_layers)
    sims, contrib_sim, fraction = sim_particles(event)
    hit_trackster = np.where(hit_lc >= 0, lc_trackster[np.maximum(hit_lc, 0)], -1)
    n_t = len(tracksters["trackster_raw_energy"])
    assoc = associate(
        hit_trackster,
        event["hit_energy"],
        event["hit_contrib_ptr"],
        contrib_sim,
        fraction,
        n_sim=len(sims["sim_gen_row"]),
        n_tracksters=n_t,
    )
    best, _ = best_association(
        assoc["trackster_sim_ptr"],
        assoc["trackster_sim_index"],
        assoc["trackster_sim_score"],
        assoc["trackster_sim_shared_energy"],
        max_score=1.0,
    )
    gen_rows = sims["sim_gen_row"][np.maximum(best, 0)]
    types = np.where(best >= 0, particle_type(event["gen_pdg"][gen_rows], event["gen_charge"][gen_rows]), -1)
    rng = np.random.default_rng(seed)
    tracksters["trackster_id_probabilities"] = smeared_probabilities(types, config.id_sharpness, rng)
    return lc | tracksters | assoc | sims
