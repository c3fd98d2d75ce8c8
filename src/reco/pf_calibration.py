"""Calibration of the rule-based PF on simulated events (training events only): the calorimeter's response
to photons and to neutral hadrons, and the track–cluster link distance.

* ``em_scale``: median of E_target / E_cluster over clusters whose target is a photon, that no track
  reaches and whose ECAL fraction makes them electromagnetic;
* ``hadron_ecal_scale``, ``hadron_hcal_scale``: least squares E_target ≈ a·E_ECAL + b·E_HCAL + E_other over
  the hadronic clusters (not electromagnetic) whose target is a neutral hadron and that no track reaches;
* ``link_dr``: of the candidate distances, the one that makes the most correct track–cluster links (the
  cluster's main particle is the track's) net of wrong ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from src.event_model import PF_CLASS_PDG, PF_CLASSES, PF_CLUSTER_FEATURES
from src.reco.pf_elements import cluster_elements, track_elements
from src.reco.pf_targets import TargetConfig, assign_targets
from src.reco.rule_based_pf import RuleBasedPF

_C = {n: i for i, n in enumerate(PF_CLUSTER_FEATURES)}
_PDG = dict(zip(PF_CLASSES, PF_CLASS_PDG, strict=True))
LINK_DR_CANDIDATES = (0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3)


def _link_score(pf: RuleBasedPF, event: Mapping[str, np.ndarray], clusters: np.ndarray) -> int:
    """Correct minus wrong links of an event's tracks."""
    link = pf.links(event, clusters)
    linked = link >= 0
    if not linked.any():
        return 0
    main = np.asarray(event["cluster_particle"])[link[linked]]
    correct = int((main == np.asarray(event["track_particle"])[linked]).sum())
    return correct - (int(linked.sum()) - correct)


def fit_calibration(
    events: Iterable[Mapping[str, np.ndarray]],
    base: RuleBasedPF,
    *,
    targets: TargetConfig | None = None,
    link_candidates: Sequence[float] = LINK_DR_CANDIDATES,
) -> tuple[RuleBasedPF, dict[str, float]]:
    """The rule-based PF with constants fitted on calorimeter ``events``, and a summary of the fit
    (fitted values and how many clusters each rests on)."""
    photons, hadrons, scores = [], [], np.zeros(len(link_candidates))
    for event in events:
        clusters = cluster_elements(event)
        if "track_pt" in event and len(track_elements(event)):
            for i, dr in enumerate(link_candidates):
                scores[i] += _link_score(dataclasses.replace(base, link_dr=dr), event, clusters)
        t = assign_targets(event, targets or TargetConfig())
        link = base.links(event, clusters)
        free = np.ones(len(clusters), dtype=bool)
        free[link[link >= 0]] = False
        _, em = base.calibrated_energy(clusters)
        cls = t.cluster[:, 0]
        for c in np.flatnonzero(free & em & (cls == _PDG["photon"])):
            photons.append((t.cluster[c, 6], clusters[c, _C["energy"]]))
        for c in np.flatnonzero(free & ~em & (cls == _PDG["neutral_hadron"])):
            hadrons.append(
                (t.cluster[c, 6], *clusters[c, [_C["energy_ecal"], _C["energy_hcal"], _C["energy_other"]]])
            )
    fitted: dict[str, float] = {"n_photon_clusters": len(photons), "n_hadron_clusters": len(hadrons)}
    if photons:
        e_true, e_cluster = np.asarray(photons).T
        fitted["em_scale"] = float(np.median(e_true / np.maximum(e_cluster, 1e-9)))
    if len(hadrons) >= 2:
        e_true, ecal, hcal, other = np.asarray(hadrons).T
        (a, b), *_ = np.linalg.lstsq(np.stack([ecal, hcal], axis=1), e_true - other, rcond=None)
        fitted["hadron_ecal_scale"], fitted["hadron_hcal_scale"] = float(a), float(b)
    if scores.any():
        fitted["link_dr"] = float(link_candidates[int(np.argmax(scores))])
    constants = {k: v for k, v in fitted.items() if not k.startswith("n_")}
    return dataclasses.replace(base, **constants), fitted
