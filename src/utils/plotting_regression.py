"""PNG heat maps of regressed against true values (one panel per parameter).

Same conventions as :mod:`src.utils.plotting`: matplotlib's object-oriented API on an Agg canvas, no
``pyplot``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm

from src.utils.plotting import _new_figure, _save


def plot_true_vs_predicted(
    true: np.ndarray,
    predicted: np.ndarray,
    names: Sequence[str],
    path: str | os.PathLike[str],
    *,
    bins: int = 60,
    title: str = "",
) -> Path:
    """2D histograms (log colour scale) of predicted against true values, one panel per column of the
    [N, len(names)] arrays, with the diagonal and the RMS of the difference. Returns the path written."""
    true, predicted = np.asarray(true, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    fig = _new_figure((4.2 * len(names), 4.0))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
        t, p = true[:, i], predicted[:, i]
        if len(t):
            lo = float(min(t.min(), np.percentile(p, 0.5)))
            hi = float(max(t.max(), np.percentile(p, 99.5)))
            hi = hi if hi > lo else lo + 1.0
            counts, xe, ye = np.histogram2d(t, p, bins=bins, range=[[lo, hi], [lo, hi]])
            if counts.any():
                mesh = ax.pcolormesh(
                    xe, ye, counts.T, norm=LogNorm(vmin=1, vmax=counts.max()), cmap="viridis"
                )
                fig.colorbar(mesh, ax=ax, label="hits")
            ax.plot([lo, hi], [lo, hi], color="w", lw=0.8, ls="--")
            rms = float(np.sqrt(np.mean((p - t) ** 2)))
            ax.set_title(f"{name}  (RMS {rms:.3g})")
        else:
            ax.set_title(f"{name}  (no hits)")
        ax.set(xlabel=f"true {name}", ylabel=f"predicted {name}")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
