"""Whole runs on bad input: LS tasks train unchanged on an LST ntuple; with dataset.on_bad_event=skip a run
skips the bad events and counts them in the log and summary.json (by default it stops, naming the file, the
event and the field); a corrupted cache entry is named, rebuilt, and the run completes."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from src.io.errors import NonFiniteError
from src.io.lst_ntuple import write_lst_ntuple
from src.make_dataset import make_dataset
from src.train import train
from tests.conftest import TINY_SIM, run_config


@pytest.fixture
def ntuple_with_a_bad_event(tmp_path, ntuple_events):
    """Five events; event 3 (a copy of event 0) has an infinite LS_eta."""
    events = [{k: np.array(v, copy=True) for k, v in e.items()} for e in (*ntuple_events, *ntuple_events[:2])]
    events[3]["LS_eta"][1] = np.inf
    return write_lst_ntuple(tmp_path / "data" / "ntuple.root", events)


def _overrides(path, *extra: str) -> list[str]:
    return [
        "dataset=lst_ntuple",
        f"dataset.path={path}",
        "dataset.split=[3,1,1]",
        "dataset.split_seed=2",
        *extra,
    ]


@pytest.mark.parametrize("task", ["pileup", "tracking"])
def test_ls_tasks_run_on_an_lst_ntuple(tmp_path, ntuple_events, task: str) -> None:
    path = write_lst_ntuple(tmp_path / "data" / "ntuple.root", [*ntuple_events, *ntuple_events[:2]])
    overrides = [f"task={task}", "model=mlp", "debug=fast_dev_run", *_overrides(path)]
    train(run_config(overrides, tmp_path / "run", tmp_path / "cache"))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["bad_events_skipped"] == 0 and summary["dataset_fingerprint"]


def test_a_run_skips_bad_events_only_when_asked(tmp_path, ntuple_with_a_bad_event, caplog) -> None:
    base = ["task=pileup", "model=mlp", "trainer.max_epochs=1", "trainer.enable_progress_bar=false"]
    cfg = run_config([*base, *_overrides(ntuple_with_a_bad_event)], tmp_path / "fail", tmp_path / "cache")
    with pytest.raises(NonFiniteError, match=r"ntuple\.root, event 3, field 'LS_eta'"):
        train(cfg)
    cfg = run_config(
        [*base, *_overrides(ntuple_with_a_bad_event, "dataset.on_bad_event=skip")],
        tmp_path / "skip",
        tmp_path / "cache",
    )
    with caplog.at_level(logging.WARNING):
        train(cfg)
    summary = json.loads((tmp_path / "skip" / "summary.json").read_text())
    assert summary["bad_events_skipped"] == 1
    assert "event 3, field 'LS_eta'" in summary["bad_events"]["3"]
    assert "Skipped 1 bad event(s) of 5" in caplog.text
    assert 0.0 <= summary["test/auprc"] <= 1.0


def test_a_corrupted_cache_entry_is_rebuilt_and_the_run_completes(tmp_path, caplog) -> None:
    cache = tmp_path / "cache"
    make_dataset(run_config(["task=pileup", *TINY_SIM], tmp_path / "build", cache, name="make_dataset"))
    (entry,) = cache.glob("sim_ls-*")
    damaged = entry / "event_000002.pt"
    good = damaged.read_bytes()
    damaged.write_bytes(good[: len(good) // 3])  # a partial copy
    overrides = [
        "task=pileup",
        "model=mlp",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        *TINY_SIM,
    ]
    with caplog.at_level(logging.WARNING, logger="src.data.cache"):
        train(run_config(overrides, tmp_path / "run", cache))
    assert f"Cached event {damaged}" in caplog.text and "rebuilding it from its source" in caplog.text
    assert damaged.read_bytes() == good
    assert (tmp_path / "run" / "summary.json").is_file()
