"""PNG plots of the calorimeter hit-clustering test stage: type confusion, energy response, efficiency
against particle energy (model, baseline, reference side by side) and event displays in η–φ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from src.evaluation.plots import new_figure, save
from src.event_model import CALO_TYPE_NAMES
from src.metrics.calo_clusters import confusion_matrix

LABELS = {"model": "model", "baseline": "topological", "reference": "event's own clusters"}


def plot_confusion(table: pd.DataFrame, path: Path) -> None:
    """Row-normalised type confusion of the found particles (classes that occur only)."""
    f = table[table["found"]]
    cm = confusion_matrix(f["true_type"], f["pred_type"], len(CALO_TYPE_NAMES))
    used = np.flatnonzero(cm.sum(0) + cm.sum(1))
    cm = cm[np.ix_(used, used)]
    names = [CALO_TYPE_NAMES[i] for i in used]
    frac = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig = new_figure((1.2 + 0.5 * len(used), 1.0 + 0.5 * len(used)))
    ax = fig.add_subplot()
    im = ax.imshow(frac, vmin=0, vmax=1, cmap="Blues")
    for (i, j), n in np.ndenumerate(cm):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(used)), names, rotation=90)
    ax.set_yticks(range(len(used)), names)
    ax.set_xlabel("predicted type")
    ax.set_ylabel("true type")
    ax.set_title(f"Type of found particles ({len(f)})")
    fig.colorbar(im, ax=ax, label="fraction of the true type")
    save(fig, path)


def plot_energy_response(tables: Mapping[str, pd.DataFrame], path: Path) -> None:
    """Histogram of E_cluster/E_particle of the found particles, per method."""
    fig = new_figure((6, 4))
    ax = fig.add_subplot()
    bins = np.linspace(0, 2, 81)
    for name, table in tables.items():
        f = table[table["found"]]
        ratio = (f["pred_energy"] / f["true_energy"]).clip(0, 2)
        ax.hist(ratio, bins=bins, histtype="step", label=f"{LABELS[name]} ({len(f)})", density=True)
    ax.set_xlabel("cluster energy / particle energy")
    ax.set_ylabel("density")
    ax.legend()
    save(fig, path)


def plot_efficiency_vs_energy(tables: Mapping[str, pd.DataFrame], path: Path) -> None:
    """Found fraction and energy-weighted efficiency of particles in bins of their deposited energy."""
    fig = new_figure((6, 4))
    ax = fig.add_subplot()
    all_dep = np.concatenate([t["deposit"].to_numpy() for t in tables.values()])
    lo, hi = max(all_dep.min(), 1e-3), all_dep.max() * 1.0001
    bins = np.geomspace(lo, hi, 11) if hi > lo else np.array([lo, lo * 2])
    centres = np.sqrt(bins[1:] * bins[:-1])
    for name, table in tables.items():
        idx = np.digitize(table["deposit"], bins) - 1
        ok = (idx >= 0) & (idx < len(centres))
        n = np.bincount(idx[ok], minlength=len(centres))
        found = np.bincount(idx[ok], weights=table["found"].to_numpy()[ok], minlength=len(centres))
        ax.plot(centres[n > 0], found[n > 0] / n[n > 0], marker="o", label=LABELS[name])
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("deposited energy of the particle (GeV)")
    ax.set_ylabel("fraction found (>50% / >50%)")
    ax.legend()
    save(fig, path)


def plot_event_display(display: Mapping[str, np.ndarray], path: Path) -> None:
    """Hits in η–φ, size by energy, coloured by truth and by each method's clusters (grey: none)."""
    panels = ["truth", *(k for k in ("model", "baseline", "reference") if k in display)]
    fig = new_figure((4 * len(panels), 4))
    size = 4 + 40 * np.sqrt(np.clip(display["energy"], 0, None) / max(float(display["energy"].max()), 1e-9))
    for i, name in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        labels = np.asarray(display[name])
        none = labels < 0
        ax.scatter(display["phi"][none], display["eta"][none], s=size[none], c="lightgrey")
        colour = np.unique(labels[~none], return_inverse=True)[1] % 20
        ax.scatter(display["phi"][~none], display["eta"][~none], s=size[~none], c=colour, cmap="tab20")
        ax.set_title(f"{LABELS.get(name, name)}: {len(np.unique(labels[~none]))} clusters")
        ax.set_xlabel("φ")
        ax.set_ylabel("η")
    save(fig, path)


def plot_calo_results(
    tables: Mapping[str, pd.DataFrame], displays: Sequence[Mapping[str, np.ndarray]], out: Path
) -> None:
    """Every plot of the test stage into ``out`` (the particle plots only with hit truth)."""
    with_truth = {k: t for k, t in tables.items() if len(t)}
    if "model" in with_truth:
        plot_confusion(with_truth["model"], out / "type_confusion.png")
    if with_truth:
        plot_energy_response(with_truth, out / "energy_response.png")
        plot_efficiency_vs_energy(with_truth, out / "efficiency_vs_energy.png")
    for i, display in enumerate(displays):
        plot_event_display(display, out / f"event_display_{i}.png")
