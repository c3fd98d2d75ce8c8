"""Asserts the Pythia 8 generators make physical, reproducible events: the gen_* schema, four-momentum
conservation, Pythia decaying exactly what lives shorter than tau0_max (K0S and hyperons left for the
detector simulation), events that depend only on (settings, seed) and not on earlier events, and
fingerprints that follow the settings."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from particle import Particle

from src.event_model import GEN_PARTICLES
from src.sim.generators import FINAL, EventGenerator
from src.sim.generators.pythia import PythiaGenerator, minimum_bias, shared_minimum_bias
from tests.conftest import CONF


def _generator(name: str) -> PythiaGenerator:
    """The generator of ``conf/generator/<name>.yaml``."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"+generator={name}"])
    return instantiate(cfg.generator)


@pytest.fixture(scope="module")
def ttbar() -> PythiaGenerator:
    return _generator("ee_ttbar")


@pytest.mark.parametrize("name", ["ee_ttbar", "ee_qq", "ee_ww"])
def test_events_have_the_gen_schema_and_conserve_four_momentum(name: str) -> None:
    generator = _generator(name)
    assert isinstance(generator, EventGenerator)
    event = generator(7)
    assert set(event) == set(GEN_PARTICLES.fields)
    n = len(event["gen_pdg"])
    assert n > 10 and all(len(v) == n for v in event.values())
    assert (event["gen_status"] == FINAL).all() and (event["gen_parent"] == -1).all()
    assert event["gen_pdg"].dtype == np.int32 and event["gen_charge"].dtype == np.float32
    # e+e- at 380 GeV: the final state carries the beams' four-momentum (masses from the PDG tables)
    assert event["gen_energy"].sum() == pytest.approx(380.0, abs=0.05)
    for axis in ("px", "py", "pz"):
        assert abs(event[f"gen_{axis}"].sum()) < 1e-6 * 380.0
    charged = event["gen_charge"] != 0
    assert charged.sum() >= 2


def test_pythia_decays_what_lives_shorter_than_tau0_max(ttbar: PythiaGenerator) -> None:
    pdg = np.concatenate([ttbar(seed)["gen_pdg"] for seed in range(40)])
    for pid in np.unique(pdg):
        ctau = Particle.from_pdgid(int(pid)).ctau
        assert ctau is None or ctau >= 10.0, f"{pid} (c tau {ctau} mm) should have been decayed by Pythia"
    assert not np.isin(np.abs(pdg), [111, 15, 411, 421, 511, 521]).any()
    assert np.isin(pdg, [310]).any() and np.isin(np.abs(pdg), [3122]).any()  # left to src.sim.decays


def test_events_depend_only_on_settings_and_seed(ttbar: PythiaGenerator) -> None:
    used = [ttbar(seed) for seed in (11, 12, 13)]
    fresh = _generator("ee_ttbar")
    again = fresh(13)
    for key in used[2]:
        np.testing.assert_array_equal(used[2][key], again[key], err_msg=key)
    assert len(used[0]["gen_pdg"]) != len(used[1]["gen_pdg"]) or not np.array_equal(
        used[0]["gen_px"], used[1]["gen_px"]
    )


def test_fingerprint_follows_the_settings_and_pickling_keeps_them(ttbar: PythiaGenerator) -> None:
    info = ttbar.describe()
    assert info["version"] == "8.317.2"
    assert "Beams:eCM = 380.0" in info["settings"] and "Top:ffbar2ttbar(s:gmZ) = on" in info["settings"]
    other = PythiaGenerator(beams=[11, -11], ecm=500.0, process=list(ttbar.process), tau0_max=10.0)
    assert other.describe() != info
    ttbar(1)
    clone = pickle.loads(pickle.dumps(ttbar))
    np.testing.assert_array_equal(clone(3)["gen_px"], ttbar(3)["gen_px"])


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="NoSuchProcess:on"):
        PythiaGenerator(beams=[11, -11], ecm=380.0, process=["NoSuchProcess:on = on"], tau0_max=10.0)(1)
    with pytest.raises(ValueError, match="two PDG ids"):
        PythiaGenerator(beams=[11], ecm=380.0, process=[], tau0_max=10.0)


def test_pp_minimum_bias_at_14_tev() -> None:
    generator = shared_minimum_bias()
    assert generator.describe() == minimum_bias().describe()
    events = [generator(seed) for seed in range(5)]
    for event in events:
        assert event["gen_energy"].sum() == pytest.approx(14000.0, rel=1e-4)
    assert sum(int((e["gen_charge"] != 0).sum()) for e in events) > 50
