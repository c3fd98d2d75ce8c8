"""Asserts the simulated calorimeter source: events hold exactly the calorimeter-event keys (tracks empty
without a track builder), are cached under a fingerprint of every step + seed that changes with any of
them, are rebuilt identically; the decays, tracks and clustering steps get what their signatures promise;
``make_dataset`` builds ``dataset=sim_calo`` without a task."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from src.data.calo import CaloChain, SimulatedCaloSource, empty_collection
from src.event_model import CALO_HITS, CLUSTERS, GEN_PARTICLES, TRACKS
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


def _source(tmp_path: Path, name: str = "clic", seed: int = 3, **gun: Any) -> SimulatedCaloSource:
    chain = CaloChain(ParticleGun(**(GUN | gun)), detector(name))
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
    with_decays = CaloChain(ParticleGun(**GUN), detector("clic"), decays=functools.partial(_k0s_decays))
    assert SimulatedCaloSource(with_decays, n_events=2, seed=3, cache_dir=tmp_path).fingerprint != base


def _k0s_decays(
    gen: dict[str, np.ndarray], rng: np.random.Generator, *, inside: Any
) -> dict[str, np.ndarray]:
    """A stand-in for decays in flight: the first particle (a K0S) into two collinear pions."""
    del rng
    assert inside(np.zeros((1, 3))).all() and not inside(np.array([[0.0, 0.0, 5000.0]])).any()
    gen = dict(gen, gen_status=np.where(gen["gen_pdg"] == 310, 2, gen["gen_status"]).astype(np.int8))
    px, py, pz = gen["gen_px"][0] / 2, gen["gen_py"][0] / 2, gen["gen_pz"][0] / 2
    out = concat_tables(gen, particle_table([211, -211], [px, px], [py, py], [pz, pz], status=SIMULATED))
    out["gen_parent"][1:] = 0
    return out


def test_decays_replace_a_particle_by_its_daughters() -> None:
    """A K0S decayed in flight leaves the showers of its daughters, which point back to it."""
    gun = ParticleGun(**(GUN | {"pdg": [310], "n_particles": 1, "energy": 20.0}))
    event = CaloChain(gun, detector("clic"), decays=_k0s_decays)(5)
    assert list(event["gen_pdg"]) == [310, 211, -211] and event["gen_status"][0] != FINAL
    assert event["gen_calo_entry"][0] == -1 and set(event["gen_calo_entry"][1:]) == {1, 2}
    assert set(event["hit_contrib_particle"]) == {1, 2}


def test_tracks_and_clustering_get_the_detector_settings() -> None:
    seen: dict[str, Any] = {}

    def tracks(gen: dict[str, np.ndarray], rng: np.random.Generator, **kw: float) -> dict[str, np.ndarray]:
        seen.update(kw, n_gen=len(gen["gen_pdg"]))
        return empty_collection(TRACKS) | {"track_particle": np.array([0], dtype=np.int32)}

    def clustering(*, noise: dict[str, float], **geometry: dict[str, float]) -> Any:
        seen["noise"], seen["geometry"] = noise, geometry
        return lambda hits: {"hit_cluster": np.zeros(len(hits["hit_energy"]), dtype=np.int32)}

    event = CaloChain(ParticleGun(**GUN), detector("clic"), tracks=tracks, clustering=clustering)(1)
    assert (
        seen["b_field"] == 4.0
        and seen["r_calo"] == 1500.0
        and seen["z_calo"] == 2307.0
        and seen["n_gen"] == 2
    )
    assert set(seen["noise"]) == {"ecal_barrel", "ecal_endcap", "hcal_barrel", "hcal_endcap"}
    assert 1e-4 < seen["noise"]["ecal_barrel"] < 1e-3  # 0.07 MIP of 0.14 MeV at f_em = 1/36: 0.37 MeV
    assert seen["geometry"]["cell_size"] == {
        "ecal_barrel": 5.1,
        "ecal_endcap": 5.1,
        "hcal_barrel": 30.0,
        "hcal_endcap": 30.0,
    }
    np.testing.assert_allclose(seen["geometry"]["layer_gap"]["hcal_endcap"], 26.5)
    assert seen["geometry"]["layer_offset"] == {
        "ecal_barrel": 0,
        "ecal_endcap": 0,
        "hcal_barrel": 40,
        "hcal_endcap": 40,
    }
    assert list(event["track_particle"]) == [0] and len(event["hit_cluster"]) == len(event["hit_energy"])


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
