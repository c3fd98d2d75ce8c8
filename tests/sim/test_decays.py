"""Asserts the in-flight decays: exponential lab decay lengths with mean βγcτ, branching fractions,
four-momentum conservation, daughters with status SIMULATED and gen_parent set, mothers DECAYED, the
caller's choice of which decays happen, decay chains (Ξ → Λ → p π, K0S → π0 π0 → 4 γ), charge-conjugate
modes for antiparticles, and determinism per seed."""

from __future__ import annotations

import numpy as np
import pytest
from particle import Particle

from src.sim.decays import MODES, decay, decay_in_flight, decay_points
from src.sim.generators import DECAYED, FINAL, SIMULATED, particle_table


def _beam(pdg: int, n: int, p: float = 5.0) -> dict[str, np.ndarray]:
    """``n`` particles of ``pdg`` with momentum ``p`` GeV along +x from the origin."""
    return particle_table(np.full(n, pdg), p, 0.0, 0.0)


def test_decay_length_is_exponential_with_mean_beta_gamma_c_tau() -> None:
    gen = _beam(310, 40000)
    points = decay_points(gen, np.random.default_rng(1))
    beta_gamma = 5.0 / Particle.from_pdgid(310).mass * 1000.0
    mean = beta_gamma * Particle.from_pdgid(310).ctau
    length = points.vertex[:, 0]
    assert length.mean() == pytest.approx(mean, rel=0.02)
    assert np.median(length) == pytest.approx(mean * np.log(2.0), rel=0.03)
    assert np.allclose(points.vertex[:, 1:], 0.0)
    speed = length / (points.time * 299.792458)  # v/c = β
    assert np.allclose(speed, beta_gamma / np.hypot(1.0, beta_gamma))


def test_branching_fractions_conservation_and_bookkeeping() -> None:
    n = 20000
    gen = _beam(310, n)
    points = decay_points(gen, np.random.default_rng(2))
    out = decay(gen, points, np.random.default_rng(3))
    assert (out["gen_status"][:n] == DECAYED).all()
    d = slice(n, None)
    assert (out["gen_status"][d] == SIMULATED).all()
    parent = out["gen_parent"][d]
    np.testing.assert_array_equal(parent, np.repeat(np.arange(n), 2))
    np.testing.assert_allclose(out["gen_vx"][d], points.vertex[parent, 0])
    np.testing.assert_allclose(out["gen_time"][d], points.time[parent])
    for key in ("gen_px", "gen_py", "gen_pz", "gen_energy"):
        summed = np.bincount(parent, weights=out[key][d], minlength=n)
        np.testing.assert_allclose(summed, gen[key], atol=1e-9)
    first = out["gen_pdg"][d][::2]
    charged_mode = np.isin(first, [211, -211]).mean()
    brs = MODES[310]
    expected = brs[0][0] / (brs[0][0] + brs[1][0])
    assert charged_mode == pytest.approx(expected, abs=4.0 * np.sqrt(expected * (1 - expected) / n))
    assert set(np.unique(out["gen_pdg"][d])) == {211, -211, 111}


def test_the_caller_chooses_which_decays_happen() -> None:
    gen = _beam(3122, 1000)
    rng = np.random.default_rng(4)
    unchanged = decay_in_flight(gen, rng, inside=lambda v: np.zeros(len(v), bool))
    for key in gen:
        np.testing.assert_array_equal(unchanged[key], gen[key])
    inside = decay_in_flight(gen, np.random.default_rng(5), inside=lambda v: v[:, 0] < 100.0)
    decayed = inside["gen_status"][:1000] == DECAYED
    assert 0 < decayed.sum() < 1000
    assert (inside["gen_status"][:1000][~decayed] == FINAL).all()
    parents = inside["gen_parent"][1000:]
    assert set(np.unique(parents[parents < 1000])) == set(np.flatnonzero(decayed))
    assert (inside["gen_vx"][1000:] < 100.0).all()


def test_chains_decay_fully_and_antiparticles_take_conjugate_modes() -> None:
    gen = particle_table([3312, -3122, 310], [3.0, 2.0, 1.0], 0.0, 1.0)
    out = decay_in_flight(gen, np.random.default_rng(6))
    final = out["gen_status"] != DECAYED
    stable = out["gen_pdg"][final]
    assert not np.isin(np.abs(stable), list(MODES)).any()
    assert np.isin(stable, [-2212, 2212, 2112, -2112, 211, -211, 22]).all()

    def ancestor(row: int) -> int:
        while out["gen_parent"][row] >= 0:
            row = int(out["gen_parent"][row])
        return row

    roots = np.array([ancestor(r) for r in np.flatnonzero(final)])
    assert set(roots) == {0, 1, 2}
    for root in range(3):
        total = out["gen_energy"][final][roots == root].sum()
        assert total == pytest.approx(gen["gen_energy"][root], rel=1e-9)
    baryon = {0: 1, 1: -1}  # Ξ- and anti-Λ: baryon number carried to the end
    for root, b in baryon.items():
        ids = stable[roots == root]
        assert int(np.isin(ids, [2212, 2112]).sum() - np.isin(ids, [-2212, -2112]).sum()) == b


def test_same_seed_same_decays() -> None:
    gen = particle_table([310, 3122, 3222, -3334], [1.0, 2.0, 3.0, 4.0], 0.5, 0.2)
    a = decay_in_flight(gen, np.random.default_rng(7))
    b = decay_in_flight(gen, np.random.default_rng(7))
    c = decay_in_flight(gen, np.random.default_rng(8))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["gen_vx"][4:10], c["gen_vx"][4:10])  # the daughters decay elsewhere
