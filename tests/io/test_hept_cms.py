"""HEPT-CMS raw events: every bad input (a cut or non-torch file, a missing field, NaN/inf features, an empty
event, an event over the budget) is an error naming the file, the event (N of graph_N.pt) and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from src.event_model import N_LS_FEATURES
from src.io.errors import (
    CorruptFileError,
    EmptyEventError,
    EventTooLargeError,
    LayoutError,
    MissingFieldError,
    NonFiniteError,
)
from src.io.hept_cms import read_graph


def _save(path: Path, x: torch.Tensor, pid: torch.Tensor | None = None) -> Path:
    pid = torch.zeros(len(x), dtype=torch.long) if pid is None else pid
    torch.save(Data(x=x, particle_id=pid), path)
    return path


def _check(err: Exception, path: Path, *, event: int | None, field: str | None) -> None:
    message = str(err)
    assert str(path) in message
    if event is not None:
        assert f"event {event}" in message
    if field is not None:
        assert f"field '{field}'" in message


@pytest.mark.requiresdata
def test_a_cut_copy_of_a_real_event(tmp_path, shared_data) -> None:
    real = shared_data / "hept-cms-lst" / "pu50" / "graph_0.pt"
    cut = tmp_path / "graph_7.pt"
    cut.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    with pytest.raises(CorruptFileError) as err:
        read_graph(cut)
    _check(err.value, cut, event=7, field=None)
    assert "Copy the file again" in str(err.value)


@pytest.mark.requiresdata
def test_non_finite_feature_in_a_real_event(tmp_path, shared_data) -> None:
    copy = shutil.copy(shared_data / "hept-cms-lst" / "pu50" / "graph_1.pt", tmp_path / "graph_1.pt")
    data = torch.load(copy, weights_only=False)
    data.x[17, 2] = float("nan")
    torch.save(data, copy)
    with pytest.raises(NonFiniteError) as err:
        read_graph(copy)
    _check(err.value, Path(copy), event=1, field="LS_pt")
    assert "row 17" in str(err.value) and "dataset.on_bad_event=skip" in str(err.value)


def test_not_a_torch_file(tmp_path) -> None:
    path = tmp_path / "graph_3.pt"
    path.write_text("x,particle_id\n1,2\n")
    with pytest.raises(CorruptFileError) as err:
        read_graph(path)
    _check(err.value, path, event=3, field=None)


def test_missing_field_and_wrong_shape(tmp_path) -> None:
    path = tmp_path / "graph_2.pt"
    torch.save({"x": torch.zeros(4, N_LS_FEATURES)}, path)
    with pytest.raises(MissingFieldError) as err:
        read_graph(path)
    _check(err.value, path, event=2, field="particle_id")
    _save(path, torch.zeros(4, N_LS_FEATURES), torch.zeros(3, dtype=torch.long))
    with pytest.raises(LayoutError) as err:
        read_graph(path)
    _check(err.value, path, event=2, field="particle_id")


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_infinite_feature(tmp_path, value: float) -> None:
    x = torch.ones(5, N_LS_FEATURES)
    x[3, 21] = value
    path = _save(tmp_path / "graph_0.pt", x)
    with pytest.raises(NonFiniteError) as err:
        read_graph(path)
    _check(err.value, path, event=0, field="layer_anchor")


def test_empty_event_and_budget(tmp_path) -> None:
    path = _save(tmp_path / "graph_4.pt", torch.zeros(0, N_LS_FEATURES))
    with pytest.raises(EmptyEventError) as err:
        read_graph(path)
    _check(err.value, path, event=4, field="x")
    path = _save(tmp_path / "graph_5.pt", torch.zeros(30, N_LS_FEATURES))
    with pytest.raises(EventTooLargeError) as err:
        read_graph(path, max_event_size=20)
    _check(err.value, path, event=5, field="x")
    assert "dataset.max_event_size=20" in str(err.value)
    assert np.array_equal(read_graph(path, max_event_size=30)["x"], np.zeros((30, N_LS_FEATURES)))
