"""Asserts the simulated calorimeter source: events hold exactly the calorimeter-event keys (tracks empty
when that step is off), are cached under a fingerprint of every step + seed that changes with any of them,
are rebuilt identically; K0S decay in flight before the calorimeter, tracks and clusters come with the
detector's settings; ``make_dataset`` builds ``dataset=sim_calo`` without a task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from src.data.calo import CaloChain, SimulatedCaloSource, empty_collection
from src.event_model import CALO_HITS, CLUSTERS, GEN_PARTICLES, TRACKS
from src.make_dataset import make_dataset
from src.sim.generators.gun import ParticleGun
from tests.conftest import run_config
from tests.sim.test_calo import detector

GUN: dict[str, Any] = {
    "pdg": [22, 211],
    "n_particles": 2,
    "energy": [2.0, 20.0],
    "energy_sampling": "uniform",
    "eta": [-0.5, 0.5],
    "phi": [-3.0, 3.0],
    "mirror_eta": False,
    "delta_r": None,
    "vertex": [0.0, 0.0, 0.0],
}


def _chain(gun: ParticleGun, name: str = "clic", **steps: Any) -> CaloChain:
    return CaloChain(gun, detector(name), **({"decays": False, "tracks": False, "clustering": None} | steps))


def _source(tmp_path: Path, name: str = "clic", seed: int = 3, **gun: Any) -> SimulatedCaloSource:
    chain = _chain(ParticleGun(**(GUN | gun)), name)
    return SimulatedCaloSource(chain, n_events=2, seed=seed, cache_dir=tmp_path)


def test_events_hold_the_calorimeter_keys_and_are_cached(tmp_path: Path) -> None:
    source = _source(tmp_path)
    source.prepare(progress=False)
    event = source.load(1)
    assert set(event) == set(GEN_PARTICLES.fields) | set(CALO_HITS.fields) | set(TRACKS.fields)
    assert all(len(event[k]) == 0 for k in TRACKS.fields)
    assert len(event["hit_energy"]) > 50
    again = _source(tmp_path / "other")
    assert again.fingerprint == source.fingerprint
    rebuilt = again._make(1)
    assert all(torch.equal(rebuilt[k], event[k]) for k in event)
    assert "1 particles" not in source.describe_event(event) and "0 tracks" in source.describe_event(event)


def test_fingerprint_follows_every_step_and_the_seed(tmp_path: Path) -> None:
    base = _source(tmp_path).fingerprint
    assert _source(tmp_path, energy=[2.0, 30.0]).fingerprint != base
    assert _source(tmp_path, name="hgcal").fingerprint != base
    assert _source(tmp_path, seed=4).fingerprint != base
    with_decays = _chain(ParticleGun(**GUN), decays=True)
    assert SimulatedCaloSource(with_decays, n_events=2, seed=3, cache_dir=tmp_path).fingerprint != base


def test_k0s_decay_in_flight_before_the_calorimeter() -> None:
    """A 2 GeV K0S (βγcτ ≈ 11 cm) decays before the calorimeter: its daughters leave the hits."""
    gun = ParticleGun(**(GUN | {"pdg": [310], "n_particles": 1, "energy": 2.0}))
    event = _chain(gun, decays=True)(5)
    assert event["gen_pdg"][0] == 310 and event["gen_status"][0] == 2 and event["gen_calo_entry"][0] == -1
    daughters = np.flatnonzero(event["gen_parent"] == 0)
    assert len(daughters) == 2
    assert set(event["hit_contrib_particle"]) <= set(np.flatnonzero(event["gen_calo_entry"] >= 0)) - {0}
    radius = np.hypot(event["gen_vx"][daughters], event["gen_vy"][daughters])
    assert (radius < 1500.0).all() and radius.max() > 0.0
    whole = _chain(gun)(5)  # without the decays step the K0S showers as a hadron
    assert list(whole["gen_pdg"]) == [310] and whole["gen_calo_entry"][0] == 0


def test_tracks_and_clusters_come_with_the_detector_settings() -> None:
    gun = ParticleGun(**(GUN | {"pdg": [211], "n_particles": 1, "energy": 10.0, "eta": 0.0, "phi": 0.0}))
    chain = _chain(gun, tracks=True, clustering={"seed_threshold": 4.0, "neighbour_threshold": 2.0})
    event = chain(1)
    assert list(event["track_particle"]) == [0] and event["track_charge"][0] == 1
    # the helix at the calorimeter entrance is where the pion's first ECAL hits are
    np.testing.assert_allclose(np.hypot(event["track_calo_x"], event["track_calo_y"]), 1500.0, rtol=1e-3)
    first = (event["hit_particle"] == 0) & (event["hit_subdetector"] == 0) & (event["hit_layer"] < 3)
    hit_phi = np.arctan2(event["hit_y"][first], event["hit_x"][first]).mean()
    assert abs(hit_phi - np.arctan2(event["track_calo_y"][0], event["track_calo_x"][0])) < 0.01
    assert chain.clustering.noise == chain.detector.noise_by_subdetector()
    assert chain.clustering.mip == chain.detector.mip_by_subdetector()
    assert (
        chain.clustering.cell_size["ecal_barrel"] == 5.1 and chain.clustering.cell_size["hcal_barrel"] == 30.0
    )
    assert len(event["hit_cluster"]) == len(event["hit_energy"]) and len(event["cluster_energy"]) >= 1


def test_empty_collection_uses_the_declared_dtypes() -> None:
    empty = empty_collection(TRACKS)
    assert empty["track_ndf"].dtype == np.int16 and empty["track_pt"].dtype == np.float32
    assert all(len(v) == 0 for v in empty.values())


@pytest.mark.parametrize("detector_name", ["clic", "hgcal"])
def test_make_dataset_builds_sim_calo_without_a_task(tmp_path: Path, detector_name: str) -> None:
    overrides = [
        "~task",
        "dataset=sim_calo",
        f"detector@dataset.detector={detector_name}",
        "dataset.n_events=2",
    ]
    overrides += ["dataset.progress=false", "dataset.generator.energy=[5.0,10.0]"]
    if detector_name == "hgcal":
        overrides += ["dataset.generator.eta=[1.8,2.5]", "dataset.generator.mirror_eta=true"]
    cfg = run_config(overrides, tmp_path / "run", tmp_path / "cache", name="make_dataset")
    summary = make_dataset(cfg)
    assert summary["n_events"] == 2 and summary["mean_count"] > 20
    assert 0.0 <= summary["mean_fake_fraction"] < 0.5
    files = sorted((tmp_path / "cache").glob("sim_calo-*/event_*.pt"))
    assert len(files) == 2
    event = torch.load(files[0], weights_only=True)
    keys = set(GEN_PARTICLES.fields) | set(CALO_HITS.fields) | set(TRACKS.fields) | set(CLUSTERS.fields)
    assert set(event) == keys | {"hit_cluster"}  # the default chain: decays, tracks and clusters
    assert len(event["hit_cluster"]) == len(event["hit_energy"]) and len(event["cluster_energy"]) >= 1
