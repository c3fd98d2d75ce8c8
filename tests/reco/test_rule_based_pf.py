"""The rule-based PF on hand-made elements: track–cluster links and blocks, electron and muon
identification, the neutral excess of a block beyond its tracks' momenta, unlinked clusters as photons or
neutral hadrons."""

from __future__ import annotations

import numpy as np
import pytest

from src.event_model import (
    PF_CLASS_PDG,
    PF_CLASSES,
    PF_CLUSTER_FEATURES,
    PF_PARTICLE_FEATURES,
    PF_TRACK_FEATURES,
)
from src.reco.rule_based_pf import RuleBasedPF
from tests.calo_events import UNIT_PF

PDG = dict(zip(PF_CLASSES, PF_CLASS_PDG, strict=True))
C = {n: i for i, n in enumerate(PF_CLUSTER_FEATURES)}
T = {n: i for i, n in enumerate(PF_TRACK_FEATURES)}
P = {n: i for i, n in enumerate(PF_PARTICLE_FEATURES)}


def _cluster(energy: float, ecal: float, eta: float, phi: float) -> np.ndarray:
    row = np.zeros(17)
    row[[C["elemtype"], C["energy"], C["energy_ecal"], C["energy_hcal"]]] = 2, energy, ecal, energy - ecal
    row[[C["eta"], C["sin_phi"], C["cos_phi"]]] = eta, np.sin(phi), np.cos(phi)
    return row


def _track(p: float, eta: float, phi: float, charge: float = 1.0) -> np.ndarray:
    row = np.zeros(16)
    row[[T["elemtype"], T["pt"], T["eta"], T["p"], T["omega"]]] = 1, p / np.cosh(eta), eta, p, charge * 1e-4
    row[[T["sin_phi"], T["cos_phi"]]] = np.sin(phi), np.cos(phi)
    return row


def _calo(eta: list[float], phi: list[float]) -> dict:
    r = 1500.0
    return {
        "track_pt": np.ones(len(eta)),
        "track_calo_x": r * np.cos(phi),
        "track_calo_y": r * np.sin(phi),
        "track_calo_z": r * np.sinh(eta),
    }


def test_each_rule() -> None:
    pf = RuleBasedPF(**UNIT_PF)
    tracks = np.stack([
        _track(10.0, 0.0, 0.0),       # pion into a hadronic cluster of 18 GeV: 8 GeV neutral hadron excess
        _track(8.0, 1.0, 1.0, -1.0),  # electron: alone in an EM cluster with E/p = 1
        _track(12.0, -1.0, 2.0),      # muon: alone in a 1.5 GeV cluster
        _track(5.0, 0.5, -2.0),       # reaches no cluster: charged hadron
    ])  # fmt: skip
    clusters = np.stack([
        _cluster(18.0, 4.0, 0.01, 0.01),
        _cluster(8.0, 7.9, 1.0, 1.0),
        _cluster(1.5, 0.2, -1.0, 2.0),
        _cluster(6.0, 5.8, -0.5, 2.8),  # unlinked EM: photon
        _cluster(0.3, 0.0, 0.3, -1.0),  # unlinked, below min_neutral_energy: nothing
    ])  # fmt: skip
    event = _calo([0.0, 1.0, -1.0, 0.5], [0.0, 1.0, 2.0, -2.0])
    cand_t, cand_c = pf(event, tracks, clusters)
    expected = [PDG["charged_hadron"], PDG["electron"], PDG["muon"], PDG["charged_hadron"]]
    assert cand_t[:, P["PDG"]].tolist() == expected
    assert cand_t[:, P["charge"]].tolist() == [1, -1, 1, 1]
    assert cand_t[0, P["energy"]] == pytest.approx(np.hypot(10.0, 0.13957), rel=1e-6)
    assert cand_c[:, P["PDG"]].tolist() == [PDG["neutral_hadron"], 0, 0, PDG["photon"], 0]
    assert cand_c[0, P["energy"]] == pytest.approx(8.0)
    assert cand_c[3, P["energy"]] == pytest.approx(6.0)
    assert cand_c[0, P["pt"]] == pytest.approx(8.0 / np.cosh(0.01), rel=1e-6)


def test_calibration_and_resolution_threshold() -> None:
    tracks = np.stack([_track(10.0, 0.0, 0.0)])
    clusters = np.stack([_cluster(11.0, 1.0, 0.0, 0.0)])
    event = _calo([0.0], [0.0])
    # raw 11 GeV against 10 GeV: 1 GeV excess < 0.5 sqrt(10) = 1.58 -> no neutral
    assert pf_neutrals(RuleBasedPF(**UNIT_PF), event, tracks, clusters) == [0]
    # an HCAL scale of 1.25 makes it 13.5 GeV: 3.5 GeV of neutral hadron
    calibrated = RuleBasedPF(**UNIT_PF | {"hadron_hcal_scale": 1.25})
    _, cand_c = calibrated(event, tracks, clusters)
    assert cand_c[0, P["energy"]] == pytest.approx(3.5)
    # link distance: a track 0.2 away in phi is not linked with link_dr=0.1 -> its cluster stands alone
    far = _calo([0.0], [0.2])
    _, cand_c = RuleBasedPF(**UNIT_PF)(far, tracks, clusters)
    assert cand_c[0, P["PDG"]] == PDG["neutral_hadron"] and cand_c[0, P["energy"]] == pytest.approx(11.0)


def pf_neutrals(pf: RuleBasedPF, event: dict, tracks: np.ndarray, clusters: np.ndarray) -> list[float]:
    return pf(event, tracks, clusters)[1][:, P["PDG"]].tolist()


def test_fragments_of_one_shower_form_one_block() -> None:
    # a 10 GeV pion whose shower split into two clusters (6 + 5 GeV) both within link_dr: one block, 1 GeV
    # excess < 0.5 sqrt(10): no neutral; with a tighter link the second fragment would become a neutral
    tracks = np.stack([_track(10.0, 0.0, 0.0)])
    clusters = np.stack([_cluster(6.0, 1.0, 0.0, 0.01), _cluster(5.0, 0.5, 0.05, -0.04)])
    event = _calo([0.0], [0.0])
    assert pf_neutrals(RuleBasedPF(**UNIT_PF | {"link_dr": 0.1}), event, tracks, clusters) == [0, 0]
    assert pf_neutrals(RuleBasedPF(**UNIT_PF | {"link_dr": 0.03}), event, tracks, clusters) == [
        0,
        PDG["neutral_hadron"],
    ]
    links = RuleBasedPF(**UNIT_PF | {"link_dr": 0.1}).links(event, clusters)
    assert links.block.tolist() == [0, 0, 0] and links.nearest.tolist() == [0]
