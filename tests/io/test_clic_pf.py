"""The MLPF CLIC PF layout: write then read gives back every field exactly (events without tracks included);
a file lacking a field or with a wrong width names the file and the field; the on-disk layout is CLIC's
(one record of per-event lists, rows of lists)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from src.io.clic_pf import read_clic_pf, write_clic_pf
from src.reco.jets import JetDefinition
from src.reco.pf_event import pf_event
from src.reco.pf_targets import TargetConfig
from src.reco.rule_based_pf import RuleBasedPF
from tests.calo_events import synthetic_calo_event


def _events(n: int) -> list[dict]:
    return [
        pf_event(
            synthetic_calo_event(i), baseline=RuleBasedPF(), jets=JetDefinition(), targets=TargetConfig()
        )
        for i in range(n)
    ]


def test_round_trip(tmp_path) -> None:
    events = _events(3)
    for name in ("X_track", "ytarget_track", "ycand_track"):  # an event without tracks
        events[1][name] = events[1][name][:0]
    path = write_clic_pf(tmp_path / "pf.parquet", events)
    back = read_clic_pf(path)
    assert len(back) == 3
    for written, read in zip(events, back, strict=True):
        assert set(read) == set(written)
        for name, value in written.items():
            assert np.shape(read[name]) == np.shape(value), name
            np.testing.assert_array_equal(read[name], np.asarray(value, dtype=np.float32), err_msg=name)
    assert back[1]["X_track"].shape == (0, 16)
    raw = ak.from_parquet(path)  # CLIC's layout: one record, each field a list over events
    assert isinstance(raw, ak.Record) and len(raw["X_cluster"]) == 3
    assert str(ak.type(raw["X_track"])).endswith("var * var * float64")


def test_missing_field_and_wrong_width_are_named(tmp_path) -> None:
    events = _events(2)
    record = {
        k: ak.from_iter([e[k] for e in events]) for k in events[0] if k not in ("genmet", "ycand_cluster")
    }
    record["genmet"] = ak.Array([1.0, 2.0])
    ak.to_parquet(ak.Record(record), tmp_path / "missing.parquet")
    with pytest.raises(KeyError, match=r"missing\.parquet.*ycand_cluster"):
        read_clic_pf(tmp_path / "missing.parquet")
    record |= {"ycand_cluster": ak.from_iter([e["ycand_cluster"] for e in events])}
    record["X_cluster"] = ak.from_iter([e["X_cluster"][:, :15] for e in events])
    ak.to_parquet(ak.Record(record), tmp_path / "narrow.parquet")
    with pytest.raises(ValueError, match=r"narrow\.parquet: field X_cluster has rows of width \[15\].*17"):
        read_clic_pf(tmp_path / "narrow.parquet")
    for e in events:
        e["X_cluster"] = e["X_cluster"][:, :15]
    with pytest.raises(ValueError, match=r"field X_cluster has rows of width \[15\] \(writing\)"):
        write_clic_pf(tmp_path / "never.parquet", events)
    with pytest.raises(FileNotFoundError, match="not a file"):
        read_clic_pf(tmp_path / "absent.parquet")
