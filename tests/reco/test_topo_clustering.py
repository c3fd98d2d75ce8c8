"""Asserts the topological clustering on hand-made hit layouts: two separated showers make two clusters
numbered by seed energy, an island without a seed is dropped, a bridge of neighbour-threshold cells merges
two showers while a gap does not, boundary cells join without growing, adjacent layers are neighbours but
not layers two apart nor other subdetector groups, cluster energies/positions/spreads/truth are exact sums,
cell sizes are derived from the data, and a missing noise figure is named; the tuning options: a seed must
reach ``seed_mip`` MIPs, ``layer_reach`` links layers that far apart, clusters with two separated local
maxima split (one shower's maxima in successive layers count once) and small fragments merge into the
nearest more energetic cluster within the cone, energy conserved and clusters numbered by seed energy
throughout."""

from __future__ import annotations

import time

import numpy as np
import pytest

from src.reco.topo_clustering import TopoClustering, derive_cell_size
from tests.reco.calo_layouts import ECAL_DEPTH, ECAL_PITCH, HCAL_PITCH, hits, merge, shower, synthetic_event

SIGMA = 0.01  # GeV: seed 0.04, neighbour 0.02
CLUSTERING = TopoClustering(noise={"ecal_barrel": SIGMA, "hcal_barrel": SIGMA})


def test_two_separated_showers_make_two_clusters_with_exact_sums() -> None:
    event = hits(
        shower(0.0, 0.0, peak=0.10, halo=0.03, particle=0)
        + shower(100.0, 0.0, peak=0.20, halo=0.03, particle=1)
    )
    out = CLUSTERING(event)
    assert len(out["cluster_energy"]) == 2
    # numbered by seed energy: the 0.2 GeV seed's shower first
    np.testing.assert_array_equal(out["hit_cluster"], np.repeat([1, 0], 18))
    assert out["cluster_energy"].tolist() == pytest.approx([2 * (0.2 + 8 * 0.03), 2 * (0.1 + 8 * 0.03)])
    assert out["cluster_n_hits"].tolist() == [18, 18]
    assert out["cluster_y"].tolist() == pytest.approx([100.0, 0.0], abs=1e-4)
    assert out["cluster_particle"].tolist() == [1, 0]
    assert out["cluster_energy_ecal"].tolist() == pytest.approx(out["cluster_energy"].tolist())
    assert out["cluster_energy_hcal"].tolist() == [0.0, 0.0]
    # energy-weighted spread of a symmetric 3×3 pattern: Σ w y² / Σ w
    w_halo = 6 * 0.03 * ECAL_PITCH**2 / (0.2 + 8 * 0.03)
    assert out["cluster_sigma_y"][0] == pytest.approx(np.sqrt(w_halo), rel=1e-5)
    assert out["cluster_sigma_x"][0] == pytest.approx(2.5, rel=1e-5)  # two layers 5 mm apart


def test_an_island_without_a_seed_is_dropped() -> None:
    island = [(300.0 + k * ECAL_PITCH, 0.0, 0, 0.03, 2) for k in range(4)]  # 3σ cells, no 4σ seed
    event = hits(shower(0.0, 0.0, peak=0.10, halo=0.03, particle=0) + island)
    out = CLUSTERING(event)
    assert len(out["cluster_energy"]) == 1
    assert (out["hit_cluster"][-4:] == -1).all()


@pytest.mark.parametrize(("bridge", "n_clusters"), [(0.025, 1), (0.015, 2)])
def test_a_bridge_of_neighbour_cells_merges(bridge: float, n_clusters: int) -> None:
    seeds = [(0.0, 0.0, 0, 0.10, 0), (6 * ECAL_PITCH, 0.0, 0, 0.10, 1)]
    chain = [(k * ECAL_PITCH, 0.0, 0, 0.025, 2) for k in (1, 2, 4, 5)] + [(3 * ECAL_PITCH, 0.0, 0, bridge, 2)]
    out = CLUSTERING(hits(seeds + chain))
    assert len(out["cluster_energy"]) == n_clusters
    assert out["cluster_energy"].sum() == pytest.approx(
        0.2 + 4 * 0.025 + bridge
    )  # cell threshold 0: all kept


def test_boundary_cells_join_but_do_not_grow() -> None:
    cells = [(0.0, 0.0, 0, 0.10, 0), (ECAL_PITCH, 0.0, 0, 0.01, 0), (2 * ECAL_PITCH, 0.0, 0, 0.01, 0)]
    out = CLUSTERING(hits(cells))
    assert out["hit_cluster"].tolist() == [0, 0, -1]
    strict = TopoClustering(noise={"ecal_barrel": SIGMA}, cell_threshold=1.5)
    assert strict(hits(cells))["hit_cluster"].tolist() == [0, -1, -1]


def test_neighbours_span_adjacent_layers_only_and_one_group() -> None:
    cells = [
        (0.0, 0.0, 0, 0.10, 0),
        (0.0, 0.0, 1, 0.03, 0),
        (0.0, 0.0, 3, 0.03, 0),
        (ECAL_PITCH, 0.0, 3, 0.10, 0),
    ]
    out = CLUSTERING(hits(cells))
    assert out["hit_cluster"].tolist() == [0, 0, 1, 1]
    ecal = hits([(0.0, 0.0, 0, 0.10, 0)])
    hcal = hits([(0.0, 0.0, 0, 0.12, 1), (HCAL_PITCH, 0.0, 0, 0.03, 1)], subdetector="hcal_barrel")
    hcal["hit_x"][:] = ecal["hit_x"][0] + 1.0  # right behind the ECAL cell, but another subdetector group
    out = CLUSTERING(merge(ecal, hcal))
    assert out["hit_cluster"].tolist() == [1, 0, 0]
    assert out["cluster_energy_hcal"][0] == pytest.approx(0.15)
    assert out["cluster_energy_ecal"][1] == pytest.approx(0.10)


def test_truth_is_the_particle_with_most_energy() -> None:
    event = hits([(0.0, 0.0, 0, 0.10, 3), (ECAL_PITCH, 0.0, 0, 0.03, 5), (-ECAL_PITCH, 0.0, 0, 0.03, 5),
                  (0.0, ECAL_PITCH, 0, 0.03, 5)])  # fmt: skip
    assert CLUSTERING(event)["cluster_particle"].tolist() == [3]
    # two contributions in the seed hit: particle 5 deposited 0.08 of its 0.10 GeV
    event["hit_contrib_ptr"] = np.array([0, 2, 3, 4, 5])
    event["hit_contrib_particle"] = np.array([3, 5, 5, 5, 5], dtype=np.int32)
    event["hit_contrib_energy"] = np.array([0.02, 0.08, 0.03, 0.03, 0.03], dtype=np.float32)
    assert CLUSTERING(event)["cluster_particle"].tolist() == [5]


def test_cell_size_and_layer_gap_are_derived_from_the_data() -> None:
    event = hits(shower(0.0, 0.0, peak=0.1, halo=0.03, particle=0, layers=3))
    xyz = np.stack([event[f"hit_{a}"] for a in "xyz"], axis=1).astype(np.float64)
    cell, gap = derive_cell_size(xyz, event["hit_layer"].astype(np.int64))
    assert cell == pytest.approx(ECAL_PITCH, rel=1e-5)
    assert gap == pytest.approx(5.0, rel=1e-5)
    # cells 1 mm wide: only the cells right behind each other neighbour; the seedless halo columns drop
    given = TopoClustering(noise={"ecal_barrel": SIGMA}, cell_size={"ecal_barrel": 1.0})
    assert given(event)["cluster_n_hits"].tolist() == [3]
    assert CLUSTERING(event)["cluster_n_hits"].tolist() == [27]


def test_a_missing_noise_figure_is_named() -> None:
    with pytest.raises(ValueError, match="hcal_barrel"):
        TopoClustering(noise={"ecal_barrel": SIGMA})(hits([(0.0, 0.0, 0, 0.1, 0)], subdetector="hcal_barrel"))
    with pytest.raises(ValueError, match="unknown subdetectors"):
        TopoClustering(noise={"ecal": SIGMA})


def test_a_busy_event_clusters_fast() -> None:
    event = synthetic_event(80, np.random.default_rng(0))
    assert len(event["hit_energy"]) > 10000
    clustering = TopoClustering(noise={"ecal_barrel": 0.002, "hcal_barrel": 0.005})
    clustering(event)  # warm-up
    start = time.process_time()
    out = clustering(event)
    elapsed = time.process_time() - start
    member = out["hit_cluster"] >= 0
    assert out["cluster_n_hits"].sum() == member.sum()
    assert out["cluster_energy"].sum() == pytest.approx(event["hit_energy"][member].sum(), rel=1e-5)
    assert elapsed < 1.0  # ~0.1 s on one core; generous for a loaded CI machine


def topo(**options: object) -> TopoClustering:
    """The clustering of the ECAL layouts with given cell size and layer gap, and ``options``."""
    geometry = {"cell_size": {"ecal_barrel": ECAL_PITCH}, "layer_gap": {"ecal_barrel": ECAL_DEPTH}}
    return TopoClustering(noise={"ecal_barrel": SIGMA}, **geometry, **options)  # type: ignore[arg-type]


def test_a_seed_must_reach_seed_mip_mips() -> None:
    isolated = [(300.0, 0.0, 0, 0.05, 2)]  # 5σ, but half a MIP of 0.1 GeV
    event = hits(shower(0.0, 0.0, peak=0.3, halo=0.03, particle=0) + isolated)
    assert len(topo()(event)["cluster_energy"]) == 2
    out = topo(mip={"ecal_barrel": 0.1}, seed_mip=1.0)(event)
    assert len(out["cluster_energy"]) == 1 and out["hit_cluster"][-1] == -1
    with pytest.raises(ValueError, match=r"no mip for subdetectors \['ecal_barrel'\]"):
        topo(seed_mip=1.0)(event)


def test_layer_reach_links_layers_that_far_apart() -> None:
    cells = [(0.0, 0.0, 0, 0.10, 0), (0.0, 0.0, 2, 0.10, 0), (0.0, 0.0, 5, 0.10, 0)]
    assert topo()(hits(cells))["hit_cluster"].tolist() == [0, 1, 2]
    assert topo(layer_reach=2)(hits(cells))["hit_cluster"].tolist() == [0, 0, 1]
    assert topo(layer_reach=3)(hits(cells))["hit_cluster"].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="layer_reach must be >= 1"):
        topo(layer_reach=0)


def _bridged(peak_b: float) -> dict:
    """Two 3 × 3 showers 8 cells apart (0.2 GeV and ``peak_b`` peaks) joined by a bridge of 2.5σ cells."""
    bridge = [(k * ECAL_PITCH, 0.0, 0, 0.025, 2) for k in range(2, 7)]
    return hits(
        shower(0.0, 0.0, peak=0.2, halo=0.03, particle=0)
        + shower(8 * ECAL_PITCH, 0.0, peak=peak_b, halo=0.03, particle=1)
        + bridge
    )


def test_a_cluster_with_two_separated_maxima_splits() -> None:
    event = _bridged(0.1)
    assert len(topo()(event)["cluster_energy"]) == 1  # the bridge merges the showers
    out = topo(peak_energy=0.3)(event)
    labels = out["hit_cluster"]
    assert len(out["cluster_energy"]) == 2
    # numbered by seed energy: the 0.2 GeV shower first; each shower whole in its piece
    assert (labels[:18] == 0).all() and (labels[18:36] == 1).all()
    assert set(labels[36:].tolist()) <= {0, 1} and labels[36] == 0 and labels[40] == 1
    assert out["cluster_energy"].sum() == pytest.approx(event["hit_energy"].sum(), rel=1e-6)
    assert out["cluster_particle"].tolist() == [0, 1]
    # a maximum below peak_energy does not count: the 0.1 GeV shower's local energy is ~0.68 GeV
    assert len(topo(peak_energy=0.8)(event)["cluster_energy"]) == 1
    # nor does one within peak_separation cells of a higher one
    assert len(topo(peak_energy=0.3, peak_separation=9.0)(event)["cluster_energy"]) == 1
    # nor one in a subdetector that may not peak
    assert len(topo(peak_energy=0.3, peak_subdetectors=["hcal_barrel"])(event)["cluster_energy"]) == 1


def test_one_showers_maxima_in_successive_layers_count_once() -> None:
    event = hits(shower(0.0, 0.0, peak=0.2, halo=0.03, particle=0, layers=4))
    assert topo(peak_energy=0.1)(event)["cluster_n_hits"].tolist() == [36]


def test_small_fragments_merge_into_the_nearest_more_energetic_cluster_within_the_cone() -> None:
    core = shower(0.0, 0.0, peak=0.3, halo=0.03, particle=0)
    near = [(45.0, 0.0, 0, 0.05, 0), (45.0 + ECAL_PITCH, 0.0, 0, 0.03, 0)]  # 0.03 rad from the core
    far = [(600.0, 0.0, 0, 0.05, 0)]  # 0.38 rad
    other = shower(0.0, 150.0, peak=0.3, halo=0.03, particle=1)  # a second large cluster, 0.1 rad away
    event = hits(core + near + far + other)
    assert len(topo()(event)["cluster_energy"]) == 4
    out = topo(fragment_energy=0.2, merge_cone=0.05)(event)
    assert len(out["cluster_energy"]) == 3
    labels = out["hit_cluster"]
    assert (labels[:20] == labels[0]).all() and labels[20] != labels[0] and labels[21] != labels[0]
    assert out["cluster_energy"].sum() == pytest.approx(event["hit_energy"].sum(), rel=1e-6)
    # a narrower cone leaves the fragment
    assert len(topo(fragment_energy=0.2, merge_cone=0.01)(event)["cluster_energy"]) == 4
    # a threshold above every cluster: each joins a more energetic one within the cone, chains followed
    # (far → near fragment → core), compact showers found past their own hits
    merged = topo(fragment_energy=5.0, merge_cone=0.5)(event)
    assert merged["hit_cluster"].tolist() == [0] * len(labels)
    assert len(topo(fragment_energy=5.0, merge_cone=0.2)(event)["cluster_energy"]) == 2  # far stays


def test_describe_holds_the_tuning_options() -> None:
    plain, tuned = topo().describe(), topo(seed_mip=1.0, mip={"ecal_barrel": 0.1}, peak_energy=0.5).describe()
    assert plain != tuned and tuned["seed_mip"] == 1.0 and tuned["peak"] == [0.5, 4.0]
    assert set(tuned) >= {"mip", "layer_reach", "peak_subdetectors", "fragments"}


def test_a_busy_event_clusters_fast_with_every_option() -> None:
    event = synthetic_event(80, np.random.default_rng(0))
    clustering = TopoClustering(
        noise={"ecal_barrel": 0.002, "hcal_barrel": 0.005}, mip={"ecal_barrel": 0.005, "hcal_barrel": 0.02},
        seed_mip=1.0, layer_reach=2, peak_energy=0.5, fragment_energy=0.5,
    )  # fmt: skip
    clustering(event)  # warm-up
    start = time.process_time()
    out = clustering(event)
    elapsed = time.process_time() - start
    member = out["hit_cluster"] >= 0
    assert out["cluster_energy"].sum() == pytest.approx(event["hit_energy"][member].sum(), rel=1e-5)
    assert elapsed < 2.0
