"""Reader errors name the file, the event and the field with the fix, keep them as attributes, and sort into
bad events (skippable) and bad files; non-finite values are located by row and column name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from src.io.errors import (
    BadEventError,
    CorruptFileError,
    EmptyEventError,
    EventTooLargeError,
    MissingFileError,
    NonFiniteError,
    ReaderError,
    check_finite,
    check_size,
)


def test_message_and_attributes() -> None:
    err = ReaderError("is odd", path="a/b.root", event=4, field="LS_pt", fix="Do this")
    assert str(err) == "a/b.root, event 4, field 'LS_pt': is odd. Do this"
    assert (err.path, err.event, err.field, err.fix) == (Path("a/b.root"), 4, "LS_pt", "Do this")
    assert str(CorruptFileError("cut", path="f")) == "f: cut"
    assert isinstance(MissingFileError("absent", path="d"), FileNotFoundError)
    assert not issubclass(CorruptFileError, BadEventError)
    assert all(issubclass(e, BadEventError) for e in (NonFiniteError, EmptyEventError, EventTooLargeError))


def test_check_finite_locates_row_and_column() -> None:
    values = np.zeros((5, 3))
    check_finite(values, path="f", event=0, field="x")
    values[3, 2] = np.nan
    values[4, 0] = np.inf
    with pytest.raises(NonFiniteError) as err:
        check_finite(values, path="f", event=2, field="x", columns=("a", "b", "c"))
    assert "event 2, field 'c': 2 non-finite value(s); the first is nan at row 3" in str(err.value)
    check_finite(np.array([1, 2]), path="f", event=0, field="ids")  # integers: nothing to check


def test_check_size() -> None:
    check_size(3, 3, path="f", event=0, field="x", what="hits")
    with pytest.raises(EmptyEventError, match="holds no hits"):
        check_size(0, None, path="f", event=0, field="x", what="hits")
    with pytest.raises(EventTooLargeError, match=r"dataset\.max_event_size=2"):
        check_size(3, 2, path="f", event=0, field="x", what="hits")
