"""Asserts the tracks for particle flow: the smeared pT, d0 and angle resolutions are the configured ones
on many particles, the perigee parameters follow the LCIO/EDM4hep conventions (PCA at (−d0 sin φ0,
d0 cos φ0), ω signed like the charge for B > 0), neutral, decayed, too soft and too forward particles make
no tracks, hit counts and the innermost-hit radius follow the layers, the calorimeter extrapolation lands
on the cylinder or the endcap disk, and the same seed gives the same tracks."""

from __future__ import annotations

import numpy as np
import pytest

from src.event_model import TRACKS
from src.sim.generators import DECAYED, particle_table
from src.sim.perigee import C_CURV, perigee
from src.sim.tracks import CLICDET_RESOLUTION, CLICDET_TRACKER, make_tracks

B, R_CALO, Z_CALO = 4.0, 1500.0, 2300.0


def _tracks(gen: dict[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    return make_tracks(gen, np.random.default_rng(seed), b_field=B, r_calo=R_CALO, z_calo=Z_CALO)


def _central(n: int, pt: float, pdg: int = 211) -> dict[str, np.ndarray]:
    """``n`` particles at θ = 90° with transverse momentum ``pt``, spread in φ, from the origin."""
    phi = np.linspace(-np.pi, np.pi, n, endpoint=False)
    return particle_table(np.full(n, pdg), pt * np.cos(phi), pt * np.sin(phi), 0.0)


def test_schema_and_units() -> None:
    tracks = _tracks(_central(50, 3.0))
    assert set(tracks) == set(TRACKS.fields)
    assert len(tracks["track_pt"]) >= 45
    assert (tracks["track_ndf"] == 2 * 12 - 5).all()  # 6 vertex + 3 inner + 3 outer barrel layers
    assert (tracks["track_inner_radius"] == CLICDET_TRACKER.barrel_r[0]).all()
    assert np.allclose(tracks["track_p"], tracks["track_pt"] * np.hypot(1.0, tracks["track_tan_lambda"]))


def test_dedx_follows_bethe_bloch_by_mass() -> None:
    p = 3.5 * 0.13957  # a pion at βγ = 3.5 ionises minimally: 3.88 MeV/cm in silicon
    pions, protons = _tracks(_central(400, p, 211)), _tracks(_central(400, p, 2212))
    assert np.median(pions["track_dedx"]) == pytest.approx(3.88e-4, rel=0.03)
    assert np.median(protons["track_dedx"]) > 3.0 * np.median(pions["track_dedx"])  # βγ = 0.52
    spread = np.std(pions["track_dedx"]) / np.median(pions["track_dedx"])
    assert spread == pytest.approx(CLICDET_RESOLUTION.dedx_hit_resolution / np.sqrt(12), rel=0.2)
    assert np.allclose(pions["track_dedx_error"] / pions["track_dedx"], spread, rtol=0.2)


@pytest.mark.parametrize("pt", [1.0, 100.0])
def test_resolutions_match_the_configured_ones(pt: float) -> None:
    n = 20000
    tracks = _tracks(_central(n, pt))
    res = CLICDET_RESOLUTION
    rows = tracks["track_particle"]
    true_inv = np.full(len(rows), 1.0 / pt)
    measured = np.std(1.0 / tracks["track_pt"].astype(np.float64) - true_inv)
    assert measured == pytest.approx(np.hypot(res.pt_a, res.pt_b / pt), rel=0.04)
    assert np.std(tracks["track_d0"]) == pytest.approx(np.hypot(res.d0_a, res.d0_b / pt), rel=0.04)
    phi_true = np.linspace(-np.pi, np.pi, n, endpoint=False)[rows]  # φ0 of tracks from the origin
    dphi = np.angle(np.exp(1j * (tracks["track_phi"] - phi_true)))
    assert np.std(dphi) == pytest.approx(np.hypot(res.angle_a, res.angle_b / pt), rel=0.04)
    assert np.std(tracks["track_tan_lambda"]) == pytest.approx(
        np.hypot(res.angle_a, res.angle_b / pt), rel=0.04
    )


def test_perigee_conventions() -> None:
    # a positive stiff track made at (0, 1 mm) moving along +x: PCA (0, 1) = (−d0 sin φ0, d0 cos φ0) → d0 = +1
    params, _ = perigee(np.array([[0.0, 1.0, 5.0]]), np.array([[1000.0, 0.0, 500.0]]), np.array([1.0]), B)
    assert params.d0[0] == pytest.approx(1.0, abs=1e-6)
    assert params.phi0[0] == pytest.approx(0.0, abs=1e-6)
    assert params.z0[0] == pytest.approx(5.0, abs=1e-6)
    assert params.omega[0] == pytest.approx(C_CURV * B / 1000.0)
    assert params.tan_lambda[0] == pytest.approx(0.5)
    tracks = _tracks(particle_table([211, -211], [2.0, 2.0], 0.0, 0.0))
    assert list(tracks["track_charge"]) == [1, -1]
    assert np.sign(tracks["track_omega"]).tolist() == [1.0, -1.0]


def test_only_charged_particles_reaching_the_tracker_make_tracks() -> None:
    gen = particle_table([22, 2112, 130, 12, 211, 211, 211, 211], [5, 5, 5, 5, 5, 0.05, 0.05, 5], 0.0,
                         [0, 0, 0, 0, 0, 0, 40, 0])  # fmt: skip
    gen["gen_status"][7] = DECAYED
    tracks = _tracks(gen)
    assert tracks["track_particle"].tolist() == [4]  # not: neutrals, pT 50 MeV, θ ≈ 0.07°, decayed


def test_displaced_particles_start_at_their_first_layer() -> None:
    n = 200
    gen = _central(n, 5.0)
    phi = np.arctan2(gen["gen_py"], gen["gen_px"])
    gen["gen_vx"], gen["gen_vy"] = 200.0 * np.cos(phi), 200.0 * np.sin(phi)
    tracks = _tracks(gen)
    assert (tracks["track_inner_radius"] == 340.0).all()
    assert (tracks["track_ndf"] == 2 * 5 - 5).all()
    # the circle through the vertex, tangent to the radial direction there, passes r²/2R from the origin
    radius = 5.0 / (C_CURV * B)
    assert np.abs(tracks["track_d0"]) == pytest.approx(200.0**2 / (2.0 * radius), rel=0.01)


def test_calorimeter_extrapolation_lands_on_the_cylinder_or_the_disk() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    pt = rng.uniform(0.3, 50.0, n)
    eta, phi = rng.uniform(-2.5, 2.5, n), rng.uniform(-np.pi, np.pi, n)
    gen = particle_table(
        rng.choice([211, -211, 11, -13], n), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    )
    tracks = _tracks(gen)
    r = np.hypot(tracks["track_calo_x"], tracks["track_calo_y"]).astype(np.float64)
    z = np.abs(tracks["track_calo_z"]).astype(np.float64)
    barrel = np.isclose(r, R_CALO, atol=1e-2) & (z <= Z_CALO + 1e-2)
    endcap = np.isclose(z, Z_CALO, atol=1e-2) & (r <= R_CALO + 1e-2)
    assert (barrel | endcap).all()
    assert barrel.sum() > 100 and endcap.sum() > 100
    # a stiff central track reaches the barrel where its direction points
    stiff = _tracks(_central(8, 500.0))
    phi_calo = np.arctan2(stiff["track_calo_y"], stiff["track_calo_x"])
    assert np.allclose(np.angle(np.exp(1j * (phi_calo - stiff["track_phi"]))), 0.0, atol=2e-3)


def test_same_seed_same_tracks() -> None:
    gen = _central(100, 2.0)
    a, b, c = _tracks(gen, 5), _tracks(gen, 5), _tracks(gen, 6)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["track_d0"], c["track_d0"])
