"""The particle-flow test stage: predictions equal to the targets score exactly as the targets (class
efficiency 1, fake rate 0, the same jets and MET); an empty prediction matches no jet; the metric keys of
the issue exist under test/ and baseline/; files and plots are written."""

from __future__ import annotations

import math

import numpy as np
import pytest

from src.data.cache import to_tensors
from src.data.pf import PFView
from src.evaluation.particle_flow import ParticleFlowEvaluation
from src.event_model import PF_CLASSES
from src.reco.jets import JetDefinition
from src.reco.pf_targets import TargetConfig
from src.reco.rule_based_pf import RuleBasedPF
from tests.calo_events import synthetic_calo_event

KEYS = {
    f"{prefix}{name}"
    for prefix in ("test/", "baseline/")
    for name in (
        "jet_iqr_over_median",
        "jet_response_median",
        "met_iqr_over_median",
        "met_response_median",
        "jet_iqr_over_median_pt10-20",
        *(f"{kind}_{c}" for kind in ("eff", "fake") for c in PF_CLASSES[1:]),
        "photon_eff",
        "photon_energy_response_median",
    )
} | {"test/target_jet_iqr_over_median", "test/photon_cluster_energy_response_median"}


@pytest.fixture(scope="module")
def events() -> list[dict[str, np.ndarray]]:
    view = PFView(baseline=RuleBasedPF(), jets=JetDefinition(), targets=TargetConfig())
    out = []
    for i in range(6):
        data = view(to_tensors(synthetic_calo_event(i, n_particles=40)))
        out.append({k: v.numpy() for k, v in data.to_dict().items() if hasattr(v, "numpy")})
    return out


def test_perfect_predictions_score_as_the_targets(events, tmp_path) -> None:
    evaluation = ParticleFlowEvaluation(jets=JetDefinition())
    for a in events:
        evaluation.add_event(a, a["y_class"], a["y_p4"])
    m = evaluation.metrics()
    assert m.keys() >= KEYS
    assert m["test/n_events"] == 6
    for c in ("charged_hadron", "photon", "neutral_hadron"):
        assert m[f"test/eff_{c}"] == 1.0 and m[f"test/fake_{c}"] == 0.0
        assert m[f"test/energy_{c}_response_median"] == pytest.approx(1.0)
    for name in ("jet_response_median", "jet_iqr_over_median", "met_response_median", "n_matched_jets"):
        assert m[f"test/{name}"] == pytest.approx(m[f"test/target_{name}"]), name
    assert m["test/n_matched_jets"] > 10
    assert 0.0 <= m["baseline/eff_charged_hadron"] <= 1.0
    evaluation.write(tmp_path)
    for name in ("jets.csv", "met.csv", "photons.csv", "plots/jet_response.png", "plots/met_response.png",
                 "plots/jet_resolution_vs_pt.png"):  # fmt: skip
        assert (tmp_path / name).is_file(), name


def test_no_predicted_particles_match_no_jet(events) -> None:
    evaluation = ParticleFlowEvaluation(jets=JetDefinition())
    for a in events:
        evaluation.add_event(a, np.zeros_like(a["y_class"]), np.zeros_like(a["y_p4"]))
    m = evaluation.metrics()
    assert m["test/n_matched_jets"] == 0 and math.isnan(m["test/jet_response_median"])
    assert m["test/met_response_median"] == 0.0  # nothing reconstructed: no missing pT either
    assert m["test/eff_charged_hadron"] == 0.0 and math.isnan(m["test/fake_charged_hadron"])
    assert m["test/photon_eff"] == 0.0
    assert ParticleFlowEvaluation(jets=JetDefinition()).metrics() == {}


def test_bins_must_increase() -> None:
    with pytest.raises(ValueError, match="pt_bins"):
        ParticleFlowEvaluation(jets=JetDefinition(), pt_bins=[20.0, 10.0])
