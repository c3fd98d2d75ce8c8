"""Asserts the pileup options of the tracker simulation: the default ("own" spectra) keeps its cache
fingerprints, an unknown source is refused, and pileup from Pythia pp minimum bias is deterministic per
seed, placed at the pileup vertices with the own spectra's acceptance, and carries displaced daughters of
in-flight decays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from src.sim.tracker.config import CONVERSION, DECAY, PRIMARY, TrackerSimConfig
from src.sim.tracker.simulate import generate_particles, simulate_event


def test_default_keeps_its_fingerprint_and_pythia_names_its_settings() -> None:
    own = TrackerSimConfig()
    assert own.describe() == {k: v for k, v in dataclasses.asdict(own).items() if k != "minbias"}
    pythia = TrackerSimConfig(minbias="pythia").describe()
    assert pythia["minbias"] == "pythia"
    assert "SoftQCD:inelastic = on" in pythia["minbias_generator"]["settings"]
    with pytest.raises(ValueError, match="minbias='herwig'"):
        TrackerSimConfig(minbias="herwig")


def test_pythia_pileup_is_deterministic_and_in_acceptance() -> None:
    cfg = TrackerSimConfig(pileup=6.0, minbias="pythia")
    particles, _ = generate_particles(cfg, np.random.default_rng(11))
    again, _ = generate_particles(cfg, np.random.default_rng(11))
    np.testing.assert_array_equal(particles, again)
    pileup = particles[(particles["vertex_id"] >= 1) & (particles["process"] != CONVERSION)]
    assert len(np.unique(pileup["vertex_id"])) >= 3
    pt = np.hypot(pileup["px"], pileup["py"])
    primary = pileup["process"] == PRIMARY
    assert (pt[primary] > cfg.pt_min).all()
    assert (np.abs(np.arcsinh(pileup["pz"] / pt))[primary] < cfg.eta_max).all()
    # each interaction's primaries start at its vertex (within Pythia's µm-mm decay displacements)
    for v in np.unique(pileup["vertex_id"]):
        z = pileup["vz"][primary & (pileup["vertex_id"] == v)]
        assert np.ptp(z) < 0.5
    decays = pileup[pileup["process"] == DECAY]
    assert len(decays) > 0 and np.hypot(decays["vx"], decays["vy"]).max() > 0.5  # K0S, Λ: cm away


def test_pythia_pileup_makes_hits() -> None:
    cfg = TrackerSimConfig(pileup=3.0, minbias="pythia", hard_scatter=False)
    event = simulate_event(cfg, 5, phi_window=(0.0, 0.5))
    assert (event.hits["particle_id"] > 0).sum() > 20
    np.testing.assert_array_equal(event.hits, simulate_event(cfg, 5, phi_window=(0.0, 0.5)).hits)
