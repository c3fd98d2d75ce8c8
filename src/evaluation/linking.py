"""The test stage of the linking task: edge metrics and supercluster energies of the model, the geometric
baseline and the truth links, on the same test events; fragmentation statistics; tables and plots.

Scopes of the metrics (:mod:`src.metrics.linking`):

* ``test/``: the model's decisions at the validation's F1-maximising threshold (``test/edge_threshold``),
  plus its best F1 over thresholds on the test events themselves (``test/edge_f1_best``, optimistic);
* ``baseline/``: TICL's geometric and angular cuts (:class:`src.reco.ticl_linking.GeometricLinker`);
* ``test/oracle/``: the true links themselves, so the supercluster energies show what the candidate graph
  allows at best (fragments without a candidate link between them stay apart).

Superclusters are the connected components of the links each trackster keeps to a more energetic one (the
best scored; ``single_parent=false``: of every link), the same rule for all three scopes.

Artifacts: ``test_per_event.csv``; ``test_fragmentation.csv``, tracksters per simulated particle by origin,
type and generated energy (``n_best``: tracksters whose most-sharing particle it is; ``n_associated``:
those associated to it, score below the view's max_score); ``plots/linking_scores.png``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from src.evaluation.plots import plot_score_histogram
from src.event_model import LINK_FEATURE_NAMES, PARTICLE_TYPES
from src.metrics.linking import (
    best_f1_threshold,
    edge_metrics,
    energy_fractions,
    single_parent,
    supercluster_energies,
    superclusters,
)
from src.reco.ticl_graph import F
from src.reco.ticl_linking import GeometricLinker
from src.reco.ticl_truth import particle_type

_EVENT_KEYS = ("edge_index", "y", "edge_weight", "edge_category", "pair_node", "pair_sim", "pair_shared")


def most_sharing(
    n_nodes: int, pair_node: np.ndarray, pair_sim: np.ndarray, pair_shared: np.ndarray
) -> np.ndarray:
    """The particle each trackster shares most energy with (−1: none)."""
    best = np.full(n_nodes, -1, dtype=np.int64)
    order = np.lexsort((-pair_shared, pair_node))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair_node[order][1:] != pair_node[order][:-1]
    best[pair_node[order][first]] = pair_sim[order][first]
    return best


def fragmentation(event: dict[str, np.ndarray], energy_bins: Sequence[float]) -> pd.DataFrame:
    """One row per simulated particle with energy in tracksters: origin, type, energy bin and counts."""
    n = len(event["node_energy"])
    best = most_sharing(n, event["pair_node"], event["pair_sim"], event["pair_shared"])
    n_sim = len(event["sim_pdg"])
    in_tracksters = np.bincount(event["pair_sim"], weights=event["pair_shared"], minlength=n_sim) > 0
    rows = np.flatnonzero(in_tracksters)
    types = particle_type(event["sim_pdg"][rows], event["sim_charge"][rows])
    energy = event["sim_energy"][rows]
    return pd.DataFrame(
        {
            "origin": np.where(event["sim_pileup"][rows], "pileup", "signal"),
            "type": np.asarray(PARTICLE_TYPES)[types],
            "energy_bin": pd.cut(energy, np.asarray(energy_bins, dtype=float), right=False),
            "energy": energy,
            "n_best": np.bincount(best[best >= 0], minlength=n_sim)[rows],
            "n_associated": np.bincount(event["node_particle"][event["node_particle"] >= 0], minlength=n_sim)[
                rows
            ],
        }
    )


class LinkingEvaluation:
    """Collects the test events' edge scores and truth; computes and writes the linking metrics.

    ``single_parent``: superclusters from each trackster's best link to a more energetic one
    (:func:`src.metrics.linking.single_parent`, for the model, the baseline and the truth alike) instead
    of every link.
    """

    def __init__(
        self,
        *,
        baseline: GeometricLinker,
        single_parent: bool = True,
        energy_bins: Sequence[float] = (0, 5, 10, 20, 50, 100, 1e4),
    ) -> None:
        self.baseline = baseline
        self.single_parent = single_parent
        self.energy_bins = tuple(float(b) for b in energy_bins)
        self.reset()

    def reset(self) -> None:
        """Forget every stored event."""
        self._events: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self._events)

    def add_event(self, event: int, data: Any, scores: np.ndarray) -> None:
        """Store one test event (a linking-view ``Data``) with the model's edge scores [E]."""
        arrays = {k: getattr(data, k).cpu().numpy() for k in _EVENT_KEYS}
        arrays |= {
            k: getattr(data, k).cpu().numpy() for k in ("sim_pileup", "sim_pdg", "sim_charge", "sim_energy")
        }
        arrays["node_particle"] = data.node_particle.cpu().numpy()
        arrays["node_energy"] = data.x[:, F["raw_energy"]].cpu().numpy()
        arrays["baseline"] = self.baseline(data.edge_attr.cpu().numpy())
        arrays["baseline_priority"] = (
            -data.edge_attr[:, LINK_FEATURE_NAMES.index("miss_distance")].cpu().numpy()
        )
        arrays["scores"] = np.asarray(scores, dtype=np.float64)
        arrays["event"] = int(event)
        self._events.append(arrays)

    def _energies(
        self, decisions: list[np.ndarray], priorities: list[np.ndarray]
    ) -> tuple[dict[str, float], list[dict[str, float]]]:
        """Energy fractions over the stored events and the sums of each, for link decisions (and the
        priorities that choose each trackster's parent link with ``single_parent``)."""
        total: dict[str, float] = {}
        per_event = []
        for ev, decided, priority in zip(self._events, decisions, priorities, strict=True):
            linked = (
                single_parent(ev["edge_index"], decided, priority, ev["node_energy"])
                if self.single_parent
                else decided
            )
            labels = superclusters(len(ev["node_energy"]), ev["edge_index"], linked)
            sums = supercluster_energies(
                labels,
                ev["node_energy"],
                pair_node=ev["pair_node"],
                pair_sim=ev["pair_sim"],
                pair_shared=ev["pair_shared"],
                sim_pileup=ev["sim_pileup"],
                scored=np.isin(np.arange(len(ev["sim_pileup"])), ev["node_particle"]),
            )
            per_event.append(sums)
            for k, v in sums.items():
                total[k] = total.get(k, 0.0) + v
        return energy_fractions(total), per_event

    def _scope(self, decisions: list[np.ndarray], priorities: list[np.ndarray]) -> dict[str, float]:
        cat = {
            k: np.concatenate([ev[k] for ev in self._events]) for k in ("y", "edge_weight", "edge_category")
        }
        out = edge_metrics(
            np.concatenate(decisions), cat["y"] > 0.5, cat["edge_weight"], cat["edge_category"]
        )
        return out | self._energies(decisions, priorities)[0]

    def best_threshold(self, objective: str, *, levels: int = 40) -> tuple[float, float]:
        """The threshold that optimises ``objective`` on the stored events and its value: ``"f1"`` (the
        energy-weighted F1, maximised over every distinct score) or an energy fraction such as
        ``"missed_plus_contaminating_sig"`` (minimised over ``levels`` quantiles of the scores)."""
        scores = np.concatenate([ev["scores"] for ev in self._events]) if self._events else np.zeros(0)
        if objective == "f1":
            truth = np.concatenate([ev["y"] for ev in self._events]) > 0.5
            weight = np.concatenate([ev["edge_weight"] for ev in self._events])
            f1, threshold = best_f1_threshold(scores, truth, weight)
            return threshold, f1
        if not len(scores):
            return float("nan"), float("nan")
        candidates = np.unique(np.quantile(scores, np.linspace(0.0, 1.0, levels)))
        values = [
            self._energies([ev["scores"] >= t for ev in self._events], [ev["scores"] for ev in self._events])[
                0
            ][objective]
            for t in candidates
        ]
        k = int(np.nanargmin(values)) if not np.isnan(values).all() else 0
        return float(candidates[k]), float(values[k])

    def decisions(self, threshold: float) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
        """Per scope, the link decisions of every stored event and the priorities of its links (the
        model's score; the baseline's compatibility, minus the miss distance; none for the truth)."""
        events = self._events
        return {
            "test/": ([ev["scores"] >= threshold for ev in events], [ev["scores"] for ev in events]),
            "baseline/": ([ev["baseline"] for ev in events], [ev["baseline_priority"] for ev in events]),
            "test/oracle/": ([ev["y"] > 0.5 for ev in events], [np.zeros(len(ev["y"])) for ev in events]),
        }

    def metrics(self, threshold: float) -> dict[str, float]:
        """``test/…``, ``baseline/…`` and ``test/oracle/…`` metrics at the model's ``threshold``."""
        if not self._events:
            return {}
        out: dict[str, float] = {}
        for prefix, (decided, priorities) in self.decisions(threshold).items():
            scope = self._scope(decided, priorities)
            if prefix == "test/oracle/":
                scope = {k: v for k, v in scope.items() if k.startswith(("missed", "contaminating"))}
            out |= {prefix + k: v for k, v in scope.items()}
        scores = np.concatenate([ev["scores"] for ev in self._events])
        truth = np.concatenate([ev["y"] for ev in self._events]) > 0.5
        weight = np.concatenate([ev["edge_weight"] for ev in self._events])
        f1, best = best_f1_threshold(scores, truth, weight)
        out |= {"test/edge_threshold": threshold, "test/edge_f1_best": f1, "test/edge_threshold_best": best}
        self._threshold = threshold
        return out

    def per_event(self) -> pd.DataFrame:
        """One row per test event: sizes, and the supercluster energies (GeV) of each scope."""
        rows = [
            {
                "event": ev["event"],
                "tracksters": len(ev["node_energy"]),
                "edges": len(ev["y"]),
                "true_edges": int((ev["y"] > 0.5).sum()),
            }
            for ev in self._events
        ]
        for prefix, (decided, priorities) in self.decisions(getattr(self, "_threshold", 0.5)).items():
            for row, sums in zip(rows, self._energies(decided, priorities)[1], strict=True):
                row |= {prefix.replace("/", "_") + k: v for k, v in sums.items()}
        return pd.DataFrame(rows)

    def fragmentation_table(self) -> pd.DataFrame:
        """Mean tracksters per particle by origin, type and generated-energy bin."""
        parts = [fragmentation(ev, self.energy_bins) for ev in self._events]
        table = pd.concat(parts) if parts else pd.DataFrame(columns=["origin", "type", "energy_bin"])
        grouped = table.groupby(["origin", "type", "energy_bin"], observed=True, sort=True)
        return grouped.agg(
            particles=("energy", "size"),
            mean_energy=("energy", "mean"),
            n_best_mean=("n_best", "mean"),
            n_associated_mean=("n_associated", "mean"),
            single_trackster=("n_best", lambda s: float((s == 1).mean())),
        ).reset_index()

    def write(self, out: Path) -> None:
        """Write the per-event and fragmentation tables and the score histogram."""
        if not self._events:
            return
        out = Path(out)
        self.per_event().to_csv(out / "test_per_event.csv", index=False)
        self.fragmentation_table().to_csv(out / "test_fragmentation.csv", index=False)
        scores = np.concatenate([ev["scores"] for ev in self._events])
        truth = np.concatenate([ev["y"] for ev in self._events]) > 0.5
        plot_score_histogram(
            scores, truth, out / "plots" / "linking_scores.png", threshold=getattr(self, "_threshold", None)
        )
