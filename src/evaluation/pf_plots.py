"""Plots of the particle-flow test stage: response distributions and resolution (IQR/median) against the
generator-jet pT, one line per source (model, rule-based PF, target)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from src.evaluation.plots import new_figure, save
from src.metrics.particle_flow import ResponseSummary

#: Response range of the distributions.
RESPONSE_RANGE = (0.0, 2.0)


def plot_responses(
    responses: Mapping[str, np.ndarray], path: str | os.PathLike[str], *, xlabel: str, bins: int = 60
) -> Path:
    """Normalised histograms of each source's responses, with median and IQR/median in the legend."""
    fig = new_figure((6.0, 4.2))
    ax = fig.add_subplot()
    edges = np.linspace(*RESPONSE_RANGE, bins + 1)
    for label, values in responses.items():
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if not len(v):
            continue
        p25, med, p75 = np.percentile(v, [25, 50, 75])
        ax.hist(
            np.clip(v, *RESPONSE_RANGE),
            bins=edges,
            histtype="step",
            density=True,
            linewidth=1.5,
            label=f"{label}: median {med:.3f}, IQR/median {(p75 - p25) / med:.3f} ({len(v)})",
        )
    ax.axvline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    return save(fig, path)


def plot_resolution_vs_pt(
    binned: Mapping[str, Sequence[ResponseSummary]], edges: Sequence[float], path: str | os.PathLike[str]
) -> Path:
    """IQR/median of the jet response in each generator-jet pT bin, one line per source."""
    fig = new_figure((6.0, 4.2))
    ax = fig.add_subplot()
    centres = 0.5 * (np.asarray(edges[:-1]) + np.asarray(edges[1:]))
    half = 0.5 * np.diff(edges)
    for label, summaries in binned.items():
        y = np.array([s.iqr_over_median for s in summaries])
        ax.errorbar(centres, y, xerr=half, marker="o", linestyle="-", label=label)
    ax.set_xlabel("generator jet $p_T$ (GeV)")
    ax.set_ylabel("jet response IQR / median")
    ax.set_xscale("log")
    ax.legend(fontsize=8)
    return save(fig, path)
