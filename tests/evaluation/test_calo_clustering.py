"""The calorimeter clustering test stage: oracle model outputs score perfectly next to a baseline and the
event's own clusters, both kinematics modes agree on clean blobs, a candidate called electromagnetic keeps
its own cluster next to a hadron with the smaller EM radius, an event without hit truth gives only
the truth-free figures, a topological clustering runs as the baseline, and the table and plots are
written."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from src.data.calo_view import CaloHitView
from src.evaluation.calo_clustering import CaloClusteringEvaluation
from src.event_model import CALO_TYPE_NAMES
from src.reco.cluster_types import ClusterTyper
from src.reco.topo_clustering import TopoClustering
from tests.synthetic_calo import blob_event


def _arrays(event: dict[str, torch.Tensor], index: int = 0) -> dict[str, np.ndarray]:
    data = CaloHitView(with_time=False, with_tracks=False)(event)
    data.event_index = torch.tensor([index])
    return {k: v.numpy() for k, v in data.to_dict().items() if isinstance(v, torch.Tensor)}


def _oracle(a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Outputs of a perfect model: each object at its own point, one high-β token per object."""
    obj = a["object_id"]
    n = len(obj)
    coords = np.where(obj[:, None] >= 0, np.stack([obj * 3.0, np.zeros(n), np.zeros(n)], 1), 1000.0)
    first = np.unique(obj, return_index=True)[1]
    beta = np.full(n, 0.05)
    beta[first[obj[first] >= 0]] = 0.95
    types = np.eye(len(CALO_TYPE_NAMES))[a["type_id"].clip(min=0)]
    return {
        "coords": coords,
        "beta": beta,
        "type_prob": types,
        "charge_prob": np.eye(3)[a["charge_id"].clip(min=0)],
        "log_energy_factor": a["log_energy_factor"],
        "direction": a["direction"],
    }


def _evaluation(kinematics: str = "condensation_point", baseline=None) -> CaloClusteringEvaluation:
    return CaloClusteringEvaluation(
        beta_threshold=0.5,
        distance_threshold=1.0,
        em_distance_threshold=1.0,
        join_distance=1.0,
        kinematics=kinematics,
        baseline=baseline,
        typer=ClusterTyper(),
    )


@pytest.mark.parametrize("kinematics", ["condensation_point", "energy_weighted"])
def test_oracle_outputs_score_perfectly(tmp_path, kinematics):
    # the baseline merges everything into one cluster
    evaluation = _evaluation(kinematics, baseline=lambda a: np.zeros(len(a["hit_energy"]), dtype=int))
    for i in range(3):
        a = _arrays(blob_event(4, seed=i), index=i)
        evaluation.add_event(a, _oracle(a), model_time=0.01)
    m = evaluation.metrics()
    for key in ("efficiency", "purity", "found_fraction", "ari", "type_accuracy", "charge_accuracy"):
        assert m[f"test/{key}"] == pytest.approx(1.0), key
    assert m["test/fake_rate"] == 0.0
    assert m["test/energy_response"] == pytest.approx(1.0, rel=1e-5)
    assert m["test/energy_resolution"] == pytest.approx(0.0, abs=1e-5)
    assert m["test/direction_resolution"] == pytest.approx(0.0, abs=1e-3)
    assert m["test/clusters_per_particle"] == 1.0
    # the event's own clusters (hit_cluster = the truth partition) are perfect too; the merged baseline
    # finds the largest particle of each event at most
    assert m["reference/efficiency"] == 1.0 and m["reference/ari"] == 1.0
    assert m["baseline/found_fraction"] <= 3 / 12 and m["baseline/clusters_per_event"] == 1.0
    evaluation.write(tmp_path)
    table = evaluation.table()
    assert len(table) == 3 and (table["model_clusters"] == 4).all()
    assert (tmp_path / "test_per_event.csv").is_file()
    for name in ("type_confusion", "energy_response", "efficiency_vs_energy", "event_display_0"):
        assert (tmp_path / "plots" / f"{name}.png").is_file(), name


def test_an_event_without_hit_truth_gives_the_truth_free_figures_only():
    event = blob_event(2, seed=7, hits_per_particle=10, noise_hits=0)
    event["hit_particle"][:] = -1
    for key in ("hit_contrib_particle", "hit_contrib_energy"):
        event[key] = event[key][:0]
    event["hit_contrib_ptr"] = torch.zeros(len(event["hit_energy"]) + 1, dtype=torch.int64)
    a = _arrays(event)
    out = {
        "coords": np.repeat([[0.0, 0, 0], [5.0, 0, 0]], 10, axis=0),
        "beta": np.tile(np.r_[0.9, np.full(9, 0.1)], 2),
        "type_prob": np.full((20, len(CALO_TYPE_NAMES)), 1 / len(CALO_TYPE_NAMES)),
        "charge_prob": np.full((20, 3), 1 / 3),
        "log_energy_factor": np.zeros(20),
        "direction": np.tile([1.0, 0, 0], (20, 1)),
    }
    evaluation = _evaluation()
    evaluation.add_event(a, out, model_time=0.0)
    m = evaluation.metrics()
    assert "test/efficiency" not in m
    assert m["test/clusters_per_particle"] == 1.0
    visible = float(event["gen_energy"].sum())
    assert m["test/clustered_energy_fraction"] == pytest.approx(float(event["hit_energy"].sum()) / visible)
    # without a baseline to run, the event's own clusters are the baseline: the two blobs
    assert m["baseline/clusters_per_particle"] == 1.0
    assert m["baseline/clustered_energy_fraction"] == m["test/clustered_energy_fraction"]
    assert not any(k.startswith("reference/") for k in m)
    assert not any(k.endswith("efficiency") or k.endswith("ari") for k in m)


def test_a_photon_close_to_a_hadron_keeps_its_own_cluster_with_the_em_radius():
    a = _arrays(blob_event(2, seed=3))
    out = _oracle(a)
    obj = a["object_id"]
    out["coords"][obj == 1] = [0.3, 0.0, 0.0]  # the second particle's hits 0.3 from the first's
    types = np.zeros_like(out["type_prob"])
    types[:, CALO_TYPE_NAMES.index("pi+")] = 1.0
    types[obj == 1] = np.eye(len(CALO_TYPE_NAMES))[CALO_TYPE_NAMES.index("gamma")]
    out["type_prob"] = types
    merged = _evaluation().model_clusters(a, out).labels
    evaluation = _evaluation()
    evaluation.em_distance_threshold = 0.2
    separate = evaluation.model_clusters(a, out).labels
    hits = obj[a["is_hit"]]
    assert len(np.unique(merged[hits >= 0])) == 1  # one radius of 1.0: the photon's seed is suppressed
    assert len(np.unique(separate[hits == 0])) == 1 and len(np.unique(separate[hits == 1])) == 1
    assert separate[hits == 0][0] != separate[hits == 1][0]


def test_unknown_kinematics_is_rejected():
    with pytest.raises(ValueError, match="condensation_point"):
        _evaluation("seed")


def test_a_topological_clustering_baseline_is_run_on_each_event():
    """A TopoClustering as the baseline: its clusters of the event's hits are scored under baseline/, the
    event's own clusters under reference/."""
    topo = TopoClustering(noise={"ecal_barrel": 1e-3})
    evaluation = _evaluation(baseline=topo)
    a = _arrays(blob_event(3, seed=5))
    evaluation.add_event(a, _oracle(a), model_time=0.01)
    m = evaluation.metrics()
    assert m["baseline/clusters_per_event"] == topo.cluster(a)[1]
    assert m["reference/ari"] == 1.0
