"""Calibration of the rule-based PF on simulated events (training events only): the calorimeter's response
to photons and to neutral hadrons, then the track–cluster link distance.

* ``em_scale``: least squares E_target ≈ s·E_cluster (so energetic photons weigh most, as in jets) over
  clusters whose target is a photon, that no track reaches and whose ECAL fraction makes them
  electromagnetic;
* ``hadron_ecal_scale``, ``hadron_hcal_scale``: non-negative least squares E_target ≈ a·E_ECAL + b·E_HCAL +
  E_other over the hadronic clusters (not electromagnetic) whose target is a neutral hadron and that no
  track reaches;
* ``link_dr``: of the candidate distances, the one that gives the calibrated PF the smallest jet response
  IQR/median on the same events (jets of ``jets`` matched to the generator jets within ΔR < 0.1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import nnls

from src.event_model import PF_CLASS_PDG, PF_CLASSES, PF_CLUSTER_FEATURES, PF_PARTICLE_FEATURES
from src.metrics.particle_flow import match_by_dr, response_summary
from src.reco.jets import JetDefinition, cluster_jets, four_vectors
from src.reco.pf_elements import cluster_elements, select_clusters, track_elements
from src.reco.pf_event import visible_generator_particles
from src.reco.pf_targets import TargetConfig, assign_targets
from src.reco.rule_based_pf import RuleBasedPF

_C = {n: i for i, n in enumerate(PF_CLUSTER_FEATURES)}
_P = {n: i for i, n in enumerate(PF_PARTICLE_FEATURES)}
_PDG = dict(zip(PF_CLASSES, PF_CLASS_PDG, strict=True))
LINK_DR_CANDIDATES = (0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3)


def _jet_ratios(pf: RuleBasedPF, event: Mapping[str, np.ndarray], jets: JetDefinition) -> list[float]:
    """Jet pT responses of the PF's particles against the generator jets of one event."""
    rows = np.concatenate(pf(event, track_elements(event), cluster_elements(event)))
    rows = rows[rows[:, _P["PDG"]] != 0]
    phi = np.arctan2(rows[:, _P["sin_phi"]], rows[:, _P["cos_phi"]])
    reco, _ = cluster_jets(
        four_vectors(rows[:, _P["pt"]], rows[:, _P["eta"]], phi, rows[:, _P["energy"]]), jets
    )
    gen, _ = cluster_jets(visible_generator_particles(event)[:, 1:], jets)
    g, r = match_by_dr(gen[:, 1], gen[:, 2], reco[:, 1], reco[:, 2], max_dr=0.1)
    return list(reco[r, 0] / gen[g, 0])


def fit_calibration(
    events: Sequence[Mapping[str, np.ndarray]],
    base: RuleBasedPF,
    *,
    targets: TargetConfig | None = None,
    jets: JetDefinition | None = None,
    min_cluster_energy: float = 0.0,
    link_candidates: Sequence[float] = LINK_DR_CANDIDATES,
) -> tuple[RuleBasedPF, dict[str, float]]:
    """The rule-based PF with constants fitted on calorimeter ``events`` (clusters below
    ``min_cluster_energy`` dropped first, as the PF view does), and a summary of the fit."""
    events = [
        select_clusters(e, np.asarray(e["cluster_energy"]) >= min_cluster_energy)
        if min_cluster_energy > 0
        else e
        for e in events
    ]
    photons, hadrons = [], []
    for event in events:
        clusters = cluster_elements(event)
        t = assign_targets(event, targets or TargetConfig())
        free = ~base.links(event, clusters).linked.any(axis=0)
        _, em = base.calibrated_energy(clusters)
        cls = t.cluster[:, _P["PDG"]]
        for c in np.flatnonzero(free & em & (cls == _PDG["photon"])):
            photons.append((t.cluster[c, _P["energy"]], clusters[c, _C["energy"]]))
        for c in np.flatnonzero(free & ~em & (cls == _PDG["neutral_hadron"])):
            parts = clusters[c, [_C["energy_ecal"], _C["energy_hcal"], _C["energy_other"]]]
            hadrons.append((t.cluster[c, _P["energy"]], *parts))
    fitted: dict[str, float] = {"n_photon_clusters": len(photons), "n_hadron_clusters": len(hadrons)}
    if photons:
        e_true, e_cluster = np.asarray(photons).T
        fitted["em_scale"] = float(np.dot(e_true, e_cluster) / max(np.dot(e_cluster, e_cluster), 1e-12))
    if len(hadrons) >= 2:
        e_true, ecal, hcal, other = np.asarray(hadrons).T
        (a, b), _ = nnls(np.stack([ecal, hcal], axis=1), e_true - other)
        fitted["hadron_ecal_scale"], fitted["hadron_hcal_scale"] = float(a), float(b)
    calibrated = dataclasses.replace(base, **{k: v for k, v in fitted.items() if not k.startswith("n_")})
    resolution = []
    for dr in link_candidates:
        pf = dataclasses.replace(calibrated, link_dr=dr)
        ratios = [r for event in events for r in _jet_ratios(pf, event, jets or JetDefinition())]
        resolution.append(response_summary(ratios).iqr_over_median)
    if np.isfinite(resolution).any():
        best = int(np.nanargmin(resolution))
        fitted["link_dr"], fitted["jet_iqr_over_median"] = float(link_candidates[best]), resolution[best]
        calibrated = dataclasses.replace(calibrated, link_dr=fitted["link_dr"])
    return calibrated, fitted
