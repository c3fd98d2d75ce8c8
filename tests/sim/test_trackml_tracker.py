"""Asserts the TrackML-like tracker: its volume and layer numbering is TrackML's (and that of the real
event mini1, layer by layer), its hits lie on their layers within the readout's resolution, a stiff track
crosses every barrel layer once in order, the module ids fit their layers, and events are seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.sim.tracker.config import PARTICLE_DTYPE, TrackerSimConfig
from src.sim.tracker.helix import make_helices
from src.sim.tracker.trackml import _surfaces, simulate_trackml_event, surface_crossings
from src.sim.tracker.trackml_layout import trackml_detector

DET = trackml_detector()


@pytest.fixture(scope="module")
def event():
    return simulate_trackml_event(TrackerSimConfig(pileup=5, b_field=2.0, eta_max=4.0), 7)


def test_volumes_and_layers_are_numbered_as_in_trackml() -> None:
    ids = {}
    for lay in DET.layers:
        ids.setdefault(lay.volume_id, []).append(lay)
    assert sorted(ids) == [7, 8, 9, 12, 13, 14, 16, 17, 18]
    expected = {7: 7, 8: 4, 9: 7, 12: 6, 13: 4, 14: 6, 16: 6, 17: 2, 18: 6}
    for volume, layers in ids.items():
        assert [lay.layer_id for lay in layers] == list(range(2, 2 * expected[volume] + 1, 2))
        assert all(lay.barrel == (volume in (8, 13, 17)) for lay in layers)
        # layer_id grows with r in the barrels and with z in the endcaps (−z: layer 2 is the farthest)
        assert np.all(np.diff([lay.position for lay in layers]) > 0)
    assert [lay.position for lay in ids[8]] == [3.2, 7.2, 11.6, 17.2]  # cm
    assert ids[7][0].position == -150.0 and ids[9][0].position == 60.0
    assert [lay.position for lay in ids[17]] == [82.0, 102.0]


@pytest.mark.requiresdata
def test_the_real_event_reads_alike(shared_data) -> None:
    """Every (volume, layer) of mini1 is one of ours, at our radius within the module staggering."""
    hits = pd.read_csv(shared_data / "trackml" / "mini1" / "event000001000-hits.csv")
    ours = {(lay.volume_id, lay.layer_id): lay for lay in DET.layers}
    for (volume, layer), group in hits.groupby(["volume_id", "layer_id"]):
        lay = ours[(volume, layer)]
        r_mm = np.hypot(group.x, group.y)
        assert lay.barrel and abs(np.median(r_mm) - 10 * lay.position) < 3.0, (volume, layer)
        assert np.abs(group.z).max() < 10 * lay.extent[1]


def test_hits_lie_on_their_layers_within_the_resolution(event) -> None:
    hits = event.hits
    assert len(hits) > 1000 and (hits["particle_id"] > 0).mean() > 0.9
    layer = hits["layer"]
    barrel = DET.column("barrel")[layer]
    position, extent = DET.column("position")[layer], DET.column("extent")[layer]
    r_true = np.hypot(hits["tx"], hits["ty"])
    np.testing.assert_allclose(r_true[barrel], position[barrel], atol=1e-9)
    np.testing.assert_allclose(hits["tz"][~barrel], position[~barrel], atol=1e-9)
    along = np.where(barrel, hits["tz"], r_true)
    assert np.all((along >= extent[:, 0]) & (along <= extent[:, 1]))
    # r·φ: Gaussian pitch/√12 (below 6σ); along the strips the measurement is within half a strip
    r = np.hypot(hits["x"], hits["y"])
    dphi = np.angle(np.exp(1j * (np.arctan2(hits["y"], hits["x"]) - np.arctan2(hits["ty"], hits["tx"]))))
    sigma_u = DET.column("pitch_u")[layer] / np.sqrt(12.0)
    assert np.all(np.abs(dphi * r_true) < 6 * sigma_u)
    assert np.std(dphi * r_true / sigma_u) == pytest.approx(1.0, abs=0.1)
    strips = ~DET.column("pixel")[layer]
    v_meas, v_true = np.where(barrel, hits["z"], r), along
    assert np.all(np.abs(v_meas - v_true)[strips] <= 0.5 * DET.column("pitch_v")[layer][strips] + 1e-9)
    assert np.all(hits["volume_id"] == DET.column("volume_id")[layer])
    assert np.all(hits["layer_id"] == DET.column("layer_id")[layer])
    n_modules = DET.n_modules()[layer]
    assert np.all((hits["module_id"] >= 1) & (hits["module_id"] <= n_modules))


def test_a_stiff_central_track_crosses_every_barrel_layer_once_in_order() -> None:
    particle = np.zeros(1, dtype=PARTICLE_DTYPE)
    particle["px"], particle["py"], particle["pz"], particle["q"] = 10.0, 1.0, 0.5, 1
    hx = make_helices(particle, 2.0, 1.0, r_max=DET.r_max, z_max=DET.z_max)
    surf = _surfaces(DET)
    cross = surface_crossings(hx, surf, 1.0)
    order = np.argsort(cross.s)
    radii = np.hypot(cross.pos[order, 0], cross.pos[order, 1])
    barrel_radii = sorted([lay.position for lay in DET.layers if lay.barrel] + [p[0] for p in DET.passive])
    np.testing.assert_allclose(radii, barrel_radii, atol=1e-9)


def test_events_are_seeded(event) -> None:
    cfg = TrackerSimConfig(pileup=5, b_field=2.0, eta_max=4.0)
    again = simulate_trackml_event(cfg, 7)
    assert np.array_equal(again.hits, event.hits)
    assert not np.array_equal(simulate_trackml_event(cfg, 8).hits["x"][:50], event.hits["x"][:50])
