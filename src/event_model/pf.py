"""Particle flow: PF elements and target particles in the MLPF CLIC dataset's definitions."""

from __future__ import annotations

from types import MappingProxyType

from src.event_model.core import _fields

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
