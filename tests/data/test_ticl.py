"""TICL datasets: the simulated source overlays pileup, keeps each trackster's signal/pileup origin, caches
deterministically and keeps one endcap when asked; decays act per interaction before the overlay; the linking
view turns TICL events into graphs whose truth matches the association; ntuples are read back as a
dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from src.data.linking import LinkingView
from src.data.ticl import SimulatedTICLSource, ticl_ntuple
from src.io.ticl_dumper import write_ticl_dumper
from src.reco.ticl import TICLConfig
from tests.reco.hgcal_events import SyntheticGun, SyntheticHGCAL, SyntheticMinBias


def _source(
    tmp_path: Path, *, pileup: float = 4.0, z_sign: int = 1, n_events: int = 3
) -> SimulatedTICLSource:
    return SimulatedTICLSource(
        SyntheticGun(2),
        SyntheticHGCAL(),
        pileup_generator=SyntheticMinBias(5),
        pileup=pileup,
        sigma_z=50.0,
        sigma_t=0.2,
        reco=TICLConfig(z_sign=z_sign),
        decays=False,
        n_events=n_events,
        seed=7,
        cache_dir=tmp_path,
    )


def test_simulated_source_keeps_origins_and_is_deterministic(tmp_path: Path) -> None:
    source = _source(tmp_path / "a")
    source.prepare(progress=False)
    again = _source(tmp_path / "b")
    again.prepare(progress=False)
    assert source.fingerprint == again.fingerprint
    for i in range(len(source)):
        a, b = source.load(i), again.load(i)
        assert all(torch.equal(a[k], b[k]) for k in a)
        interaction = a["sim_interaction"].numpy()
        assert (interaction == 0).sum() == 2 and (interaction > 0).any()  # the two gun particles, and pileup
        assert (a["trackster_barycenter_z"] > 0).all()  # one endcap
    assert _source(tmp_path / "c", pileup=2.0).fingerprint != source.fingerprint


def test_calo_event_of_one_endcap_simulates_only_pileup_flying_there(tmp_path: Path) -> None:
    event, noise, _ = _source(tmp_path, pileup=20.0).calo_event(0)
    pileup = event["gen_interaction"] > 0
    assert pileup.any() and (event["gen_pz"][pileup] > 0).all()
    assert len(noise) == len(event["hit_energy"])


def test_decays_in_flight_keep_the_interaction(tmp_path: Path) -> None:
    source = _source(tmp_path, pileup=3.0)
    source.generator, source.decays = SyntheticGun(2, pdg=310), True  # two K0S
    event, _, _ = source.calo_event(0)
    daughters = event["gen_parent"] >= 0
    assert daughters.sum() >= 2 and set(np.abs(event["gen_pdg"][daughters]).tolist()) <= {211, 111, 22, 11}
    np.testing.assert_array_equal(
        event["gen_interaction"][daughters], event["gen_interaction"][event["gen_parent"][daughters]]
    )
    assert (event["gen_interaction"][daughters] == 0).any()


def test_view_truth_follows_the_association(tmp_path: Path) -> None:
    source = _source(tmp_path, pileup=6.0, n_events=2)
    source.prepare(progress=False)
    data = LinkingView(max_score=0.2)(source.load(1))
    assert data.x.shape[1] == 29 and data.edge_attr.shape[1] == 7 and data.coords.shape[1] == 2
    i, j = data.edge_index
    particle = data.node_particle
    expect = (particle[i] >= 0) & (particle[i] == particle[j])
    assert torch.equal(data.y.bool(), expect)
    assert torch.equal(data.edge_weight, torch.maximum(data.x[i, 16], data.x[j, 16]))
    assert (data.x[j, 2].abs() > data.x[i, 2].abs()).all()  # inner to outer
    assert int(data.sim_pileup.sum()) == int((source.load(1)["sim_interaction"] > 0).sum())
    with pytest.raises(KeyError, match="dataset=ticl_sim or dataset=ticl_ntuple"):
        LinkingView()({"x": torch.zeros(1)})


def test_ntuple_dataset_reads_the_written_events(tmp_path: Path) -> None:
    source = _source(tmp_path / "cache", n_events=4)
    source.prepare(progress=False)
    events = [{k: v.numpy() for k, v in source.load(i).items()} for i in range(4)]
    write_ticl_dumper(tmp_path / "nt" / "a.root", events[:2])
    write_ticl_dumper(tmp_path / "nt" / "b.root", events[2:])
    dm = ticl_ntuple(view=LinkingView(), path=tmp_path / "nt", n_events=3, split=[1, 1, 1], batch_size=1)
    dm.setup()
    assert len(dm.source) == 3
    got = dm.source.load(2)["trackster_raw_energy"].numpy()
    np.testing.assert_allclose(got, events[2]["trackster_raw_energy"], rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="no ticlDumper ntuple"):
        ticl_ntuple(view=LinkingView(), path=tmp_path / "nowhere", n_events=None, split="all", batch_size=1)
