"""The event model: every collection an event can hold, declared once — its fields, units and how it marks
objects that belong to no particle (fakes and noise) — and the description of a view's inputs that
backbones are built from.

Readers (:mod:`src.io`), sources and views (:mod:`src.data`) and the evaluation use these declarations;
this module imports nothing of the project, so every layer may import it.

Line segments (``LS``): column order and meaning follow the HEPT-CMS study's ntuple processing exactly,
so a model trained on simulated events reads real ones and back. Per LS, with A = anchor (inner)
mini-doublet, E = end (outer) mini-doublet, and each mini-doublet (MD) made of a lower hit ``0`` and an
upper hit ``1``:

====  ==================  ===================================================================
col   name                meaning
====  ==================  ===================================================================
0     ``LS_phi``          LS azimuth (rad)
1     ``LS_eta``          LS pseudorapidity
2     ``LS_pt``           LS transverse-momentum estimate from its bending (GeV)
3-6   ``r, x, y, z``      centre: mean of the 4 hits A0, A1, E0, E1 (cm)
7     ``MD_dphichange``   mean of the two MDs' Δφ-change (angle of MD direction vs. position)
8-11  ``dr0..dz0``        E0 − A0 (lower hits of the two MDs)
12    ``ddphichange``     Δφ-change(E) − Δφ-change(A)
13-16 ``dr1..dz1``        E1 − A1 (upper hits of the two MDs)
17-20 ``drLS..dzLS``      ½[(A0 + E0) − (A1 + E1)]: mean (lower − upper) hit offset of the MDs
21    ``layer_anchor``    LST layer of A (1-6 barrel, 7-11 endcap disks)
22    ``layer_end``       LST layer of E
====  ==================  ===================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

LS_FEATURE_NAMES: tuple[str, ...] = (
    "LS_phi", "LS_eta", "LS_pt",
    "r", "x", "y", "z", "MD_dphichange",
    "dr0", "dx0", "dy0", "dz0", "ddphichange",
    "dr1", "dx1", "dy1", "dz1",
    "drLS", "dxLS", "dyLS", "dzLS",
    "layer_anchor", "layer_end",
)  # fmt: skip
N_LS_FEATURES = len(LS_FEATURE_NAMES)
assert N_LS_FEATURES == 23

#: Truth arrays every LS event carries next to ``x`` (one entry per LS).
LS_TRUTH_FIELDS: tuple[str, ...] = ("particle_id", "sim_pt", "sim_eta", "track_length")


def ls_feature_matrix(
    hits: np.ndarray, dphichange: np.ndarray, layers: np.ndarray, phi_eta_pt: np.ndarray
) -> np.ndarray:
    """The 23 LS features (float32 [n, 23]) from the four hits of each LS.

    ``hits`` [n, 4, 4]: hits A0, A1, E0, E1 (anchor MD lower and upper, end MD lower and upper), each
    (r, x, y, z) in cm; ``dphichange`` [n, 2] of the anchor and end MD; ``layers`` [n, 2] their LST layers;
    ``phi_eta_pt`` [n, 3] the LS's ``LS_phi, LS_eta, LS_pt``. The simulation (:mod:`src.reco.ls_features`)
    and the LST ntuple reader (:mod:`src.io.lst_ntuple`) both compute the columns here, in float64.
    """
    hits = np.asarray(hits, dtype=np.float64)
    a0, a1, e0, e1 = (hits[:, k] for k in range(4))
    dpc_a, dpc_e = np.asarray(dphichange, dtype=np.float64).T
    cols = [
        np.asarray(phi_eta_pt, dtype=np.float64),
        hits[..., 0].mean(axis=1),
        hits[..., 1:].mean(axis=1),
        0.5 * (dpc_a + dpc_e),
        e0 - a0,
        dpc_e - dpc_a,
        e1 - a1,
        0.5 * ((a0[:, 0] + e0[:, 0]) - a1[:, 0] - e1[:, 0]),
        0.5 * ((a0[:, 1:] + e0[:, 1:]) - (a1[:, 1:] + e1[:, 1:])),
        np.asarray(layers, dtype=np.float64),
    ]
    return np.column_stack(cols).astype(np.float32)


@dataclass(frozen=True)
class Collection:
    """One kind of object of an event: its fields (name → unit and meaning) and its truth convention.

    ``truth`` names the field holding the particle of each object; objects with ``truth < first_particle``
    belong to no particle (a fake line segment, a noise hit). Ids at or above it are particles, and which
    particle an id denotes is only meaningful within one event.
    """

    name: str
    fields: MappingProxyType
    truth: str
    first_particle: int

    def no_particle(self, ids: Any) -> np.ndarray:
        """Boolean mask of the objects that belong to no particle, from their truth ids."""
        return np.asarray(ids) < self.first_particle

    def describe(self) -> str:
        """One paragraph: the collection, its convention and its fields."""
        fields = "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        return f"{self.name} (no particle: {self.truth} < {self.first_particle}) — {fields}"


def _fields(**kw: str) -> MappingProxyType:
    return MappingProxyType(dict(kw))


#: CMS LST line segments (real HEPT-CMS events and the simulation alike): −1 is a fake; 0 is a real
#: track on real events (track ids start at 0 there).
LS = Collection(
    name="line segments",
    fields=_fields(
        x="float32 [N, 23], the LST features of LS_FEATURE_NAMES (cm, GeV, rad)",
        particle_id="int64, simulated track (>= 0) or -1 for a fake",
        sim_pt="float32, simulated pT of the track (GeV); NaN for fakes and on real events",
        sim_eta="float32, simulated eta of the track; NaN for fakes and on real events",
        track_length="int64, LS of the same track in the event (0 for fakes)",
    ),
    truth="particle_id",
    first_particle=0,
)

#: Tracker hits in TrackML's convention (the TrackML files and the simulation's hit events): particle
#: id 0 is a noise hit.
HITS = Collection(
    name="tracker hits",
    fields=_fields(
        hit_pos="float64 [N, 3], measured position (mm)",
        particle_id="int64, the particle that made the hit (> 0) or 0 for noise",
        truth_pos="float64 [N, 3], true position on the particle's path (mm)",
        truth_mom="float64 [N, 3], the particle's momentum at the hit (GeV)",
        weight="float64, the TrackML score weight of the hit",
        particle_vertex="float64 [N, 3], production vertex of the hit's particle (mm)",
        particle_mom="float64 [N, 3], momentum of the hit's particle at its vertex (GeV)",
        particle_q="int64, charge of the hit's particle",
        volume_id="int64, TrackML volume",
        layer_id="int64, TrackML layer",
        module_id="int64, module",
    ),
    truth="particle_id",
    first_particle=1,
)


@dataclass(frozen=True)
class InputSpec:
    """What a view gives a backbone, described once: the backbone is built from this and nothing else.

    ``feature_names`` are the columns of ``x``; ``coords`` the locality coordinates in ``coords`` with
    ``periodic`` flags (angles in radians wrap); ``links`` the (start, end) coordinate columns of objects
    that have two ends (line segments), else None; ``object_types`` the number of kinds of objects mixed
    in one event (e.g. tracks and clusters): with more than one, column 0 of ``x`` holds each object's
    type, 1..object_types, and reaches the backbone unnormalised; ``edge_features`` the width of
    ``edge_attr`` (0: no edges).
    """

    feature_names: tuple[str, ...]
    coords: tuple[str, ...]
    periodic: tuple[bool, ...]
    links: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    object_types: int = 1
    edge_features: int = 0

    def __post_init__(self) -> None:
        if len(self.periodic) < len(self.coords):
            raise ValueError(f"periodic has {len(self.periodic)} flags for {len(self.coords)} coordinates")
        if not self.feature_names:
            raise ValueError("a view must give at least one feature")

    @property
    def num_features(self) -> int:
        """Width of ``x``."""
        return len(self.feature_names)

    @property
    def coords_dim(self) -> int:
        """Width of ``coords`` (the named coordinates and, with links, the link columns)."""
        return len(self.periodic)


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


# --------------------------------------------------------------------------- TICL (HGCAL trackster linking)
# The reconstruction of an HGCAL event as CMS TICL sees it, a flat dict of arrays like the calorimeter event:
# layer clusters (``lc_*``), tracksters (``trackster_*``: 3-D clusters of layer clusters) and the simulated
# particles that deposited energy (``sim_*``, CMS's CaloParticles), with the reco-to-sim association. Our
# reconstruction (src.reco.ticl) and the ticlDumper ntuples (src.io.ticl_dumper) give the same keys.

#: Particle classes of TICL's trackster identification (``trackster_id_probabilities`` columns).
PARTICLE_TYPES: tuple[str, ...] = (
    "photon",
    "electron",
    "muon",
    "neutral_pion",
    "charged_hadron",
    "neutral_hadron",
)

#: Node features of a trackster, in the order of the TICL linking study (its ``node_feature_keys``).
TRACKSTER_FEATURE_NAMES: tuple[str, ...] = (
    "barycenter_x", "barycenter_y", "barycenter_z", "barycenter_eta", "barycenter_phi",
    "eVector0_x", "eVector0_y", "eVector0_z", "EV1", "EV2", "EV3",
    "sigmaPCA1", "sigmaPCA2", "sigmaPCA3", "num_LCs", "num_hits", "raw_energy", "raw_em_energy",
    *(f"{t}_prob" for t in PARTICLE_TYPES),
    "z_min", "z_max", "LC_density", "trackster_density", "time",
)  # fmt: skip
assert len(TRACKSTER_FEATURE_NAMES) == 29

#: Features of a candidate link from an inner trackster i to an outer one j (src.reco.ticl_graph): the
#: study's five (|ΔE_raw|, |Δz| and transverse distance of the barycentres, angle between the principal
#: axes, |Δt|, −1 where either time is absent) and two geometric compatibilities of ours: the transverse
#: distance at z_j between i's principal axis and j's barycentre (``miss_distance``), and the angle between
#: i's axis and the line from i's barycentre to j's (``pointing_angle``).
LINK_FEATURE_NAMES: tuple[str, ...] = (
    "delta_raw_energy",
    "delta_z",
    "delta_xy",
    "axis_angle",
    "delta_time",
    "miss_distance",
    "pointing_angle",
)

#: The value of a trackster's or layer cluster's time when it has none (ticlDumper's convention).
NO_TIME = -99.0

#: HGCAL layer clusters (CLUE), one row each (no truth of their own: the tracksters carry it);
#: ``lc_layer`` counts CE-E then CE-H layers of one endcap.
LAYER_CLUSTER_FIELDS = _fields(
    lc_x="float32, position (mm)",
    lc_y="float32, mm",
    lc_z="float32, mm",
    lc_energy="float32, GeV",
    lc_time="float32, ns (NO_TIME when none)",
    lc_layer="int16, HGCAL layer of the endcap (0 = first CE-E layer)",
    lc_n_hits="int32",
)

#: Tracksters, one row each, with their layer clusters (CSR ``trackster_lc_ptr`` / ``trackster_lc_index``,
#: ticlDumper's vertices_indexes) and their reco-to-sim association (CSR ``trackster_sim_ptr`` over
#: ``trackster_sim_index`` (rows of ``sim_*``), ``trackster_sim_score`` (TICL's score, 0 = pure) and
#: ``trackster_sim_shared_energy`` (GeV)).
TRACKSTERS = Collection(
    name="tracksters",
    fields=_fields(
        trackster_barycenter_x="float32, energy-weighted position of the layer clusters (mm)",
        trackster_barycenter_y="float32, mm",
        trackster_barycenter_z="float32, mm",
        trackster_barycenter_eta="float32",
        trackster_barycenter_phi="float32, rad",
        trackster_eVector0_x="float32, principal axis (unit vector, pointing away from the vertex)",
        trackster_eVector0_y="float32",
        trackster_eVector0_z="float32",
        trackster_EV1="float32, eigenvalues of the energy-weighted covariance (mm^2), largest first",
        trackster_EV2="float32, mm^2",
        trackster_EV3="float32, mm^2",
        trackster_sigmaPCA1="float32, spreads along the principal axes (mm)",
        trackster_sigmaPCA2="float32, mm",
        trackster_sigmaPCA3="float32, mm",
        trackster_raw_energy="float32, sum of the layer-cluster energies (GeV)",
        trackster_raw_em_energy="float32, the part in CE-E layers (GeV)",
        trackster_time="float32, ns (NO_TIME when none)",
        trackster_id_probabilities="float32 [T, 6], probabilities of PARTICLE_TYPES",
        trackster_lc_ptr="int64 [T + 1]",
        trackster_lc_index="int32, rows of lc_*",
        trackster_sim_ptr="int64 [T + 1]",
        trackster_sim_index="int32, rows of sim_*",
        trackster_sim_score="float32",
        trackster_sim_shared_energy="float32, GeV",
    ),
    truth="trackster_sim_index",
    first_particle=0,
)

#: Simulated particles that deposited energy in the calorimeter (CMS CaloParticles / simtrackstersCP).
SIM_PARTICLES = Collection(
    name="simulated particles",
    fields=_fields(
        sim_gen_row="int32, row of the generator particle (-1 when read from a file)",
        sim_pdg="int32, PDG id",
        sim_charge="float32, e",
        sim_energy="float32, generated energy (GeV)",
        sim_deposited_energy="float32, calibrated energy of its hits (GeV)",
        sim_eta="float32, of the momentum",
        sim_phi="float32, rad",
        sim_interaction="int16, 0 signal, k >= 1 the k-th pileup interaction (GEN_ORIGIN_FIELDS)",
    ),
    truth="sim_gen_row",
    first_particle=0,
)

# --------------------------------------------------------------------------- particle flow
# PF elements and target particles in the definitions of the MLPF CLIC dataset, so that real CLIC files
# (dataset=clic_pf) and our simulation read alike. Element type (column 0): 1 = track, 2 = cluster.

#: Element type codes (column 0 of every element row).
PF_ELEMENT_TYPES: MappingProxyType = MappingProxyType({"track": 1, "cluster": 2})

#: The 16 track-element features (GeV, mm, ns; η, φ of the track at the perigee).
PF_TRACK_FEATURES: tuple[str, ...] = (
    "elemtype", "pt", "eta", "sin_phi", "cos_phi", "p", "chi2", "ndf", "dEdx", "dEdxError",
    "radiusOfInnermostHit", "tanLambda", "D0", "omega", "Z0", "time",
)  # fmt: skip
#: The 17 cluster-element features (GeV, mm; η, φ, iTheta of the cluster position; σ: energy-weighted
#: spreads of the cluster's hits).
PF_CLUSTER_FEATURES: tuple[str, ...] = (
    "elemtype", "et", "eta", "sin_phi", "cos_phi", "energy", "position.x", "position.y", "position.z",
    "iTheta", "energy_ecal", "energy_hcal", "energy_other", "num_hits", "sigma_x", "sigma_y", "sigma_z",
)  # fmt: skip
assert len(PF_TRACK_FEATURES) == 16 and len(PF_CLUSTER_FEATURES) == 17
#: Width of an element row once tracks are zero-padded to the clusters' width.
PF_ELEMENT_WIDTH = max(len(PF_TRACK_FEATURES), len(PF_CLUSTER_FEATURES))

#: Particle classes of the targets and predictions; index = class id, with the PDG code the CLIC files
#: write for it (0: no particle on this element).
PF_CLASSES: tuple[str, ...] = ("none", "charged_hadron", "neutral_hadron", "photon", "electron", "muon")
PF_CLASS_PDG: tuple[int, ...] = (0, 211, 130, 22, 11, 13)

#: Columns of a particle row (``ytarget_*``, ``ycand_*``), those of the CLIC files: the class as its PDG
#: code, then the kinematics; the bookkeeping columns after ``energy`` are written as the files have them.
PF_PARTICLE_FEATURES: tuple[str, ...] = (
    "PDG", "charge", "pt", "eta", "sin_phi", "cos_phi", "energy", "ispu", "generatorStatus",
    "simulatorStatus", "gp_to_track", "gp_to_cluster", "jet_idx", "particle_number",
)  # fmt: skip
#: Leading particle columns every reader needs (older CLIC files stop after 13 columns).
PF_PARTICLE_KINEMATICS = 7

#: One PF event in the CLIC dataset's layout (:mod:`src.io.clic_pf` reads and writes it): elements,
#: one target particle and one rule-based PF candidate per element (zero rows: none), generator jets
#: (pt, eta, phi, energy) and the generator MET.
CLIC_PF_FIELDS = _fields(
    X_track="float32 [n, 16], PF_TRACK_FEATURES",
    X_cluster="float32 [m, 17], PF_CLUSTER_FEATURES",
    ytarget_track="float32 [n, 14], PF_PARTICLE_FEATURES of each track's target particle",
    ytarget_cluster="float32 [m, 14], of each cluster's target particle",
    ycand_track="float32 [n, 14], the rule-based PF's particle on each track",
    ycand_cluster="float32 [m, 14], the rule-based PF's particle on each cluster",
    genjet="float32 [k, 4], generator jets (pt GeV, eta, phi, energy GeV)",
    genmet="float32 [], generator missing transverse momentum (GeV)",
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
