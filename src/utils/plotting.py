"""PNG plots for binary classifiers: precision-recall curve and score histograms.

Figures are drawn on matplotlib's Agg canvas through the object-oriented ``Figure`` API, never through
``pyplot``: nothing needs a display, no global figure registry fills up, and each figure is freed once
the function returns.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Recall range of the zoomed panel of the PR curve, where high-recall working points lie.
ZOOM_RECALL = (0.95, 1.0)
#: Working points marked by default on the PR curve.
DEFAULT_MARK_RECALLS = (0.99, 0.999)
_DPI = 120


def _new_figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
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
    fig = _new_figure((11.0, 4.5))
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
    return _save(fig, path)


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
    fig = _new_figure((6.5, 4.5))
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
    return _save(fig, path)
