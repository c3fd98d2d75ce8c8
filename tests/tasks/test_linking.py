"""The linking task end to end on tiny ntuple events: the contrastive term and the global-attention
variant train and test; the working point is checked; the feature scaling logs the heavy-tailed columns
and lives in the checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from src.compose import build_task
from src.evaluate import load_checkpoint
from src.tasks.linking import LinkingTask, LogNormalizer, log_mask
from src.train import train
from tests.conftest import run_config
from tests.e2e.keys import LINKING_KEYS


def _overrides(ntuples: Path) -> list[str]:
    return [
        "task=linking",
        "dataset=ticl_ntuple",
        f"dataset.path={ntuples}",
        "dataset.split=[8,2,2]",
        "dataset.progress=false",
    ]


@pytest.mark.parametrize(
    "extra",
    [
        ["model=gnn_linker", "task.contrastive_weight=1e-4", "task.focal_weight=100", "trainer.max_epochs=1"],
        ["model=punet", "model.attention_layers=1", "debug=fast_dev_run"],
        ["model=gnn_linker", "task.working_point=missed_plus_contaminating_sig", "trainer.max_epochs=1"],
    ],
    ids=["contrastive", "punet", "energy_working_point"],
)
def test_variants_train_and_test(tmp_path: Path, linking_ntuples: Path, extra: list[str]) -> None:
    train(run_config([*_overrides(linking_ntuples), *extra], tmp_path, tmp_path / "cache"))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary.keys() >= LINKING_KEYS
    if "debug=fast_dev_run" in extra:
        return
    task, meta = load_checkpoint(tmp_path / "checkpoints" / "best.ckpt")
    assert (
        isinstance(task, LinkingTask) and bool(task.normalizer.fitted) and bool(task.edge_normalizer.fitted)
    )
    assert summary["test/edge_threshold"] == pytest.approx(meta["edge_threshold"])


def test_log_normalizer_and_unknown_names() -> None:
    norm = LogNormalizer(2, [True, False])
    x = torch.tensor([[0.0, 1.0], [99.0, 3.0]])
    norm.fit([x])
    logged = torch.tensor([0.0, torch.log1p(torch.tensor(99.0))])
    assert torch.allclose(norm.mean, torch.tensor([logged.mean(), 2.0]))
    assert torch.allclose(norm(x)[:, 1], (x[:, 1] - 2.0) / norm.std[1])
    with pytest.raises(ValueError, match=r"task.log_features: unknown feature\(s\) \['energy'\]"):
        log_mask(("raw_energy",), ("energy",), "task.log_features")


def test_an_unknown_working_point_is_refused(compose_cfg) -> None:
    overrides = ["task=linking", "model=gnn_linker", "dataset=ticl_ntuple", "dataset.path=none"]
    cfg = compose_cfg([*overrides, "task.working_point=auprc"])
    with pytest.raises(ValueError, match=r"task\.working_point='auprc'; allowed: \['f1'"):
        build_task(cfg)
