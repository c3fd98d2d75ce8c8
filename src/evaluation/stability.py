"""Stability of link decisions under PCA perturbations of the tracksters (the TICL linking study's analysis).

Each trackster's barycentre is shifted along its principal axes by Gaussian draws of its sigmaPCA
(:func:`src.reco.ticl_perturb.perturb`), the node and edge features are recomputed on the same candidate
edges, and the model scores the perturbed event again; an edge *flips* when its decision at the model's
threshold changes. Per edge: the fraction of draws that flip it. Summaries weight edges by count and by
energy (the larger raw energy of the two ends), overall and for true and false edges; the heat map shows
the mean flip rate in bins of the edges' transverse position (the midpoint of the two barycentres).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from src.evaluation.plots import new_figure, save
from src.reco.ticl_graph import F, edge_features
from src.reco.ticl_perturb import perturb

#: ``score(x, coords, edge_index, edge_attr) -> probabilities [E]`` of one event's candidate edges.
Scorer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], np.ndarray]


def edge_flips(
    score: Scorer, data: Any, *, threshold: float, n_samples: int, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(decisions [E] on the event, fraction of ``n_samples`` perturbed copies that flip each edge)."""
    coords = [F["barycenter_eta"], F["barycenter_phi"]]
    base = score(data.x, data.coords, data.edge_index, data.edge_attr) >= threshold
    flips = np.zeros(len(base))
    for moved in perturb(data.x.double(), n_samples, generator=generator):
        attr = edge_features(moved, data.edge_index).to(data.edge_attr.dtype)
        x = moved.to(data.x.dtype)
        flips += (score(x, x[:, coords], data.edge_index, attr) >= threshold) != base
    return base, flips / max(n_samples, 1)


@dataclass
class StabilityMap:
    """Flip rates of the edges of many events: summaries and a heat map in the transverse plane."""

    name: str
    rows: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(self, data: Any, decision: np.ndarray, flip_rate: np.ndarray) -> None:
        """Store one event's edges (positions, truth, weights) with their decisions and flip rates."""
        i, j = data.edge_index.numpy()
        x = data.x.numpy()
        self.rows.append(
            {
                "x": 0.5 * (x[i, F["barycenter_x"]] + x[j, F["barycenter_x"]]),
                "y": 0.5 * (x[i, F["barycenter_y"]] + x[j, F["barycenter_y"]]),
                "true": data.y.numpy() > 0.5,
                "weight": data.edge_weight.numpy(),
                "decision": decision,
                "flip_rate": flip_rate,
            }
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """Every stored edge, concatenated."""
        keys = ("x", "y", "true", "weight", "decision", "flip_rate")
        return {k: np.concatenate([r[k] for r in self.rows]) if self.rows else np.zeros(0) for k in keys}

    def summary(self) -> dict[str, float]:
        """Mean flip rate (by count and by energy), overall and for true and false edges, and the
        fraction of edges that flip at least once."""
        a = self.arrays()
        out: dict[str, float] = {"edges": float(len(a["flip_rate"]))}
        for scope, sel in (
            ("", np.ones(len(a["true"]), bool)),
            ("_true", a["true"] > 0),
            ("_false", a["true"] == 0),
        ):
            rate, w = a["flip_rate"][sel], a["weight"][sel]
            out[f"flip_rate{scope}"] = float(rate.mean()) if len(rate) else float("nan")
            out[f"flip_rate_energy{scope}"] = (
                float((rate * w).sum() / w.sum()) if w.sum() > 0 else float("nan")
            )
            out[f"ever_flipped{scope}"] = float((rate > 0).mean()) if len(rate) else float("nan")
        return out


def plot_heatmaps(maps: Sequence[StabilityMap], path: str | Path, *, bins: int = 40) -> Path:
    """Mean flip rate per (x, y) bin of the edges, one panel per map (shared bins and colour scale)."""
    arrays = [m.arrays() for m in maps]
    xy = np.concatenate([np.concatenate([a["x"], a["y"]]) for a in arrays]) if arrays else np.zeros(0)
    limit = float(np.abs(xy).max()) if len(xy) else 1.0
    edges = np.linspace(-limit, limit, bins + 1)
    fig = new_figure((5.5 * max(len(maps), 1), 4.5))
    axes = np.atleast_1d(fig.subplots(1, max(len(maps), 1)))
    for ax, m, a in zip(axes, maps, arrays, strict=False):
        visits, _, _ = np.histogram2d(a["x"], a["y"], bins=[edges, edges])
        flips, _, _ = np.histogram2d(a["x"], a["y"], bins=[edges, edges], weights=a["flip_rate"])
        rate = np.where(visits > 0, flips / np.maximum(visits, 1), np.nan)
        image = ax.pcolormesh(
            edges, edges, rate.T, vmin=0.0, vmax=max(0.05, float(np.nanmax(rate, initial=0.0))), cmap="GnBu"
        )
        ax.set_title(
            f"{m.name}: mean flip rate {np.mean(a['flip_rate']) if len(a['flip_rate']) else float('nan'):.3f}"
        )
        ax.set_xlabel("x (mm)")
        ax.set_ylabel("y (mm)")
        ax.set_aspect("equal")
        fig.colorbar(image, ax=ax, label="flip rate")
    return save(fig, path)
