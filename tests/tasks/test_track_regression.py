"""The track regression task in the helix frame: the frame loss is zero when the head gives each hit its
track's z0 and curvature and grows with their error, the charge is the curvature's sign, the clustering
coordinates are the predicted (θ, sin φ, cos φ) and the weighted (z0, κ), and the frame options refuse
other frames."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch, Data

from src.compose import build_task
from src.data.views import from_frame

TASK = ["task=track_regression", "model=transformer_regressor", "model.n_layers=1"]


def _batch(task, n: int = 40) -> tuple[Batch, torch.Tensor]:
    """A batch of one event of n hits with particles, its targets made from known head outputs."""
    gen = torch.Generator().manual_seed(0)
    pos = torch.randn(n, 3, generator=gen) * torch.tensor([300.0, 300.0, 500.0])
    truth = torch.stack([torch.randn(n, generator=gen) * 0.4, torch.randn(n, generator=gen)], dim=1)
    y = from_frame("helix", truth.double(), pos.double(), task.target_names).float()
    data = Data(
        x=torch.randn(n, task.view.inputs.num_features, generator=gen),
        coords=torch.randn(n, task.view.inputs.coords_dim, generator=gen),
        hit_pos=pos,
        y=y,
        helix_y=truth,
        target_mask=torch.ones(n, dtype=torch.bool),
        weight=torch.rand(n, generator=gen),
        num_nodes=n,
    )
    return Batch.from_data_list([data]), truth


def test_frame_loss_is_zero_at_the_truth_and_the_charge_is_the_curvatures_sign(compose_cfg) -> None:
    task = build_task(compose_cfg(TASK))
    assert task.frame_loss and task.target_names == ["theta", "sin_phi", "cos_phi", "q"]
    assert task.head.out_features == 2  # z0 and κ; θ, φ and q follow from them
    batch, truth = _batch(task)
    pred = from_frame("helix", truth, batch.hit_pos, task.target_names)
    loss, per_target = task.loss(pred, batch, truth)
    assert float(loss) == 0.0 and float(per_target.max()) < 1e-10
    assert torch.equal(pred[:, 3], -torch.sign(truth[:, 1]))
    off = truth + torch.tensor([0.1, 0.0])
    assert float(task.loss(from_frame("helix", off, batch.hit_pos, task.target_names), batch, off)[0]) == (
        pytest.approx(0.01 / 2, rel=1e-5)
    )
    with pytest.raises(ValueError, match="outputs"):
        task.loss(pred, batch)
    out, _ = task.outputs(batch)
    assert out.shape == (len(truth), 2)


def test_cluster_points_are_the_direction_and_the_weighted_helix(compose_cfg) -> None:
    task = build_task(compose_cfg([*TASK, "task.cluster_frame_weight=0.5"]))
    batch, truth = _batch(task)
    pred = from_frame("helix", truth, batch.hit_pos, task.target_names)
    points = task.cluster_points(truth, pred)
    expected = torch.cat([pred[:, :3], 0.5 * truth], dim=1)
    torch.testing.assert_close(torch.from_numpy(points), expected)


@pytest.mark.parametrize("option", ["task.frame_loss=true", "task.cluster_frame_weight=0.3"])
def test_frame_options_need_the_helix_frame(compose_cfg, option: str) -> None:
    overrides = [*TASK, "task.target_frame=plain", "task.frame_loss=false", "task.cluster_frame_weight=0"]
    build_task(compose_cfg(overrides))
    with pytest.raises(ValueError, match="target_frame=helix"):
        build_task(compose_cfg([*overrides, option]))
