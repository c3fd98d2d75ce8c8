"""LST ntuples: simulate → write → read gives exactly the simulation's own LS events (features, ids, truth);
the study's truth layouts are read; every bad input is an error naming the file, the event and the branch."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from src.data.sources import LSTNtupleSource, SimulatedLSSource
from src.io.errors import (
    CorruptFileError,
    EmptyEventError,
    EventTooLargeError,
    LayoutError,
    MissingFieldError,
    NonFiniteError,
    ReaderError,
)
from src.io.lst_ntuple import LSTNtuple, write_lst_ntuple
from src.reco.lst import LSTConfig
from src.sim.tracker.config import TrackerSimConfig


def _write(path: Path, events: list[dict], **changes) -> Path:
    """Write copies of ``events`` with ``changes``: ``drop=[branches]``, ``rename={old: new}``,
    ``set={(event, branch, row): value}``, ``empty=event`` (no LS in that event)."""
    out = []
    for i, original in enumerate(events):
        event = {k: np.array(v, copy=True) for k, v in original.items() if k not in changes.get("drop", ())}
        for old, new in changes.get("rename", {}).items():
            event[new] = event.pop(old)
        for (j, branch, row), value in changes.get("set", {}).items():
            if j == i:
                event[branch][row] = value
        if changes.get("empty") == i:
            event = {k: (v[:0] if k.startswith("LS_") else v) for k, v in event.items()}
        out.append(event)
    return write_lst_ntuple(path, out)


def test_round_trip_gives_the_simulations_own_events(tmp_path, ntuple_events) -> None:
    path = _write(tmp_path / "sim.root", ntuple_events)
    read = LSTNtupleSource(path)
    own = SimulatedLSSource(
        TrackerSimConfig(pileup=10), LSTConfig(phi_sector=(-0.3, 0.3)), n_events=3, seed=1, cache_dir=tmp_path
    )
    own.prepare(progress=False)
    assert len(read) == 3
    for i in range(3):
        a, b = read.load(i), own.load(i)
        assert a.keys() == b.keys()
        for key in b:
            assert a[key].dtype == b[key].dtype, key
            assert np.array_equal(a[key].numpy(), b[key].numpy(), equal_nan=True), (i, key)
    assert (read.load(0)["particle_id"] < 0).any() and (read.load(0)["particle_id"] >= 0).any()


def test_a_directory_of_ntuples_is_read_in_file_order(tmp_path, ntuple_events) -> None:
    _write(tmp_path / "b.root", ntuple_events[2:])
    _write(tmp_path / "a.root", ntuple_events[:2])
    source = LSTNtupleSource(tmp_path, n_events=3)
    assert [e for _, e in source.entries] == [0, 1, 0]
    single = LSTNtupleSource(tmp_path / "b.root")
    assert np.array_equal(source.load(2)["x"].numpy(), single.load(0)["x"].numpy())


def test_truth_from_ls_tcidx_and_is_fake(tmp_path, ntuple_events) -> None:
    fake = int(np.argmax(ntuple_events[0]["LS_SimTrkIdx"] >= 0))
    path = _write(
        tmp_path / "tc.root",
        ntuple_events,
        rename={"LS_SimTrkIdx": "LS_TCidx"},
        set={(0, "LS_isFake", fake): 1},
        drop=["LS_sim_pt", "LS_sim_eta"],
    )
    ntuple = LSTNtuple(path)
    assert ntuple.truth == "LS_TCidx"
    event = ntuple.read(0)
    expected = ntuple_events[0]["LS_SimTrkIdx"].copy()
    expected[fake] = -1
    assert event["particle_id"].tolist() == expected.tolist()
    assert np.isnan(event["sim_pt"]).all() and np.isnan(event["sim_eta"]).all()


def test_truth_as_a_list_per_ls_takes_the_first(tmp_path, ntuple_events, monkeypatch) -> None:
    ntuple = LSTNtuple(_write(tmp_path / "t.root", ntuple_events))
    n = len(ntuple_events[0]["LS_pt"])
    lists = [[7, 3]] + [[]] * (n - 2) + [[5]]
    read = ntuple._branch
    monkeypatch.setattr(ntuple, "_branch", lambda b, e: ak.Array(lists) if b == ntuple.truth else read(b, e))
    pid = ntuple.read(0)["particle_id"]
    fake = ntuple_events[0]["LS_isFake"] != 0
    expected = np.array([7] + [-1] * (n - 2) + [5])
    expected[fake] = -1
    assert pid.tolist() == expected.tolist()


def _raises(
    error: type, path: Path, *, event: int | None, field: str | None, read: int | None = None, budget=None
):
    """The reader's error on ``path`` (opening it, or reading entry ``read``), checked to name the file,
    the event and the field."""
    with pytest.raises(error) as info:
        ntuple = LSTNtuple(path, max_event_size=budget)
        if read is not None:
            ntuple.read(read)
    err = info.value
    message = str(err)
    assert str(path) in message and err.path == path
    if field is not None:
        assert f"field '{field}'" in message and err.field == field
    if event is not None:
        assert f"event {event}" in message and err.event == event
    return err


def test_missing_branch(tmp_path, ntuple_events) -> None:
    path = _write(tmp_path / "m.root", ntuple_events, drop=["MD_dphichange"])
    err = _raises(MissingFieldError, path, event=None, field="MD_dphichange")
    assert "Write the ntuple again" in str(err)
    path = _write(tmp_path / "t.root", ntuple_events, drop=["LS_SimTrkIdx"])
    assert "LS_TCidx" in str(_raises(MissingFieldError, path, event=None, field="LS_SimTrkIdx"))


def test_truncated_and_non_root_files(tmp_path, ntuple_events) -> None:
    good = _write(tmp_path / "good.root", ntuple_events).read_bytes()
    cut = tmp_path / "cut.root"
    cut.write_bytes(good[: len(good) // 2])
    err = _raises(CorruptFileError, cut, event=None, field=None)
    assert "cut short" in str(err)
    text = tmp_path / "text.root"
    text.write_text("event,x\n0,1\n")
    _raises(CorruptFileError, text, event=None, field=None)


def test_wrong_tree_name(tmp_path, ntuple_events) -> None:
    path = _write(tmp_path / "w.root", ntuple_events)
    with pytest.raises(CorruptFileError, match=r"dataset\.tree"):
        LSTNtuple(path, tree="events")


@pytest.mark.parametrize(
    ("branch", "value"), [("MD_0_x", np.nan), ("LS_pt", np.inf), ("MD_dphichange", -np.inf)]
)
def test_non_finite_values(tmp_path, ntuple_events, branch: str, value: float) -> None:
    path = _write(tmp_path / "nan.root", ntuple_events, set={(1, branch, 0): value})
    LSTNtuple(path).read(0)  # the other events are fine
    err = _raises(NonFiniteError, path, event=1, field=branch, read=1)
    assert "dataset.on_bad_event=skip" in str(err)


def test_empty_event(tmp_path, ntuple_events) -> None:
    path = _write(tmp_path / "empty.root", ntuple_events, empty=2)
    _raises(EmptyEventError, path, event=2, field="LS_pt", read=2)


def test_event_over_the_budget(tmp_path, ntuple_events) -> None:
    path = _write(tmp_path / "big.root", ntuple_events)
    big = int(np.argmax([len(e["LS_pt"]) > 50 for e in ntuple_events]))
    assert len(ntuple_events[big]["LS_pt"]) > 50
    err = _raises(EventTooLargeError, path, event=big, field="LS_pt", read=big, budget=50)
    assert "dataset.max_event_size=50" in str(err)


def test_index_out_of_range(tmp_path, ntuple_events) -> None:
    path = _write(tmp_path / "idx.root", ntuple_events, set={(0, "LS_MD_idx1", 3): 10**6})
    err = _raises(LayoutError, path, event=0, field="LS_MD_idx1", read=0)
    assert "LS 3 points at mini-doublet 1000000" in str(err)


def test_every_reader_error_is_a_value_error() -> None:
    for error in (CorruptFileError, MissingFieldError, LayoutError, NonFiniteError, EmptyEventError):
        assert issubclass(error, ReaderError) and issubclass(error, ValueError)
