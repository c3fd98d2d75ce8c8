"""A calorimeter event as one PF event in the MLPF CLIC dataset's layout (``CLIC_PF_FIELDS``): elements,
their target particles, the rule-based PF's candidates, generator jets and missing pT.

Clusters below ``min_cluster_energy`` are not elements (their hits count as clustered nowhere, for the
targets too): the clustering's noise and fragments, which would otherwise outnumber the particles'
clusters many times. Generator jets and MET are those of the generator's visible final state: status-1
particles other than neutrinos (a particle the detector simulation decayed in flight counts once, as
itself). The target particles' ``jet_idx`` is the index of their jet among the target jets (−1: in none)
and the extra field ``gen_visible`` [k, 5] keeps the visible generator particles (PDG id, px, py, pz, E)
for evaluations that look at single particles (photons of a particle gun).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from src.event_model import PF_PARTICLE_FEATURES
from src.reco.jets import JetDefinition, cluster_jets, four_vectors, missing_pt
from src.reco.pf_elements import cluster_elements, select_clusters, track_elements
from src.reco.pf_targets import NEUTRINOS, TargetConfig, assign_targets
from src.reco.rule_based_pf import RuleBasedPF

_P = {name: i for i, name in enumerate(PF_PARTICLE_FEATURES)}


def visible_generator_particles(event: Mapping[str, np.ndarray]) -> np.ndarray:
    """(PDG id, px, py, pz, E) [k, 5] of the status-1 generator particles other than neutrinos."""
    pdg = np.asarray(event["gen_pdg"], dtype=np.int64)
    keep = (np.asarray(event["gen_status"]) == 1) & ~np.isin(np.abs(pdg), NEUTRINOS)
    columns = [pdg] + [
        np.asarray(event[k], dtype=np.float64) for k in ("gen_px", "gen_py", "gen_pz", "gen_energy")
    ]
    return np.stack(columns, axis=1)[keep]


def particle_four_vectors(rows: np.ndarray) -> np.ndarray:
    """(px, py, pz, E) [n, 4] of PF_PARTICLE_FEATURES rows (all rows, particles or not)."""
    phi = np.arctan2(rows[:, _P["sin_phi"]], rows[:, _P["cos_phi"]])
    return four_vectors(rows[:, _P["pt"]], rows[:, _P["eta"]], phi, rows[:, _P["energy"]])


def target_jet_index(ytarget: np.ndarray, jets: JetDefinition) -> np.ndarray:
    """Jet index of each row's target particle among the target particles' jets (−1: none or no jet)."""
    index = np.full(len(ytarget), -1, dtype=np.float32)
    is_particle = ytarget[:, _P["PDG"]] != 0
    if is_particle.any():
        _, jet = cluster_jets(particle_four_vectors(ytarget[is_particle]), jets)
        index[is_particle] = jet
    return index


def pf_event(
    event: Mapping[str, np.ndarray],
    *,
    baseline: RuleBasedPF,
    jets: JetDefinition,
    targets: TargetConfig,
    min_cluster_energy: float = 0.0,
) -> dict[str, np.ndarray]:
    """The PF event (CLIC layout, float32 arrays) of a calorimeter event."""
    if min_cluster_energy > 0 and "cluster_energy" in event:
        event = select_clusters(event, np.asarray(event["cluster_energy"]) >= min_cluster_energy)
    x_track, x_cluster = track_elements(event), cluster_elements(event)
    assigned = assign_targets(event, targets)
    ycand_track, ycand_cluster = baseline(event, x_track, x_cluster)
    ytarget = np.concatenate([assigned.track, assigned.cluster])
    ytarget[:, _P["jet_idx"]] = target_jet_index(ytarget, jets)
    gen = visible_generator_particles(event)
    genjet, _ = cluster_jets(gen[:, 1:], jets)
    n = len(x_track)
    return {
        "X_track": x_track,
        "X_cluster": x_cluster,
        "ytarget_track": ytarget[:n],
        "ytarget_cluster": ytarget[n:],
        "ycand_track": ycand_track,
        "ycand_cluster": ycand_cluster,
        "genjet": genjet.astype(np.float32),
        "genmet": np.float32(missing_pt(gen[:, 1:])),
        "gen_visible": gen.astype(np.float32),
    }
