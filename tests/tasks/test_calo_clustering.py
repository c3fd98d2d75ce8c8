"""The calorimeter clustering task: a small model trained on events of 1-4 separated particles finds, by
condensation inference, every particle of an event with 12 (no maximum number of clusters),
energy_weight_power changes only the potential term, and the task rejects incomplete loss weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from src.compose import build_task
from src.metrics.calo_clusters import cluster_counts, match_clusters
from tests.synthetic_calo import blob_event

SMALL = [
    "task=calo_clustering",
    "model.d_model=16",
    "model.n_layers=2",
    "model.dim_feedforward=32",
    "task.head_hidden=32",
]


def _arrays(data) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in data.to_dict().items() if isinstance(v, torch.Tensor)}


def test_inference_finds_more_particles_than_any_training_event(compose_cfg):
    torch.manual_seed(0)
    task = build_task(compose_cfg(SMALL))
    view = task.view
    rng = np.random.default_rng(0)
    blobs = {"hits_per_particle": 15, "noise_hits": 5, "spacing": 0.5, "energy": (5.0, 20.0)}
    train = [view(blob_event(int(rng.integers(1, 5)), seed=i, **blobs)) for i in range(64)]
    assert max(int(d.object_id.max()) + 1 for d in train) <= 4
    task.normalizer.fit(d.x for d in train)
    optimizer = torch.optim.AdamW(task.parameters(), lr=5e-3)
    for _ in range(200):
        batch = Batch.from_data_list([train[j] for j in rng.choice(len(train), 8, replace=False)])
        loss = task.losses(task(batch), batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    task.eval()
    data = view(blob_event(12, seed=1000, **blobs))
    with torch.no_grad():
        out = task.to_numpy(task(Batch.from_data_list([data])))
    a = _arrays(data)
    clusters = task.evaluation.model_clusters(a, out)
    assert len(np.unique(clusters.labels[clusters.labels >= 0])) == 12
    match = match_clusters(
        labels=clusters.labels,
        hit_energy=a["hit_energy"],
        contrib_hit=a["contrib_hit"],
        contrib_particle=a["contrib_object"],
        contrib_energy=a["contrib_energy"],
    )
    rates = cluster_counts(match).rates()
    assert rates["found_fraction"] == 1.0 and rates["fake_rate"] == 0.0


def test_loss_weights_must_name_every_term(compose_cfg):
    with pytest.raises(ValueError, match="loss_weights"):
        build_task(compose_cfg([*SMALL, "~task.loss_weights.charge"]))


def test_energy_weight_power_weights_the_potential_term(compose_cfg):
    """Hits weighted by energy (power 1) give another potential term than unweighted hits; the other terms
    do not depend on it."""
    events = [blob_event(3, seed=s) for s in (1, 2)]
    terms = {}
    for power in (0.0, 1.0):
        torch.manual_seed(0)
        task = build_task(compose_cfg([*SMALL, f"task.energy_weight_power={power}"]))
        data = [task.view(e) for e in events]
        task.normalizer.fit(d.x for d in data)
        batch = Batch.from_data_list(data)
        with torch.no_grad():
            terms[power] = {k: float(v) for k, v in task.losses(task(batch), batch).items()}
    assert terms[0.0]["potential"] != pytest.approx(terms[1.0]["potential"], rel=1e-3)
    for key in ("beta", "type", "direction"):
        assert terms[0.0][key] == pytest.approx(terms[1.0][key], rel=1e-6), key
