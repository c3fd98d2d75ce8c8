"""TrackML column checks: empty/NaN/inf cells and non-integers are named with their column; momenta that
repeat the positions are refused unless the event holds only noise hits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from src.io.errors import LayoutError, NonFiniteError
from src.io.trackml_checks import check_truth_momenta, typed_column

PATH = Path("event000000001-truth.csv")


@pytest.mark.parametrize(
    ("values", "dtype", "error", "text"),
    [
        ([1.0, None], "float64", NonFiniteError, "empty or NaN value at row 1"),
        ([1.0, float("inf")], "float64", NonFiniteError, "non-finite value(s); the first is inf at row 1"),
        ([1.5, 2.0], "int64", LayoutError, "holds non-integer values"),
        (["a", "b"], "float64", LayoutError, "is not float64"),
    ],
)
def test_typed_column_names_the_column(values, dtype: str, error: type, text: str) -> None:
    with pytest.raises(error) as err:
        typed_column(pd.Series(values), dtype, path=PATH, event=1, name="tz")
    assert f"{PATH}, event 1, field 'tz': " in str(err.value) and text in str(err.value)


def test_momenta_repeating_positions() -> None:
    truth = pd.DataFrame(
        {"particle_id": [0, 5], **{c: [1.0, 2.0] for c in ("tx", "ty", "tz", "tpx", "tpy", "tpz")}}
    )
    with pytest.raises(LayoutError, match="repeat the positions"):
        check_truth_momenta(truth, PATH, 1)
    check_truth_momenta(truth.assign(particle_id=0), PATH, 1)  # noise only: nothing to compare
    check_truth_momenta(truth.assign(tpx=[1.0, 0.3]), PATH, 1)
