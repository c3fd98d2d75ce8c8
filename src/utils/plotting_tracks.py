"""PNG plots of tracking performance broken down by a binned quantity (track length, pT).

Same conventions as :mod:`src.utils.plotting`: matplotlib's object-oriented API on an Agg canvas, no
``pyplot``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from src.utils.plotting import _new_figure, _save


def plot_breakdown(
    table: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    x: str,
    columns: Sequence[str],
    group: str = "scope",
    xlabel: str,
    title: str = "",
) -> Path:
    """One panel per column of ``columns`` against ``x``, one line per value of ``group``.

    ``table`` is long format (one row per group and bin), e.g. the ``test_by_length.csv`` table; the
    ``x`` values are the bin labels, drawn in table order at equal spacing. Returns the path written.
    """
    fig = _new_figure((5.0 * len(columns), 4.0))
    axes = fig.subplots(1, len(columns), squeeze=False)[0]
    labels = list(dict.fromkeys(table[x].astype(str)))
    position = {label: i for i, label in enumerate(labels)}
    for ax, column in zip(axes, columns, strict=True):
        for i, (name, rows) in enumerate(table.groupby(group, sort=False)):
            xs = [position[str(v)] for v in rows[x]]
            ax.plot(xs, rows[column], "o-", color=f"C{i}", label=str(name), ms=4)
        ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 10 else 0)
        ax.set(xlabel=xlabel, ylabel=column, ylim=(0.0, 1.02))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
