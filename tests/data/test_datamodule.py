"""The DataModule stops at a bad event by default and, with on_bad_event=skip, leaves bad events out of their
split and records each (file, event, field)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from src.data.datamodule import EventDataModule
from src.data.sources import LSTNtupleSource
from src.data.views import LSView
from src.io.errors import EmptyEventError, NonFiniteError
from src.io.lst_ntuple import write_lst_ntuple


@pytest.fixture
def bad_ntuple(tmp_path, ntuple_events):
    """Three events: event 1 has a NaN MD position, event 2 is empty."""
    events = [{k: np.array(v, copy=True) for k, v in e.items()} for e in ntuple_events]
    events[1]["MD_1_z"][4] = np.nan
    events[2] = {k: (v[:0] if k.startswith("LS_") else v) for k, v in events[2].items()}
    return write_lst_ntuple(tmp_path / "bad.root", events)


def test_bad_events_fail_by_default(bad_ntuple) -> None:
    dm = EventDataModule(LSTNtupleSource(bad_ntuple), LSView(links=False), split="all", batch_size=1)
    dm.setup()
    assert dm.test_idx == [0, 1, 2] and not dm.bad_events
    dm.datasets["test"][0]
    with pytest.raises(NonFiniteError, match=r"bad\.root, event 1, field 'MD_1_z'"):
        dm.datasets["test"][1]
    with pytest.raises(EmptyEventError, match=r"bad\.root, event 2, field 'LS_pt'"):
        dm.datasets["test"][2]


@pytest.mark.parametrize("in_memory", [True, False])
def test_skip_leaves_bad_events_out_and_counts_them(bad_ntuple, caplog, in_memory: bool) -> None:
    dm = EventDataModule(
        LSTNtupleSource(bad_ntuple),
        LSView(links=False),
        split=[1, 1, 1],
        batch_size=1,
        on_bad_event="skip",
        in_memory=in_memory,
    )
    with caplog.at_level(logging.WARNING, logger="src.data.datamodule"):
        dm.setup()
    assert sorted(dm.bad_events) == [1, 2]
    assert "field 'MD_1_z'" in dm.bad_events[1] and str(bad_ntuple) in dm.bad_events[1]
    assert sorted(dm.train_idx + dm.val_idx + dm.test_idx) == [0]
    assert "Skipped 2 bad event(s) of 3" in caplog.text and "Skipping bad event 1" in caplog.text
    (kept,) = [name for name in ("train", "val", "test") if len(dm.datasets[name])]
    assert dm.datasets[kept][0].num_nodes == len(LSTNtupleSource(bad_ntuple).load(0)["x"])


def test_on_bad_event_must_be_fail_or_skip(bad_ntuple) -> None:
    with pytest.raises(ValueError, match="on_bad_event must be 'fail' or 'skip'"):
        EventDataModule(
            LSTNtupleSource(bad_ntuple), LSView(links=False), split="all", batch_size=1, on_bad_event="x"
        )
