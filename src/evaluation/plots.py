"""PNG plots of the test stage: precision-recall curves, score histograms, breakdowns by a binned quantity,
heat maps of regressed against true values.

Figures are drawn on matplotlib's Agg canvas through the object-oriented ``Figure`` API, never through
``pyplot``: nothing needs a display, no global figure registry fills up, and each figure is freed once
the function returns.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

#: Recall range of the zoomed panel of the PR curve, where high-recall working points lie.
ZOOM_RECALL = (0.95, 1.0)
#: Working points marked by default on the PR curve.
DEFAULT_MARK_RECALLS = (0.99, 0.999)
_DPI = 120


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A constrained-layout figure on an Agg canvas."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as PNG to ``path`` (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    return path


def _default_marks(precision: np.ndarray, recall: np.ndarray) -> dict[str, tuple[float, float]]:
    """Highest-precision point at recall ≥ each default level (the convention of ``precision_at_recall``)."""
    marks = {}
    for level in DEFAULT_MARK_RECALLS:
        ok = np.flatnonzero(recall >= level - 1e-12)
        if ok.size:
            best = ok[np.argmax(precision[ok])]
            marks[f"{level:.1%} recall"] = (float(recall[best]), float(precision[best]))
    return marks


def plot_pr_curve(
    precision: npt.ArrayLike,
    recall: npt.ArrayLike,
    path: str | os.PathLike[str],
    *,
    marks: dict[str, tuple[float, float]] | None = None,
    title: str = "",
) -> Path:
    """Write a PR curve (recall on x, precision on y) as PNG: full range left, recall ∈ [0.95, 1] right.

    ``precision``/``recall`` are curve points ordered by increasing recall (as returned by
    :func:`src.metrics.precision_recall_curve`), drawn step-wise like average precision. ``marks`` maps a
    label to a working point ``(recall, precision)``, marked on both panels and annotated in the legend
    of the zoom; ``None`` marks the best-precision points at recall ≥ 99% and ≥ 99.9% read off the curve,
    ``{}`` marks nothing. Returns the path written.
    """
    precision = np.asarray(precision, dtype=np.float64)
    recall = np.asarray(recall, dtype=np.float64)
    if marks is None:
        marks = _default_marks(precision, recall)
    fig = new_figure((11.0, 4.5))
    full, zoom = fig.subplots(1, 2)
    for ax in (full, zoom):
        ax.plot(recall, precision, drawstyle="steps-pre", color="C0")
        for i, (label, (r, p)) in enumerate(marks.items()):
            text = f"{label}: P = {p:.1%} at R = {r:.2%}"
            ax.plot(r, p, "o", color=f"C{i + 1}", zorder=3, label=text if ax is zoom else None)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.grid(alpha=0.3)
    full.set(xlim=(0.0, 1.01), ylim=(0.0, 1.02), title="full range")
    full.axvspan(*ZOOM_RECALL, color="0.9", zorder=0)
    in_zoom = precision[recall >= ZOOM_RECALL[0]]
    low, high = (float(in_zoom.min()), float(in_zoom.max())) if in_zoom.size else (0.0, 1.0)
    zoom.set(
        xlim=(ZOOM_RECALL[0], ZOOM_RECALL[1] + 0.002),
        ylim=(0.8 * low, min(1.02, 1.3 * high)),
        title=f"recall ≥ {ZOOM_RECALL[0]:.0%}",
    )
    if marks:
        zoom.legend(loc="upper right")
    if title:
        fig.suptitle(title)
    return save(fig, path)


def plot_score_histogram(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    path: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    bins: int = 50,
) -> Path:
    """Write log-y histograms of the score for true (label 1) and fake (label 0) objects as PNG, on
    shared bins, with ``threshold`` (e.g. the 99%-recall working point) as a vertical line. Returns the
    path written."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    finite = np.isfinite(scores)
    edges = np.histogram_bin_edges(scores[finite], bins=bins) if finite.any() else bins
    fig = new_figure((6.5, 4.5))
    ax = fig.subplots()
    n_filled = 0
    for mask, name, color in ((labels, "true", "C0"), (~labels, "fake", "C3")):
        selected = scores[mask & finite]
        if selected.size:
            ax.hist(selected, bins=edges, histtype="step", color=color, label=f"{name} ({selected.size})")
            n_filled += selected.size
    if n_filled:
        ax.set_yscale("log")
    if threshold is not None:
        ax.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold:.4g}")
    ax.set_xlabel("score")
    ax.set_ylabel("objects")
    ax.grid(alpha=0.3)
    if n_filled or threshold is not None:
        ax.legend()
    return save(fig, path)


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
    fig = new_figure((5.0 * len(columns), 4.0))
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
    return save(fig, path)


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
    fig = new_figure((4.2 * len(names), 4.0))
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
    return save(fig, path)
