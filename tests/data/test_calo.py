"""Asserts the simulated calorimeter source: events hold exactly the calorimeter-event keys (tracks empty
until a track builder is in the chain), are cached under a fingerprint of generator + detector + seed
that changes with any of them, are rebuilt identically, pass through a decays hook, and that
``make_dataset`` builds ``dataset=sim_calo`` without a task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from src.data.calo import SimulatedCaloSource, empty_collection, simulate_calo_event
from src.event_model import CALO_HITS, GEN_PARTICLES, TRACKS
from src.make_dataset import make_dataset
from src.sim.generators import FINAL, SIMULATED, concat_tables, particle_table
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


def _source(tmp_path: Path, **gun: Any) -> SimulatedCaloSource:
    return SimulatedCaloSource(
        ParticleGun(**(GUN | gun)), detector("clic"), n_events=2, seed=3, cache_dir=tmp_path
    )


def test_events_hold_the_calorimeter_keys_and_are_cached(tmp_path: Path) -> None:
    source = _source(tmp_path)
    source.prepare(progress=False)
    event = source.load(1)
    assert set(event) == set(GEN_PARTICLES.fields) | set(CALO_HITS.fields) | set(TRACKS.fields)
    assert all(len(event[k]) == 0 for k in TRACKS.fields)
    assert len(event["hit_energy"]) > 50
    again = SimulatedCaloSource(
        ParticleGun(**GUN), detector("clic"), n_events=2, seed=3, cache_dir=tmp_path / "other"
    )
    assert again.fingerprint == source.fingerprint
    rebuilt = again._make(1)
    assert all(torch.equal(rebuilt[k], event[k]) for k in event)
    assert "1 particles" not in source.describe_event(event) and "hits" in source.describe_event(event)


def test_fingerprint_follows_generator_detector_and_seed(tmp_path: Path) -> None:
    base = _source(tmp_path).fingerprint
    assert _source(tmp_path, energy=[2.0, 30.0]).fingerprint != base
    other_detector = SimulatedCaloSource(
        ParticleGun(**GUN), detector("hgcal"), n_events=2, seed=3, cache_dir=tmp_path
    )
    assert other_detector.fingerprint != base
    other_seed = SimulatedCaloSource(
        ParticleGun(**GUN), detector("clic"), n_events=2, seed=4, cache_dir=tmp_path
    )
    assert other_seed.fingerprint != base


def test_decays_hook_replaces_a_particle_by_its_daughters() -> None:
    """A K0S decayed by the hook leaves the showers of its daughters, which point back to it."""

    def decays(gen: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
        del seed
        gen = dict(gen, gen_status=np.where(gen["gen_pdg"] == 310, 2, gen["gen_status"]).astype(np.int8))
        px, py, pz = gen["gen_px"][0] / 2, gen["gen_py"][0] / 2, gen["gen_pz"][0] / 2
        out = concat_tables(gen, particle_table([211, -211], [px, px], [py, py], [pz, pz], status=SIMULATED))
        out["gen_parent"][1:] = 0
        return out

    gun = ParticleGun(**(GUN | {"pdg": [310], "n_particles": 1, "energy": 20.0}))
    event = simulate_calo_event(gun, detector("clic"), 5, decays=decays)
    assert list(event["gen_pdg"]) == [310, 211, -211] and event["gen_status"][0] != FINAL
    assert event["gen_calo_entry"][0] == -1 and set(event["gen_calo_entry"][1:]) == {1, 2}
    assert set(event["hit_contrib_particle"]) == {1, 2}


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
    assert len(list((tmp_path / "cache").glob("sim_calo-*/event_*.pt"))) == 2
