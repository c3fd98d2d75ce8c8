"""Checks of TrackML tables (:mod:`src.io.trackml`): typed columns without empty, NaN or infinite cells,
and the known slips of other tools' writers. Each failure is a :class:`src.io.errors.ReaderError` naming
the file, the event and the column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from src.io.errors import SKIP_HINT, LayoutError, NonFiniteError, check_finite


def typed_column(values: pd.Series, dtype: str, *, path: Path, event: int | None, name: str) -> pd.Series:
    """One column in its dtype: no empty cells, no NaN or inf, integers where integers are due."""
    if values.isna().any():
        raise NonFiniteError(
            f"empty or NaN value at row {int(values.isna().argmax())}",
            path=path,
            event=event,
            field=name,
            fix=SKIP_HINT,
        )
    try:
        typed = values.astype(dtype)
    except (TypeError, ValueError, OverflowError) as err:
        raise LayoutError(
            f"is not {dtype} ({type(err).__name__}: {err})", path=path, event=event, field=name
        ) from err
    check_finite(typed.to_numpy(), path=path, event=event, field=name)
    if dtype == "int64" and values.dtype.kind == "f" and not np.array_equal(typed, values):
        raise LayoutError("holds non-integer values", path=path, event=event, field=name)
    return typed


def check_truth_momenta(truth: pd.DataFrame, path: Path, event_id: int) -> None:
    """Refuse truth momenta that repeat the positions (a known slip of some TrackML writers)."""
    real = truth["particle_id"].to_numpy() != 0
    if not real.any():
        return
    pos = truth.loc[real, ["tx", "ty", "tz"]].to_numpy()
    mom = truth.loc[real, ["tpx", "tpy", "tpz"]].to_numpy()
    if np.array_equal(pos, mom):
        raise LayoutError(
            "the momentum columns tpx,tpy,tpz repeat the positions tx,ty,tz on every hit",
            path=path,
            event=event_id,
            field="tpx",
            fix="The writer copied the positions into the momentum columns: write the particle's momentum "
            "at each hit (GeV) into tpx,tpy,tpz",
        )
