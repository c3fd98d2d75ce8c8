"""Calibration of the rule-based PF on simulated events (training events only): the calorimeter's response
to photons and to neutral hadrons, then the constants that give the best jets.

1. **Response.** ``em_scale``: least squares E_target ≈ s·E_cluster over clusters whose target is a
   photon, that no track reaches and whose ECAL fraction makes them electromagnetic;
   ``hadron_ecal_scale``, ``hadron_hcal_scale``: non-negative least squares E_target ≈ a·E_ECAL + b·E_HCAL
   + E_other over the hadronic clusters whose target is a neutral hadron and that no track reaches.
2. **Jets.** From there, coordinate descent over ``GRID`` (each constant in turn, every value of its grid,
   two passes): the constants that give the PF's jets the smallest response IQR/median on the same
   training events (jets of ``jets`` matched to the generator jets within ΔR < 0.1). Cluster fragments
   and the resolution of the neutral excess make the per-cluster response fit alone a poor choice for
   jets; this step is what a hand-tuned PF does with its thresholds.
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
#: Values tried for each constant by the jet tuning.
GRID: dict[str, tuple[float, ...]] = {
    "link_dr": (0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2),
    "em_scale": (0.9, 1.0, 1.1, 1.2, 1.3, 1.4),
    "hadron_ecal_scale": (0.0, 0.3, 0.6, 0.8, 1.0, 1.2),
    "hadron_hcal_scale": (1.0, 1.15, 1.3, 1.45, 1.6, 1.8),
}


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
    grid: Mapping[str, Sequence[float]] | None = None,
    passes: int = 2,
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
    response = {k: v for k, v in fitted.items() if not k.startswith("n_")}
    pf = dataclasses.replace(base, **response)

    def resolution(candidate: RuleBasedPF) -> float:
        ratios = [r for event in events for r in _jet_ratios(candidate, event, jets or JetDefinition())]
        value = response_summary(ratios).iqr_over_median
        return value if np.isfinite(value) else np.inf

    best = resolution(pf)
    for _ in range(passes):
        for name, values in (grid or GRID).items():
            for value in values:
                candidate = dataclasses.replace(pf, **{name: value})
                score = resolution(candidate)
                if score < best:
                    pf, best = candidate, score
    fitted |= {f"response_{k}": v for k, v in response.items()}
    fitted |= {k: getattr(pf, k) for k in (grid or GRID)} | {"jet_iqr_over_median": best}
    return pf, fitted
