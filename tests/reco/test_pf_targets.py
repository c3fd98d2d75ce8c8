"""Target assignment: one target per element at most, each target particle on exactly one element or merged
into exactly one, and no generated visible energy lost or counted twice (both ways, hand-made and
synthetic events); the visibility and replacement rules; charged classes on tracks, neutral on clusters."""

from __future__ import annotations

import numpy as np
import pytest

from src.event_model import PF_CLASS_PDG, PF_CLASSES, PF_PARTICLE_FEATURES
from src.reco.pf_elements import select_clusters
from src.reco.pf_targets import TargetConfig, assign_targets, target_particles
from src.sim.generators import SIMULATED, concat_tables, particle_table
from tests.calo_events import synthetic_calo_event

E = PF_PARTICLE_FEATURES.index("energy")
PDG = dict(zip(PF_CLASSES, PF_CLASS_PDG, strict=True))


def _along(pdg: list[int], energy: list[float], eta: list[float], phi: list[float], **kw) -> dict:
    """Generator particles with the given energies and directions (momenta from the PDG masses)."""
    from src.sim.generators import pdg_mass_charge

    m = np.array([pdg_mass_charge(p)[0] for p in pdg])
    p = np.sqrt(np.maximum(np.asarray(energy) ** 2 - m**2, 0))
    pt = p / np.cosh(eta)
    return particle_table(pdg, pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), **kw)


def _event(
    gen: dict,
    tracks: list[tuple[int, float]],
    hits: list[tuple[int, list[tuple[int, float]]]],
    n_clusters: int,
) -> dict:
    """A calorimeter event: tracks as (particle, p), hits as (cluster, [(particle, energy), ...])."""
    contrib = [c for _, cs in hits for c in cs]
    return {
        **gen,
        "track_particle": np.array([t for t, _ in tracks], dtype=np.int32),
        "track_p": np.array([p for _, p in tracks], dtype=np.float32),
        "track_charge": np.array([gen["gen_charge"][t] for t, _ in tracks], dtype=np.int8),
        "hit_energy": np.array([sum(e for _, e in cs) for _, cs in hits], dtype=np.float32),
        "hit_cluster": np.array([c for c, _ in hits], dtype=np.int32),
        "hit_contrib_ptr": np.concatenate([[0], np.cumsum([len(cs) for _, cs in hits])]).astype(np.int64),
        "hit_contrib_particle": np.array([p for p, _ in contrib], dtype=np.int32),
        "hit_contrib_energy": np.array([e for _, e in contrib], dtype=np.float32),
        "cluster_energy": np.zeros(n_clusters, dtype=np.float32),
    }


def _check_accounting(event: dict, config: TargetConfig | None = None) -> None:
    """The invariants every assignment must keep."""
    t = assign_targets(event, config or TargetConfig())
    rows = np.concatenate([t.track, t.cluster])
    # one-to-one: each element at most one target, each target particle on exactly one element or merged
    own = t.element[t.element >= 0]
    assert len(np.unique(own)) == len(own)
    assert np.all((t.element >= 0) ^ (t.merged_into >= 0))
    assert np.all(t.element[t.merged_into[t.merged_into >= 0]] >= 0)  # hosts hold an element
    assert np.count_nonzero(rows[:, 0]) == len(own)
    # energy, both ways: Σ over elements == Σ over visible particles (no loss: >=; no double count: <=)
    gen_energy = float(event["gen_energy"][t.particles].sum())
    assert t.visible_energy == pytest.approx(gen_energy)
    assert rows[:, E].sum() >= gen_energy * (1 - 1e-6)
    assert rows[:, E].sum() <= gen_energy * (1 + 1e-6)
    # each element's target is its own particle plus what was merged into it
    for i, e in enumerate(t.element):
        if e >= 0:
            expected = (
                event["gen_energy"][t.particles[i]]
                + event["gen_energy"][t.particles[t.merged_into == i]].sum()
            )
            assert rows[e, E] == pytest.approx(expected, rel=1e-5)


def test_two_photons_in_one_cluster_merge_into_one_target() -> None:
    gen = _along([22, 22], [10.0, 4.0], [0.1, 0.11], [0.5, 0.5])
    event = _event(gen, [], [(0, [(0, 9.0)]), (0, [(1, 3.5)])], n_clusters=1)
    t = assign_targets(event)
    assert t.cluster[0, 0] == PDG["photon"]
    assert t.cluster[0, E] == pytest.approx(14.0, rel=1e-6)
    assert t.element.tolist() == [0, -1] and t.merged_into.tolist() == [-1, 0]
    _check_accounting(event)


def test_tracks_first_then_clusters_and_the_classes() -> None:
    # a pi+ with a track and a shower in cluster 0; a photon in cluster 0 too and a neutron in cluster 1;
    # a muon with a track and a MIP deposit; an electron with a track
    gen = _along(
        [211, 22, 2112, 13, 11], [20.0, 5.0, 8.0, 10.0, 6.0], [0, 0.01, 1.0, -1.0, 0.5], [0, 0, 2, -2, 1]
    )
    hits = [(0, [(0, 12.0), (1, 4.8)]), (1, [(2, 6.0)]), (2, [(3, 1.5)]), (3, [(4, 5.9)])]
    event = _event(gen, [(0, 20.0), (3, 10.0), (4, 6.0)], hits, n_clusters=4)
    t = assign_targets(event)
    assert t.track[:, 0].tolist() == [PDG["charged_hadron"], PDG["muon"], PDG["electron"]]
    # the photon takes cluster 0 (the pion is on its track), the neutron cluster 1
    assert t.cluster[:, 0].tolist() == [PDG["photon"], PDG["neutral_hadron"], 0, 0]
    assert t.track[0, E] == pytest.approx(20.0) and t.cluster[0, E] == pytest.approx(5.0)
    assert t.track[0, 1] == 1 and t.cluster[0, 1] == 0  # charge
    _check_accounting(event)


def test_visibility_needs_a_track_or_more_than_ten_percent_in_clusters() -> None:
    gen = _along([130, 130, 130], [10.0, 10.0, 10.0], [0.0, 1.0, -1.0], [0.0, 1.0, 2.0])
    # 1.5 GeV of 10 in a cluster: visible; 0.9 GeV: not; 5 GeV in a hit of no cluster: not
    event = _event(gen, [], [(0, [(0, 1.5)]), (1, [(1, 0.9)]), (-1, [(2, 5.0)])], n_clusters=2)
    t = assign_targets(event)
    assert t.particles.tolist() == [0]
    assert t.cluster[:, 0].tolist() == [PDG["neutral_hadron"], 0]
    _check_accounting(event)


def test_a_particle_that_left_nothing_is_replaced_by_its_nearby_products() -> None:
    # K0S (left nothing) -> pi+ pi- nearby (each a track) and a far pi0 photon made by the simulation
    k0s = _along([310], [20.0], [0.0], [0.0])
    pions = _along([211, -211], [11.0, 8.0], [0.05, -0.05], [0.05, -0.08], status=SIMULATED)
    far = _along([22], [1.0], [0.0], [1.5], status=SIMULATED)
    gen = concat_tables(k0s, pions, far)
    gen["gen_parent"][1:] = 0
    event = _event(gen, [(1, 11.0), (2, 8.0)], [(0, [(3, 0.9)])], n_clusters=1)
    candidates, owner = target_particles(event)
    assert sorted(candidates.tolist()) == [1, 2]  # the far photon (ΔR 1.5 > 0.2) is not a replacement
    assert owner[0] == owner[3] == -1
    assert candidates[owner[1]] == 1 and candidates[owner[2]] == 2
    t = assign_targets(event)
    assert t.track[:, 0].tolist() == [PDG["charged_hadron"]] * 2
    assert t.cluster[0, 0] == 0
    wide = assign_targets(event, TargetConfig(replace_dr=2.0))
    assert wide.cluster[0, 0] == PDG["photon"]
    _check_accounting(event)
    _check_accounting(event, TargetConfig(replace_dr=2.0))


def test_deposits_of_descendants_belong_to_their_status_one_ancestor() -> None:
    # a photon that showered itself and converted: the conversion electron's track is the photon's
    gamma = _along([22], [10.0], [0.0], [0.0])
    gen = concat_tables(gamma, _along([11], [3.0], [0.0], [0.01], status=SIMULATED))
    gen["gen_parent"][1] = 0
    event = _event(gen, [(1, 3.0)], [(0, [(0, 6.5), (1, 2.5)])], n_clusters=1)
    t = assign_targets(event)
    assert t.particles.tolist() == [0]
    assert t.track[0, 0] == PDG["charged_hadron"]  # a neutral on a track takes a charged class
    assert t.track[0, E] == pytest.approx(10.0)
    _check_accounting(event)


def test_neutrinos_and_soft_particles_are_never_targets() -> None:
    gen = _along([12, 22], [30.0, 0.0009], [0.0, 0.0], [0.0, 0.0])
    event = _event(gen, [], [(0, [(0, 0.0009)])], n_clusters=1)
    assert len(assign_targets(event).particles) == 0


@pytest.mark.parametrize("seed", range(8))
def test_synthetic_events_keep_every_invariant(seed: int) -> None:
    event = synthetic_calo_event(seed, n_particles=40)
    _check_accounting(event)
    _check_accounting(select_clusters(event, event["cluster_energy"] > 2.0))  # fewer clusters, same rules
    t = assign_targets(event)
    assert len(t.particles) > 10
    # classes by element type: charged on tracks, neutral on clusters
    charged = {PDG[c] for c in ("charged_hadron", "electron", "muon")}
    assert set(np.unique(t.track[:, 0])) <= charged | {0}
    assert set(np.unique(t.cluster[:, 0])) <= {PDG["photon"], PDG["neutral_hadron"], 0}
