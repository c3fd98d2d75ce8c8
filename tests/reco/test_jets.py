"""Jet clustering with FastJet on hand-made particles: collinear particles join, distant ones do not, the pT
threshold, e+e− generalised kT and anti-kT, constituent indices; missing pT."""

from __future__ import annotations

import numpy as np
import pytest

from src.reco.jets import JetDefinition, cluster_jets, four_vectors, missing_pt


@pytest.mark.parametrize("algorithm", ["ee_genkt", "antikt"])
def test_collinear_particles_make_one_jet_and_a_distant_one_another(algorithm: str) -> None:
    # two particles 0.1 apart in phi at eta 0 (20 + 10 GeV) and one at phi = pi (15 GeV); a 2 GeV one alone
    p4 = four_vectors(
        [20.0, 10.0, 15.0, 2.0],
        [0.0, 0.0, 0.0, 1.5],
        [0.0, 0.1, np.pi, 1.5],
        [20.0, 10.0, 15.0, 2.0 * np.cosh(1.5)],
    )
    jets, index = cluster_jets(p4, JetDefinition(algorithm=algorithm))
    assert len(jets) == 2  # the 2 GeV particle's jet is below 5 GeV
    assert jets[0, 0] == pytest.approx(np.hypot(20 + 10 * np.cos(0.1), 10 * np.sin(0.1)), rel=1e-9)
    assert jets[0, 3] == pytest.approx(30.0)
    assert jets[1, 0] == pytest.approx(15.0) and abs(jets[1, 2]) == pytest.approx(np.pi)
    assert index.tolist() == [0, 0, 1, -1]


def test_radius_separates_particles_beyond_it() -> None:
    p4 = four_vectors([20.0, 10.0], [0.0, 0.0], [0.0, 0.5], [20.0, 10.0])
    assert len(cluster_jets(p4, JetDefinition(algorithm="antikt", radius=0.4))[0]) == 2
    assert len(cluster_jets(p4, JetDefinition(algorithm="antikt", radius=0.8))[0]) == 1


def test_no_particles_and_bad_definitions() -> None:
    jets, index = cluster_jets(np.zeros((0, 4)))
    assert jets.shape == (0, 4) and index.shape == (0,)
    with pytest.raises(ValueError, match="allowed"):
        JetDefinition(algorithm="kt")


def test_missing_pt_is_the_magnitude_of_the_vector_sum() -> None:
    p4 = four_vectors([10.0, 10.0, 5.0], [0.0, 0.0, 0.0], [0.0, np.pi, np.pi / 2], [10.0, 10.0, 5.0])
    assert missing_pt(p4) == pytest.approx(5.0)
    assert missing_pt(np.zeros((0, 4))) == 0.0
