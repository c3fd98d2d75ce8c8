"""The rule-based PF's calibration recovers the synthetic calorimeter's response: photons at 1, hadrons at
0.8 (so calibrated neutral-hadron energies come back to the truth), and a link distance that links tracks
to their own clusters."""

from __future__ import annotations

import numpy as np
import pytest

from src.event_model import PF_CLUSTER_FEATURES
from src.reco.pf_calibration import fit_calibration
from src.reco.pf_elements import cluster_elements
from src.reco.pf_targets import assign_targets
from src.reco.rule_based_pf import RuleBasedPF
from tests.calo_events import synthetic_calo_event


def test_fitted_constants_undo_the_synthetic_response() -> None:
    train = [synthetic_calo_event(i, 40) for i in range(20)]
    pf, fit = fit_calibration(train, RuleBasedPF())
    assert fit["n_photon_clusters"] > 50 and fit["n_hadron_clusters"] > 50
    assert pf.em_scale == pytest.approx(1.0, abs=0.03)
    assert fit["link_dr"] <= 0.1
    # on other events, calibrated energies of neutral hadron clusters match their targets
    ratios, raw = [], []
    for seed in range(100, 110):
        event = synthetic_calo_event(seed, 40)
        clusters = cluster_elements(event)
        energy, em = pf.calibrated_energy(clusters)
        target = assign_targets(event).cluster
        hadrons = (target[:, 0] == 130) & ~em & (clusters[:, PF_CLUSTER_FEATURES.index("energy_ecal")] > 0)
        ratios.extend(energy[hadrons] / target[hadrons, 6])
        raw.extend(RuleBasedPF().calibrated_energy(clusters)[0][hadrons] / target[hadrons, 6])
    assert np.median(ratios) == pytest.approx(1.0, abs=0.05)
    assert np.median(raw) < 0.9  # uncalibrated: the 0.8 response
