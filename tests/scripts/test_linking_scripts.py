"""The linking scripts on tiny data: the stability analysis of two checkpoints (flip rates per edge, the
heat map, the disagreement, reproducible for a seed), the synthetic events keeping signal and pileup,
the baseline tuning and the export of a trained checkpoint."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from src.io.ticl_dumper import read_ticl_dumper
from src.train import train
from tests.conftest import REPO, run_config


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data_overrides(linking_ntuples: Path) -> list[str]:
    return [
        "dataset=ticl_ntuple",
        f"dataset.path={linking_ntuples}",
        "dataset.split=[8,2,2]",
        "dataset.progress=false",
    ]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, data_overrides: list[str]) -> Path:
    out = tmp_path_factory.mktemp("run")
    overrides = ["task=linking", "model=gnn_linker", "trainer.max_epochs=2", *data_overrides]
    metrics, _ = train(run_config(overrides, out, out / "cache"))
    assert 0.0 <= metrics["test/edge_f1"] <= 1.0 or np.isnan(metrics["test/edge_f1"])
    return out / "checkpoints" / "best.ckpt"


def test_stability_of_two_checkpoints(tmp_path: Path, checkpoint: Path) -> None:
    stability = _script("linking_stability")
    last = checkpoint.with_name("last.ckpt")
    kw = {"events": 2, "samples": 3, "split": "test", "overrides": [], "seed": 5}
    result = stability.run([checkpoint, last], out=tmp_path / "a", **kw)
    names = [k for k in result if k != "disagreement"]
    assert len(names) == 2 and 0.0 <= result["disagreement"] <= 1.0
    edges = pd.read_csv(tmp_path / "a" / "stability_edges.csv")
    assert len(edges) == 2 * result[names[0]]["edges"]
    assert np.isin(np.round(edges["flip_rate"] * 3, 6), [0, 1, 2, 3]).all()  # flips of 3 draws
    assert (tmp_path / "a" / "plots" / "stability_heatmap.png").stat().st_size > 0
    again = stability.run([checkpoint, last], out=tmp_path / "b", **kw)
    assert json.dumps(again, sort_keys=True) == json.dumps(result, sort_keys=True)


def test_synthetic_events_keep_signal_and_pileup(tmp_path: Path, data_overrides: list[str]) -> None:
    result = _script("linking_synthetic").run(
        data_overrides, events=6, components=2, fit_events=8, out=tmp_path, seed=1
    )
    events = read_ticl_dumper(tmp_path / "synthetic.root")
    assert len(events) == 6
    origin = np.concatenate([e["sim_interaction"] for e in events])
    assert (origin == 0).any() and (origin > 0).any()
    assert result["signal_particles_per_event"] > 0 and result["pileup_particles_per_event"] > 0
    table = result["table"]
    assert list(table["feature"][:3]) == ["barycenter_x", "barycenter_y", "barycenter_z"]
    assert table.loc[table["feature"] == "barycenter_z", "synthetic_mean"].item() > 3000  # in the +z endcap


def test_baseline_tuning_ranks_the_grid_by_f1(data_overrides: list[str]) -> None:
    tune = _script("tune_linking_baseline")
    from hydra import compose, initialize_config_dir

    from src.compose import build_datamodule, build_view

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["task=linking", *data_overrides])
    dm = build_datamodule(cfg, build_view(cfg))
    dm.setup("fit")
    events = [dm.datasets["train"][i] for i in range(len(dm.datasets["train"]))]
    grid = {
        "max_axis_angle": [0.2, 1.0],
        "max_miss_distance": [5.0, 100.0],
        "max_pointing_angle": [1.0],
        "max_delta_z": [1000.0],
    }
    table = tune.score_grid(events, grid, parent_links=True)
    assert len(table) == 4 and table["edge_f1"].is_monotonic_decreasing
    loosest = table[(table.max_axis_angle == 1.0) & (table.max_miss_distance == 100.0)]
    assert loosest["edge_recall"].item() >= table["edge_recall"].max() - 1e-12


def test_export_script_writes_both_formats(
    tmp_path: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["export_linking.py", str(checkpoint), "--out", str(tmp_path / "linker")])
    _script("export_linking").main()
    assert (tmp_path / "linker.pt").stat().st_size > 0 and (tmp_path / "linker.onnx").stat().st_size > 0
