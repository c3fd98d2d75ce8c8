"""Every task × model pair trains and tests in this process (``train(cfg)`` on a config composed as the
command line would, over one session-wide tiny cache) and writes its summary; a short run learns: the pileup
classifier beats the trivial one and track regression beats random track labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from src.evaluate import evaluate
from src.metrics.trackml_score import trackml_score
from src.train import train
from tests.conftest import TINY_CALO, TINY_HITS, TINY_PF, TINY_PF_SIM, TINY_SIM, TINY_TICL, run_config
from tests.e2e.keys import (
    CALO_CLUSTERING_KEYS,
    LINKING_KEYS,
    PF_KEYS,
    PILEUP_KEYS,
    PROVENANCE,
    REGRESSION_KEYS,
    TRACKING_KEYS,
)

#: (task, model, extra overrides, summary keys): the supported matrix.
MATRIX = [
    ("pileup", "hept", TINY_SIM, PILEUP_KEYS),
    ("pileup", "mlp", TINY_SIM, PILEUP_KEYS),
    ("pileup", "gbdt", TINY_SIM, PILEUP_KEYS),
    ("tracking", "hept", TINY_SIM, TRACKING_KEYS),
    ("tracking", "mlp", TINY_SIM, TRACKING_KEYS),
    ("track_regression", "transformer_regressor", [*TINY_HITS, "attention=full"], REGRESSION_KEYS),
    ("track_regression", "transformer_regressor", [*TINY_HITS, "attention=hept"], REGRESSION_KEYS),
    ("track_regression", "transformer_regressor", [*TINY_HITS, "attention=window"], REGRESSION_KEYS),
    ("linking", "gnn_linker", TINY_TICL, LINKING_KEYS),
    ("linking", "punet", TINY_TICL, LINKING_KEYS),
    ("particle_flow", "mlpf", [*TINY_PF, "attention=full"], PF_KEYS),
    ("particle_flow", "mlpf", [*TINY_PF, "attention=hept"], PF_KEYS),
    ("particle_flow", "mlpf", [*TINY_PF, "attention=window"], PF_KEYS),
    ("particle_flow", "mlpf", TINY_PF_SIM, PF_KEYS),  # the default dataset: simulated tt-bar events
    ("calo_clustering", "transformer", [*TINY_CALO, "attention=full"], CALO_CLUSTERING_KEYS),
    ("calo_clustering", "transformer", [*TINY_CALO, "attention=hept"], CALO_CLUSTERING_KEYS),
    ("calo_clustering", "hept", [*TINY_CALO, "model.link_heads=0"], CALO_CLUSTERING_KEYS),
    ("calo_clustering", "mlp", TINY_CALO, CALO_CLUSTERING_KEYS),
]


def _run(overrides: list[str], out: Path, cache: Path) -> tuple[dict[str, float], dict]:
    metrics, objects = train(run_config(overrides, out, cache))
    return metrics, json.loads((out / "summary.json").read_text()) | {"_objects": objects}


@pytest.mark.parametrize(
    "case", MATRIX, ids=[f"{t}-{m}" + ("-" + e[-1] if "attention" in e[-1] else "") for t, m, e, _ in MATRIX]
)
def test_fast_dev_run(tmp_path, session_cache, request, case: tuple) -> None:
    task, model, extra, keys = case
    if TINY_PF[0] in extra:
        request.getfixturevalue("synthetic_pf")
    _, summary = _run(
        [f"task={task}", f"model={model}", "debug=fast_dev_run", *extra], tmp_path, session_cache
    )
    assert summary.keys() >= keys | PROVENANCE
    assert (tmp_path / "summary.json").is_file()


def test_a_short_pileup_run_beats_the_trivial_classifier(tmp_path, session_cache) -> None:
    """AUPRC of a constant score is the positive fraction; three epochs of the MLP must clear it by 0.05."""
    metrics, summary = _run(
        ["task=pileup", "model=mlp", "trainer.max_epochs=3", *TINY_SIM], tmp_path, session_cache
    )
    datamodule = summary["_objects"]["datamodule"]
    labels = np.concatenate([d.y.numpy() for d in datamodule.datasets["test"]])
    assert 0.05 < labels.mean() < 0.95
    print(f"AUPRC {metrics['test/auprc']:.3f}, positive fraction {labels.mean():.3f}")
    assert metrics["test/auprc"] > labels.mean() + 0.05, (metrics["test/auprc"], labels.mean())
    ckpt = tmp_path / "checkpoints" / "best.ckpt"
    evaluated, _ = evaluate(
        run_config(
            [f"ckpt_path={ckpt}", *TINY_SIM, "dataset.split=all"],
            tmp_path / "eval",
            session_cache,
            name="evaluate",
        )
    )
    assert 0.0 < evaluated["test/auprc"] <= 1.0


def test_a_short_track_regression_run_beats_random_tracks(tmp_path, session_cache) -> None:
    """Four epochs of the regressor on the tiny hit events: its TrackML score is above that of random track
    labels with the same number of tracks per event (which scores ~0)."""
    metrics, summary = _run(
        ["task=track_regression", "model=transformer_regressor", "trainer.max_epochs=4", *TINY_HITS],
        tmp_path,
        session_cache,
    )
    rng = np.random.default_rng(0)
    random_scores = []
    for data in summary["_objects"]["datamodule"].datasets["test"]:
        pid, weight = data.particle_id.numpy(), data.weight.numpy()
        n_tracks = len(np.unique(pid[pid > 0]))
        random_scores.append(
            trackml_score(particle_id=pid, weight=weight, track_id=rng.integers(0, n_tracks, len(pid)))
        )
    print(f"TrackML score {metrics['test/trackml_score']:.3f}, random labels {np.mean(random_scores):.3f}")
    assert metrics["test/trackml_score"] > float(np.mean(random_scores)) + 0.1, (
        metrics["test/trackml_score"],
        random_scores,
    )


def test_gbdt_is_fitted_once_and_restored_from_its_checkpoint(tmp_path, session_cache) -> None:
    """model=gbdt: fitted on the training events with no optimiser step, one epoch, its trees in the
    checkpoint; src.evaluate rebuilds it from the checkpoint alone and scores the test events alike."""
    metrics, summary = _run(["task=pileup", "model=gbdt", *TINY_SIM], tmp_path, session_cache)
    task = summary["_objects"]["task"]
    assert not any(p.requires_grad for p in task.parameters())
    assert task.configure_optimizers() is None  # no optimiser
    assert summary["epochs_completed"] == 1
    assert metrics["test/auprc"] > 0.0
    ckpt = torch.load(tmp_path / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    trees = ckpt["state_dict"]["backbone._extra_state"]
    assert trees["feature"].numel() > 0 and trees["roots"].shape[1] >= 1
    evaluated, objects = evaluate(
        run_config(
            [f"ckpt_path={tmp_path / 'checkpoints' / 'best.ckpt'}", *TINY_SIM],
            tmp_path / "eval",
            session_cache,
            name="evaluate",
        )
    )
    assert objects["task"].backbone.is_fitted
    assert evaluated["test/auprc"] == pytest.approx(metrics["test/auprc"], abs=1e-6)
    assert evaluated["test/precision@recall0.99"] == pytest.approx(metrics["test/precision@recall0.99"])


def test_a_checkpoint_of_another_dataset_initialises_and_one_of_the_same_resumes(
    tmp_path, session_cache
) -> None:
    """ckpt_path of another experiment (here: another simulated pileup) starts a fine-tuning run from its
    weights with a fresh optimiser; ckpt_path of the same experiment resumes it (epochs continue)."""
    base = ["task=pileup", "model=mlp", *TINY_SIM]
    _run([*base, "trainer.max_epochs=1"], tmp_path / "sim", session_cache)
    source = tmp_path / "sim" / "checkpoints" / "last.ckpt"
    weights = torch.load(source, map_location="cpu", weights_only=True)["state_dict"]
    other = [*base, "dataset.pileup=15", "trainer.max_epochs=1"]
    _, summary = _run([*other, f"ckpt_path={source}"], tmp_path / "tuned", session_cache)
    assert summary["initialised_from"] == str(source) and summary["resumed_from"] is None
    assert summary["epochs_completed"] == 1  # a fresh schedule, not the source's epoch count
    task = summary["_objects"]["task"]
    assert torch.equal(task.normalizer.mean, weights["normalizer.mean"])  # the source's normalisation kept
    tuned = tmp_path / "tuned" / "checkpoints" / "last.ckpt"
    _, resumed = _run(
        [*other, "trainer.max_epochs=2", f"ckpt_path={tuned}"], tmp_path / "more", session_cache
    )
    assert resumed["resumed_from"] == str(tuned) and resumed["initialised_from"] is None
    assert resumed["epochs_completed"] == 2


EXPERIMENT_SMOKE = {
    "hept_cms_real": ["dataset.path=${paths.shared_data_dir}/hept-cms-lst/pu50", "dataset.n_events=3"],
    "trackformers_10_50": [*TINY_HITS],
    "trackformers_50_100": [*TINY_HITS, "dataset.particles=[20,30]"],
    "trackformers_200_500": [*TINY_HITS, "dataset.particles=[30,40]", "dataset.pileup=8"],
}


@pytest.mark.parametrize(
    ("experiment", "attention"),
    [
        ("trackformers_10_50", None),
        ("trackformers_50_100", None),
        ("trackformers_200_500", None),
        ("trackformers_200_500", "hept"),
        ("trackformers_200_500", "window"),
    ],
)
def test_experiment_runs_fast_dev_run(
    tmp_path, session_cache, experiment: str, attention: str | None
) -> None:
    """Each study recipe composes and runs one batch of train, validation and test on tiny events."""
    overrides = [f"experiment={experiment}", "debug=fast_dev_run", *EXPERIMENT_SMOKE[experiment]]
    overrides += ["dataset.num_workers=0", "dataset.batch_size=2", "dataset.split=[4,2,2]"]
    _, summary = _run(
        [*overrides, *([f"attention={attention}"] if attention else [])], tmp_path, session_cache
    )
    assert summary.keys() >= REGRESSION_KEYS | PROVENANCE


@pytest.mark.requiresdata
def test_real_data_recipe_runs_fast_dev_run(tmp_path, session_cache, shared_data) -> None:
    """experiment=hept_cms_real composes and runs one batch of train, validation and test on real events."""
    overrides = ["experiment=hept_cms_real", "debug=fast_dev_run", *EXPERIMENT_SMOKE["hept_cms_real"]]
    overrides += ["dataset.split=[[0],[1],[2]]", "dataset.progress=false"]
    _, summary = _run(overrides, tmp_path, session_cache)
    assert summary.keys() >= PILEUP_KEYS | PROVENANCE


@pytest.mark.requiresdata
@pytest.mark.parametrize("task", ["pileup", "tracking"])
def test_real_cms_events_train_and_test(tmp_path, session_cache, shared_data, task: str) -> None:
    overrides = [
        f"task={task}",
        "model=mlp",
        "dataset=hept_cms_raw",
        f"dataset.path={shared_data / 'hept-cms-lst' / 'pu50'}",
        "trainer.max_epochs=1",
        "dataset.progress=false",
    ]
    if task == "tracking":
        overrides.append("task.evaluation.evaluate_all_ls=false")
    _, summary = _run(overrides, tmp_path, session_cache)
    if task == "pileup":
        assert 0.0 < summary["test/auprc"] <= 1.0
        return
    assert 0.0 <= summary["test/ap@k_pt0.0"] <= 1.0
    assert 0.0 <= summary["test/ap@k_lspt0.9"] <= 1.0  # by reconstructed LS pT
    assert summary["test/ap@k_pt0.9"] is None  # no simulated pT in real events
    assert 0.0 <= summary["test/eff_dm_pt0.0"] <= 1.0
