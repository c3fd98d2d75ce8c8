"""TICL events (CMS HGCAL trackster linking): layer clusters, tracksters, simulated particles."""

from __future__ import annotations

from src.event_model.core import Collection, _fields

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
