"""Calorimeter events: generator particles, hits with truth contributions, subdetectors, tracks,
clusters, and the particle types a calorimeter reconstruction names."""

from __future__ import annotations

from typing import Any

import numpy as np

from src.event_model.core import Collection, _fields

# --------------------------------------------------------------------------- calorimeter events
# A calorimeter event is a flat dict of arrays (cached like every event), its keys prefixed by collection:
# ``gen_*`` (generator-level particles), ``hit_*`` (calorimeter hits, with truth contributions),
# ``track_*`` (reconstructed tracks), optionally ``cluster_*`` (a reconstruction's clusters). Units are
# EDM4hep's: mm, GeV, ns. Simulated events (src.sim) and real EDM4hep files (src.io.edm4hep) give the same
# keys; a file that lacks a collection (no contributions, no tracks) gives empty arrays for it and says so.

#: Generator-level particles, one row each (EDM4hep MCParticle): what the calorimeter truth points at.
GEN_PARTICLES = Collection(
    name="generator particles",
    fields=_fields(
        gen_pdg="int32, PDG id (src: the particle package names it)",
        gen_charge="float32, electric charge (e)",
        gen_status="int8, 1: final state of the generator, 2: decayed by the generator, 0: made by the "
        "simulation (decays in flight, conversions)",
        gen_mass="float64, GeV",
        gen_px="float64, GeV",
        gen_py="float64, GeV",
        gen_pz="float64, GeV",
        gen_energy="float64, GeV",
        gen_vx="float64, production vertex (mm)",
        gen_vy="float64, mm",
        gen_vz="float64, mm",
        gen_time="float64, production time (ns)",
        gen_parent="int32, row of the parent particle, -1 for none",
        gen_calo_entry="int32, row of the particle the calorimeter truth assigns this one to (itself when it "
        "entered the calorimeter; its ancestor that entered when it was made inside), -1 for none",
    ),
    truth="gen_parent",
    first_particle=0,
)

#: Generator-level fields an event has only when interactions are overlaid (src.sim.pileup.overlay); an
#: event without them is all signal.
GEN_ORIGIN_FIELDS = _fields(
    gen_interaction="int16, the interaction the particle comes from: 0 the signal (hard scatter or gun), "
    "k >= 1 the k-th overlaid pileup interaction",
)

#: Calorimeter hits (EDM4hep CalorimeterHit / SimCalorimeterHit), one row each, with their truth: the
#: energy each generator particle deposited in the hit, CSR-encoded (hit i's contributions are rows
#: ``hit_contrib_ptr[i]:hit_contrib_ptr[i + 1]`` of ``hit_contrib_*``).
CALO_HITS = Collection(
    name="calorimeter hits",
    fields=_fields(
        hit_cell="int64, cell id (unique per detector cell)",
        hit_x="float32, cell position (mm)",
        hit_y="float32, mm",
        hit_z="float32, mm",
        hit_energy="float32, calibrated energy (GeV): deposited energy / sampling fraction",
        hit_time="float32, ns",
        hit_subdetector="int8, SUBDETECTORS index",
        hit_layer="int16, layer within the subdetector (0 = innermost)",
        hit_particle="int32, gen row that deposited most of the hit's energy, -1 for noise",
        hit_contrib_ptr="int64 [n_hits + 1], CSR offsets of the contributions",
        hit_contrib_particle="int32, gen row of each contribution",
        hit_contrib_energy="float32, calibrated energy of each contribution (GeV)",
    ),
    truth="hit_particle",
    first_particle=0,
)

#: Subdetectors of calorimeter hits (``hit_subdetector``).
SUBDETECTORS: tuple[str, ...] = (
    "ecal_barrel",
    "ecal_endcap",
    "hcal_barrel",
    "hcal_endcap",
    "hgcal_ce_e",
    "hgcal_ce_h_si",
    "hgcal_ce_h_scint",
    "other",
)

#: Reconstructed tracks (for particle flow: the 16 CLIC track features derive from these), one row each.
TRACKS = Collection(
    name="tracks",
    fields=_fields(
        track_particle="int32, gen row of the particle that made the track, -1 for a fake",
        track_charge="int8, e",
        track_pt="float32, GeV",
        track_eta="float32",
        track_phi="float32, rad",
        track_p="float32, GeV",
        track_chi2="float32",
        track_ndf="int16",
        track_dedx="float32, GeV/mm",
        track_dedx_error="float32",
        track_inner_radius="float32, radius of the innermost hit (mm)",
        track_tan_lambda="float32",
        track_d0="float32, mm",
        track_omega="float32, signed curvature (1/mm)",
        track_z0="float32, mm",
        track_time="float32, ns",
        track_calo_x="float32, the helix at the calorimeter entrance (mm)",
        track_calo_y="float32, mm",
        track_calo_z="float32, mm",
    ),
    truth="track_particle",
    first_particle=0,
)

#: Clusters of calorimeter hits (ours: src.reco topological clustering; real files: e.g. PandoraClusters),
#: with ``hit_cluster`` (int32 per hit, -1 for none) giving membership.
CLUSTERS = Collection(
    name="calorimeter clusters",
    fields=_fields(
        cluster_energy="float32, GeV",
        cluster_x="float32, energy-weighted position (mm)",
        cluster_y="float32, mm",
        cluster_z="float32, mm",
        cluster_energy_ecal="float32, GeV",
        cluster_energy_hcal="float32, GeV",
        cluster_energy_other="float32, GeV",
        cluster_n_hits="int32",
        cluster_sigma_x="float32, energy-weighted spread (mm)",
        cluster_sigma_y="float32, mm",
        cluster_sigma_z="float32, mm",
        cluster_particle="int32, gen row sharing most energy with the cluster, -1 for none",
    ),
    truth="cluster_particle",
    first_particle=0,
)


#: The particle types a calorimeter reconstruction names (the ILC hit-clustering study's classes: γ, K0S,
#: K0L, K±, μ±, p, n, π±, e± and antiparticles), as (name, PDG id); every other PDG id is "other".
CALO_PARTICLE_TYPES: tuple[tuple[str, int], ...] = (
    ("gamma", 22),
    ("e-", 11),
    ("e+", -11),
    ("mu-", 13),
    ("mu+", -13),
    ("pi+", 211),
    ("pi-", -211),
    ("K+", 321),
    ("K-", -321),
    ("K0L", 130),
    ("K0S", 310),
    ("p", 2212),
    ("pbar", -2212),
    ("n", 2112),
    ("nbar", -2112),
    ("other", 0),
)
#: Names of the classes of :data:`CALO_PARTICLE_TYPES`, in class-index order.
CALO_TYPE_NAMES: tuple[str, ...] = tuple(name for name, _ in CALO_PARTICLE_TYPES)


def calo_particle_type(pdg: Any) -> np.ndarray:
    """Class index in :data:`CALO_PARTICLE_TYPES` of each PDG id (the last class, "other", for the rest)."""
    pdg = np.asarray(pdg, dtype=np.int64)
    codes = np.array([code for _, code in CALO_PARTICLE_TYPES[:-1]], dtype=np.int64)
    match = pdg[..., None] == codes
    return np.where(match.any(-1), match.argmax(-1), len(codes)).astype(np.int64)
