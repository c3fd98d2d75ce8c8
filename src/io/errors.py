"""The errors every reader of real formats raises: one hierarchy, each naming the file, the event, the field
and what to do about it.

Readers never let a library's exception through (uproot, torch, pandas, zip or pickle errors are wrapped
here, the original chained as ``__cause__``), so a user sees which file and which event is wrong, and a
training run with ``dataset.on_bad_event=skip`` can tell a bad event (:class:`BadEventError`: skip it and
count it) from a bad dataset (any other :class:`ReaderError`: stop).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


class ReaderError(ValueError):
    """A file that cannot be read as its format says.

    Attributes: ``path`` (the file or directory), ``event`` (the event's number or id in its file, None
    when the problem concerns every event), ``field`` (the branch, column or key, None when the whole file
    is unreadable) and ``fix`` (what to do).
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path,
        event: int | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.event = event
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(self._message())

    def _message(self) -> str:
        where = [str(self.path)]
        if self.event is not None:
            where.append(f"event {self.event}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        text = f"{', '.join(where)}: {self.problem}"
        return f"{text}. {self.fix}" if self.fix else text


class CorruptFileError(ReaderError):
    """The file is not of its format, or cut short (truncated, overwritten, not ROOT/zip/CSV)."""


class MissingFileError(ReaderError, FileNotFoundError):
    """A file an event needs is absent (or present under a name the format does not use)."""


class MissingFieldError(ReaderError):
    """A branch, column or key the reader needs is absent."""


class LayoutError(ReaderError):
    """The fields are there but do not fit together (lengths, indices, ids, a known slip of a writer)."""


class BadEventError(ReaderError):
    """One event is unusable while the file is fine: ``dataset.on_bad_event=skip`` skips such events."""


class NonFiniteError(BadEventError):
    """A feature is NaN or infinite."""


class EmptyEventError(BadEventError):
    """The event holds no objects."""


class EventTooLargeError(BadEventError):
    """The event holds more objects than the configured budget (``dataset.max_event_size``)."""


#: What to do about a bad event, appended to every :class:`BadEventError` a reader raises.
SKIP_HINT = "Fix or remove the event, or set dataset.on_bad_event=skip to skip bad events and count them"


def check_size(
    n: int, budget: int | None, *, path: str | Path, event: int | None, field: str, what: str
) -> None:
    """Raise :class:`EmptyEventError` for no objects, :class:`EventTooLargeError` for more than ``budget``."""
    if n == 0:
        raise EmptyEventError(
            f"the event holds no {what}", path=path, event=event, field=field, fix=SKIP_HINT
        )
    if budget is not None and n > budget:
        raise EventTooLargeError(
            f"the event holds {n} {what}, more than dataset.max_event_size={budget}",
            path=path,
            event=event,
            field=field,
            fix="Raise dataset.max_event_size (memory allowing), or set dataset.on_bad_event=skip",
        )


def check_finite(
    values: np.ndarray,
    *,
    path: str | Path,
    event: int | None,
    field: str,
    columns: Sequence[str] | None = None,
) -> None:
    """Raise :class:`NonFiniteError` at the first NaN or infinite value, naming its row (and column)."""
    values = np.asarray(values)
    if values.dtype.kind != "f":
        return
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    row, *col = np.unravel_index(int(np.argmax(bad)), values.shape)
    name = field if not col else (columns[col[0]] if columns else f"{field}[:, {col[0]}]")
    raise NonFiniteError(
        f"{int(bad.sum())} non-finite value(s); the first is {values[(row, *col)]} at row {row}",
        path=path,
        event=event,
        field=name,
        fix=SKIP_HINT,
    )
