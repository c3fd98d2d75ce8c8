"""The test stage of the LS tracking task: AP@k, track candidates by clustering, breakdowns, artifacts.

The task hands over, per batch and scope, the embedding of a set of line segments with their truth; this
object scores them and, at the end, returns the metrics and writes the tables and plots:

* scopes: ``""`` (the model, sim-matched LS: the study's setting), ``"all/"`` (the model, every LS of the
  event or whatever a pileup filter left), ``"baseline/"`` and ``"baseline/all/"`` (the LDA coordinates,
  no learning);
* AP@k (:mod:`src.metrics.retrieval`) at simulated pT ≥ each threshold (``ap@k_pt0.9``), the study code's
  R-precision (``r_precision_pt0.9``) and AP@k by reconstructed LS pT (``ap@k_lspt0.9``, the only pT cut
  on real events, which carry no simulated pT);
* track candidates: the embedding clustered per event (:func:`src.evaluation.clustering.cluster`), matched
  to tracks by :mod:`src.metrics.tracks`: ``eff_dm_pt0.9``, ``eff_perfect_pt0.9``, ``fake_dm_pt0.9``, …;
* per-event graph statistics given by the task (``graph_saturation``, ``graph_edges_per_ls``).

Artifacts: ``test_per_event.csv``; ``test_tracks.csv`` (one row per track and scope); ``test_by_length.csv``
and ``test_by_pt.csv`` (efficiencies and AP@k by track length and by simulated pT, per scope);
``plots/by_track_length.png``, ``plots/by_pt.png``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from src.evaluation.clustering import check_clusterer, cluster
from src.evaluation.plots import plot_breakdown
from src.event_model import LS
from src.metrics.naming import with_threshold
from src.metrics.retrieval import average_precision_at_k, mean_at_thresholds
from src.metrics.tracks import match_tracks, sum_counts, track_counts, tracking_rates

#: Scopes of the test metrics: (metric-name prefix, embedding space, which LS).
SCOPES = (
    ("", "model", "matched"),
    ("all/", "model", "all"),
    ("baseline/", "lda", "matched"),
    ("baseline/all/", "lda", "all"),
)
#: pT bins (GeV) of the breakdown by simulated pT.
PT_BINS = (0.0, 0.5, 0.9, 1.5, 3.0, 10.0, np.inf)


@dataclass(frozen=True)
class ScoredObjects:
    """One scope's line segments of a batch as numpy arrays (``batch`` numbers the events 0…B−1)."""

    embedding: np.ndarray
    particle_id: np.ndarray
    batch: np.ndarray
    event: np.ndarray
    sim_pt: np.ndarray
    ls_pt: np.ndarray


class TrackingEvaluation:
    """Scores LS embeddings of test events in the scopes of :data:`SCOPES` and writes the artifacts."""

    def __init__(
        self,
        *,
        clusterer: Any,
        baseline_clusterer: Any = None,
        pt_thresholds: Sequence[float] = (0.0, 0.5, 0.9),
        min_cluster_size: int = 3,
        min_particle_size: int = 3,
        evaluate_all_ls: bool = True,
    ) -> None:
        self.clusterer = check_clusterer(clusterer, "task.evaluation.clusterer")
        self.baseline_clusterer = (
            check_clusterer(baseline_clusterer, "task.evaluation.baseline_clusterer")
            if baseline_clusterer is not None
            else clusterer
        )
        self.pt_thresholds = tuple(float(t) for t in pt_thresholds)
        self.min_cluster_size = min_cluster_size
        self.min_particle_size = min_particle_size
        self.evaluate_all_ls = evaluate_all_ls
        self.reset()

    def scopes(self) -> list[tuple[str, str, str]]:
        """The scopes evaluated: all four, or the sim-matched ones only."""
        return [s for s in SCOPES if self.evaluate_all_ls or s[2] == "matched"]

    def reset(self) -> None:
        """Forget every stored result (start of a test epoch)."""
        self._queries: list[pd.DataFrame] = []
        self._counts: list[tuple[str, dict]] = []
        self._particles: list[pd.DataFrame] = []
        self._per_event: dict[int, dict[str, float]] = {}

    def add_event_info(self, event: int, values: dict[str, float]) -> None:
        """Per-event values given by the task (sizes, graph statistics), for ``test_per_event.csv``."""
        self._per_event.setdefault(int(event), {}).update(values)

    def add(self, scope: str, objects: ScoredObjects, *, baseline: bool) -> None:
        """Store the AP@k and track-matching results of one scope for one batch."""
        clusterer = self.baseline_clusterer if baseline else self.clusterer
        pid, batch, events, sim_pt = objects.particle_id, objects.batch, objects.event, objects.sim_pt
        result = average_precision_at_k(objects.embedding, pid, batch)
        query_event = events[result.index]
        self._queries.append(
            pd.DataFrame(
                {
                    "scope": scope,
                    "event": query_event,
                    "track_length": result.track_length,
                    "sim_pt": sim_pt[result.index],
                    "ls_pt": objects.ls_pt[result.index],
                    "ap": result.ap,
                    "r_precision": result.r_precision,
                }
            )
        )
        match_pt = np.nan_to_num(sim_pt, nan=0.0)  # real events: no sim pT, every track counts at pT >= 0
        for b in np.unique(batch):
            sel = batch == b
            labels = cluster(clusterer, objects.embedding[sel], min_points=self.min_cluster_size)
            match = match_tracks(
                labels,
                pid[sel],
                match_pt[sel],
                noise=LS.no_particle(pid[sel]),
                min_cluster_size=self.min_cluster_size,
                min_particle_size=self.min_particle_size,
            )
            counts = track_counts(match, self.pt_thresholds)
            event = int(events[sel][0])
            self._counts.append((scope, counts))
            particles = match.particles.reset_index(names="particle_id")
            if np.isnan(sim_pt[sel]).all():
                particles["pt"] = np.nan
            particles.insert(0, "event", event)
            particles.insert(0, "scope", scope)
            self._particles.append(particles)
            on_event = query_event == event
            values = mean_at_thresholds(
                result.ap[on_event], sim_pt[result.index][on_event], self.pt_thresholds, prefix="ap@k_pt"
            )
            rates = tracking_rates(counts)
            values |= {n: rates[n] for n in (with_threshold("eff_dm_pt", t) for t in self.pt_thresholds)}
            self.add_event_info(event, {scope + name: value for name, value in values.items()})

    def _ap_metrics(self, rows: pd.DataFrame) -> dict[str, float]:
        out = mean_at_thresholds(rows["ap"], rows["sim_pt"], self.pt_thresholds, prefix="ap@k_pt")
        out |= mean_at_thresholds(
            rows["r_precision"], rows["sim_pt"], self.pt_thresholds, prefix="r_precision_pt"
        )
        out |= mean_at_thresholds(
            rows["ap"], rows["ls_pt"], [t for t in self.pt_thresholds if t > 0], prefix="ap@k_lspt"
        )
        return out

    def metrics(self) -> dict[str, float]:
        """Metrics of every scope (``test/…``, ``test/all/…``, ``baseline/…``, ``baseline/all/…``) and the
        mean per-event values the task gave whose names end in ``graph_saturation``/``graph_edges_per_ls``."""
        if not self._queries:
            return {}
        queries = pd.concat(self._queries, ignore_index=True)
        events = self.events()
        metrics: dict[str, float] = {}
        for scope, _, _ in self.scopes():
            scoped = self._ap_metrics(queries[queries["scope"] == scope])
            scoped |= tracking_rates(sum_counts(c for s, c in self._counts if s == scope))
            key = "test/" + scope if not scope.startswith("baseline/") else scope
            metrics |= {f"{key}{name}": value for name, value in scoped.items()}
        for column in events.columns:
            if column.endswith(("graph_saturation", "graph_edges_per_ls")):
                metrics[f"test/{column}"] = float(events[column].mean())
        return metrics

    def events(self) -> pd.DataFrame:
        """One row per test event: the task's values and the per-scope AP@k and DM efficiency."""
        rows = [{"event": e, **values} for e, values in self._per_event.items()]
        return pd.DataFrame(rows).sort_values("event") if rows else pd.DataFrame()

    def write(self, out: Path) -> None:
        """``test_per_event.csv``, ``test_tracks.csv``, the breakdowns and their plots under ``out``."""
        if not self._queries:
            return
        queries = pd.concat(self._queries, ignore_index=True)
        particles = pd.concat(self._particles, ignore_index=True)
        plots = out / "plots"
        plots.mkdir(parents=True, exist_ok=True)
        self.events().to_csv(out / "test_per_event.csv", index=False)
        particles.to_csv(out / "test_tracks.csv", index=False)
        reco = particles[particles["reconstructable"]]
        by_length = breakdown(
            reco, queries, particle_key="n_hits", query_key="track_length", name="track_length"
        )
        by_length.to_csv(out / "test_by_length.csv", index=False)
        plot_breakdown(
            by_length,
            plots / "by_track_length.png",
            x="track_length",
            columns=["eff_dm", "eff_perfect", "ap@k"],
            xlabel="LS per sim track",
            title="Test: by track length (reconstructable tracks; AP@k over their LS)",
        )
        if particles["pt"].notna().any():
            labels = [f"{a:g}-{b:g}" for a, b in itertools.pairwise(PT_BINS)]
            reco = reco.assign(pt_bin=pd.cut(reco["pt"], PT_BINS, right=False, labels=labels))
            queries = queries.assign(pt_bin=pd.cut(queries["sim_pt"], PT_BINS, right=False, labels=labels))
            by_pt = breakdown(reco, queries, particle_key="pt_bin", query_key="pt_bin", name="pt_bin")
            by_pt.to_csv(out / "test_by_pt.csv", index=False)
            plot_breakdown(
                by_pt,
                plots / "by_pt.png",
                x="pt_bin",
                columns=["eff_dm", "eff_perfect", "ap@k"],
                xlabel="simulated pT (GeV)",
                title="Test: by simulated pT",
            )


def breakdown(
    particles: pd.DataFrame, queries: pd.DataFrame, *, particle_key: str, query_key: str, name: str
) -> pd.DataFrame:
    """Efficiencies (per track) and AP@k (per LS) in bins of a quantity, per scope (long format)."""
    eff = (
        particles.groupby(["scope", particle_key], observed=True, sort=True)
        .agg(n_tracks=("dm", "size"), eff_dm=("dm", "mean"), eff_perfect=("perfect", "mean"))
        .rename_axis(["scope", name])
    )
    ap = (
        queries.groupby(["scope", query_key], observed=True, sort=True)
        .agg(n_ls=("ap", "size"), **{"ap@k": ("ap", "mean")})
        .rename_axis(["scope", name])
    )
    table = eff.join(ap, how="outer").reset_index()
    table[["n_tracks", "n_ls"]] = table[["n_tracks", "n_ls"]].fillna(0).astype(int)
    table["scope"] = table["scope"].map(lambda s: s.rstrip("/") or "matched")
    return table
