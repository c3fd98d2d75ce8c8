"""Export of the linking model: TorchScript and ONNX (run with onnxruntime) give the Python model's edge
scores to 1e-5, on the event used for export and on events of other sizes; backbones that cannot be
exported are refused with the reason."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from src.attention import FullAttention
from src.data.linking import LinkingView
from src.evaluation.linking import LinkingEvaluation
from src.models.gnn_linker import GNNLinker
from src.reco.ticl import TICLConfig, reconstruct
from src.reco.ticl_linking import GeometricLinker
from src.tasks.export import export_linking, inference_model
from src.tasks.linking import LinkingTask
from tests.reco.hgcal_events import hgcal_event, random_particles


def _task(**model: object) -> LinkingTask:
    view = LinkingView()
    model = {"attention_layers": 0, "attention": None} | model
    backbone = GNNLinker(view.inputs, niters=2, hidden_dim=16, edge_hidden_dim=8, dropout=0.3, **model)
    return LinkingTask(
        backbone,
        evaluation=LinkingEvaluation(baseline=GeometricLinker()),
        view=view,
        optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
        monitor="val/edge_f1_best",
        monitor_mode="max",
        warmup_fraction=0.0,
        min_lr_ratio=0.0,
        normalizer_events=4,
        head_hidden=16,
        log_features=("raw_energy", "num_hits"),
        log_edge_features=("delta_raw_energy",),
    )


@pytest.fixture(scope="module")
def graphs() -> list:
    out = []
    for seed in (1, 2, 3):
        event, noise = hgcal_event(
            random_particles(np.random.default_rng(seed), n_signal=3, n_pileup=12), seed=seed
        )
        out.append(
            LinkingView()(
                {
                    k: torch.from_numpy(np.asarray(v))
                    for k, v in reconstruct(event, TICLConfig(), noise=noise, seed=0).items()
                }
            )
        )
    assert len({g.edge_index.shape[1] for g in out}) > 1
    return out


def test_torchscript_and_onnx_match_the_python_model(tmp_path: Path, graphs: list) -> None:
    task = _task()
    task.normalizer.fit(g.x for g in graphs)
    task.edge_normalizer.fit(g.edge_attr for g in graphs)
    first = graphs[0]
    diffs = export_linking(task, tmp_path / "linker", (first.x, first.edge_attr, first.edge_index), atol=1e-5)
    assert diffs["torchscript"] <= 1e-5 and diffs["onnx"] <= 1e-5
    model = inference_model(task)
    scripted = torch.jit.load(str(tmp_path / "linker.pt"))
    session = onnxruntime.InferenceSession(str(tmp_path / "linker.onnx"), providers=["CPUExecutionProvider"])
    for g in graphs[1:]:
        with torch.no_grad():
            reference = model(g.x, g.edge_attr, g.edge_index).numpy()
            np.testing.assert_allclose(scripted(g.x, g.edge_attr, g.edge_index).numpy(), reference, atol=1e-5)
        inputs = {"x": g.x.numpy(), "edge_attr": g.edge_attr.numpy(), "edge_index": g.edge_index.numpy()}
        np.testing.assert_allclose(session.run(["score"], inputs)[0], reference, atol=1e-5)
        # the exported model is the task's own scoring (dropout off)
        task.eval()
        with torch.no_grad():
            batch = torch.zeros(len(g.x), dtype=torch.long)
            logits = task.score_edges(g.x, g.coords, batch, g.edge_index, g.edge_attr)[1]
        np.testing.assert_allclose(torch.sigmoid(logits).numpy(), reference, atol=1e-6)


def test_export_refuses_the_attention_variant() -> None:
    task = _task(attention_layers=1, num_heads=4, attention=functools.partial(FullAttention))
    with pytest.raises(ValueError, match="model=gnn_linker"):
        inference_model(task)
