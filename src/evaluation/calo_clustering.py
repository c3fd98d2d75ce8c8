"""The test stage of calorimeter hit clustering: the model's condensation clusters, the classical topological
clustering (the baseline) and the event's own clusters where it has them (e.g. PandoraClusters of a real
file), scored with the same code on the same events.

The baseline is either run on each event's hits (``baseline``: a
:class:`src.reco.topo_clustering.TopoClustering`, e.g. built by
:func:`src.reco.topo_clustering.detector_clustering`), the event's own clusters then scored as the
reference, or (``baseline`` None) the event's own clusters are the baseline: ``dataset=sim_calo`` caches
the topological clusters of its detector with each event.

Per event and per method: cluster labels of the hits and each cluster's type, charge, energy and direction
— the model's from :mod:`src.evaluation.condensation` (read at the condensation point or energy-weighted,
``kinematics``), the others' from the rule-based :class:`src.reco.cluster_types.ClusterTyper`. Events with
hit truth are matched to their particles (:mod:`src.metrics.calo_clusters`): ARI, energy-weighted
efficiency and purity, found fraction, fake clusters, type and charge accuracy of the found particles'
clusters, energy response and resolution (E_cluster/E_particle) and direction resolution. Every event
also gives truth-free figures: clusters per visible generator particle and the clustered energy over the
visible generator energy (what a file without hit truth, like the CLIC photons, can be compared on).

Metric prefixes: ``test/`` (model), ``baseline/`` (topological clustering), ``reference/`` (the event's
own clusters). Artifacts: ``test_per_event.csv``, ``plots/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from src.evaluation.calo_plots import plot_calo_results
from src.evaluation.condensation import KINEMATICS, cluster_kinematics, condense
from src.event_model import CALO_TYPE_NAMES
from src.metrics.calo_clusters import (
    ClusterCounts,
    ClusterMatch,
    accuracy,
    adjusted_rand_index,
    angular_resolution,
    cluster_counts,
    confusion_matrix,
    energy_resolution,
    match_clusters,
)
from src.metrics.counts import ratio
from src.reco.cluster_types import ClusterTyper

#: Type classes of electromagnetic showers (photons and electrons).
EM_TYPES = [CALO_TYPE_NAMES.index(name) for name in ("gamma", "e-", "e+")]
PREFIXES = {"model": "test/", "baseline": "baseline/", "reference": "reference/"}


def match_event(a: Mapping[str, np.ndarray], labels: np.ndarray) -> ClusterMatch:
    """Energy-weighted matching of one event's cluster label per hit to its particles, from the event
    arrays of the calorimeter hit view (its hit energies and truth contributions)."""
    return match_clusters(
        labels=labels,
        hit_energy=a["hit_energy"],
        contrib_hit=a["contrib_hit"],
        contrib_particle=a["contrib_object"],
        contrib_energy=a["contrib_energy"],
    )


@dataclass
class Clusters:
    """One method's clusters of one event: label per hit and per-cluster properties."""

    labels: np.ndarray
    type_id: np.ndarray
    charge: np.ndarray
    energy: np.ndarray
    direction: np.ndarray


@dataclass
class MethodResults:
    """What the test stage keeps of one method over the events."""

    counts: ClusterCounts = field(default_factory=ClusterCounts)
    ari: list[float] = field(default_factory=list)
    matched: list[pd.DataFrame] = field(default_factory=list)
    n_clusters: int = 0
    clustered_energy: float = 0.0


class CaloClusteringEvaluation:
    """Clusters and scores test events for the model, the baseline and the event's own clusters.

    Args:
        beta_threshold: condensation score above which a token may seed a cluster.
        distance_threshold: radius in the clustering space within which a seed suppresses other seeds.
        em_distance_threshold: the radius for candidates the model calls electromagnetic (γ, e±:
            summed type probability above 0.5): their showers are compact, so a close neighbour is a
            particle of its own (two photons of a π0, a photon next to a hadron).
        join_distance: a token joins its nearest seed within this radius (≥ ``distance_threshold``).
        kinematics: ``"condensation_point"`` or ``"energy_weighted"`` (see :mod:`.condensation`).
        baseline: the classical clustering: an object with ``cluster(hits)`` (a
            :class:`src.reco.topo_clustering.TopoClustering`) or ``f(hits) -> label per hit`` (or the
            cluster arrays with ``hit_cluster``); None: the event's own clusters are the baseline.
        typer: rule-based type, charge, direction and energy of the baseline's and reference clusters.
        min_particle_energy: particles that deposited less (GeV) are left out of the particle counts.
        display_events: events drawn in ``plots/event_display_*.png``.
    """

    def __init__(
        self,
        *,
        beta_threshold: float,
        distance_threshold: float,
        em_distance_threshold: float,
        join_distance: float,
        kinematics: str,
        baseline: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None,
        typer: ClusterTyper,
        min_particle_energy: float = 0.0,
        display_events: int = 2,
    ) -> None:
        if kinematics not in KINEMATICS:
            raise ValueError(f"task.evaluation.kinematics must be one of {KINEMATICS}, got {kinematics!r}")
        if baseline is not None and not callable(baseline):
            raise ValueError(f"task.evaluation.baseline must be f(hits) -> labels, got {baseline!r}")
        self.beta_threshold = beta_threshold
        self.distance_threshold = distance_threshold
        self.em_distance_threshold = em_distance_threshold
        self.join_distance = join_distance
        self.kinematics = kinematics
        self.baseline = baseline
        self.typer = typer
        self.min_particle_energy = min_particle_energy
        self.display_events = display_events
        self.reset()

    def reset(self) -> None:
        """Forget the events added so far."""
        self._results: dict[str, MethodResults] = {}
        self._rows: list[dict[str, Any]] = []
        self._displays: list[dict[str, np.ndarray]] = []
        self._visible = {"n": 0, "energy": 0.0}

    # --- clustering -----------------------------------------------------------------------------------
    def model_clusters(self, a: Mapping[str, np.ndarray], out: Mapping[str, np.ndarray]) -> Clusters:
        """The model's clusters of one event from its per-token outputs (``beta``, ``coords``,
        ``type_prob``, ``charge_prob``, ``log_energy_factor``, ``direction``)."""
        electromagnetic = out["type_prob"][:, EM_TYPES].sum(axis=1) > 0.5
        labels, seeds = condense(
            out["beta"],
            out["coords"],
            beta_threshold=self.beta_threshold,
            distance_threshold=np.where(electromagnetic, self.em_distance_threshold, self.distance_threshold),
            join_distance=self.join_distance,
        )
        is_hit = np.asarray(a["is_hit"], dtype=bool)
        kin = cluster_kinematics(
            labels,
            seeds,
            is_hit=is_hit,
            hit_energy=a["hit_energy"],
            type_prob=out["type_prob"],
            charge_prob=out["charge_prob"],
            log_energy_factor=out["log_energy_factor"],
            direction=out["direction"],
            mode=self.kinematics,
        )
        return Clusters(labels[is_hit], kin.type_id, kin.charge, kin.energy, kin.direction)

    def baseline_labels(self, a: Mapping[str, np.ndarray]) -> np.ndarray:
        """The baseline's cluster per hit of one event: a clusterer's ``cluster(hits)`` (labels and count,
        as :class:`src.reco.topo_clustering.TopoClustering` returns them) or a callable's labels."""
        cluster = getattr(self.baseline, "cluster", None)
        result = cluster(a)[0] if callable(cluster) else self.baseline(a)
        return np.asarray(result["hit_cluster"] if isinstance(result, Mapping) else result, dtype=np.int64)

    def rule_clusters(self, a: Mapping[str, np.ndarray], labels: np.ndarray) -> Clusters:
        """Clusters given by labels (the baseline's, the event's own) with rule-based properties."""
        labels = np.asarray(labels, dtype=np.int64)
        n = int(labels.max(initial=-1)) + 1
        type_id, charge, direction, energy = self.typer(labels, n, a, a)
        return Clusters(labels, type_id, charge, energy, direction)

    # --- scoring --------------------------------------------------------------------------------------
    def add_event(
        self, a: Mapping[str, np.ndarray], out: Mapping[str, np.ndarray], *, model_time: float
    ) -> None:
        """Cluster and score one event (arrays of the calorimeter hit view, the model's outputs)."""
        methods = {"model": self.model_clusters(a, out)}
        own = "reference" if self.baseline is not None else "baseline"
        if self.baseline is not None:
            methods["baseline"] = self.rule_clusters(a, self.baseline_labels(a))
        if bool(a["has_event_clusters"][0]):
            methods[own] = self.rule_clusters(a, a["event_cluster"])
        has_truth = bool(a["has_truth"][0])
        visible = np.asarray(a["gen_visible"], dtype=bool)
        self._visible["n"] += int(visible.sum())
        self._visible["energy"] += float(np.asarray(a["gen_energy"], dtype=np.float64)[visible].sum())
        hit_object = np.asarray(a["object_id"])[np.asarray(a["is_hit"], dtype=bool)]
        row: dict[str, Any] = {
            "event": int(a["event_index"][0]),
            "n_hits": len(hit_object),
            "n_particles": len(np.unique(hit_object[hit_object >= 0])),
            "model_time_s": model_time,
        }
        for name, clusters in methods.items():
            res = self._results.setdefault(name, MethodResults())
            member = clusters.labels >= 0
            n_clusters = len(np.unique(clusters.labels[member]))
            res.n_clusters += n_clusters
            res.clustered_energy += float(np.asarray(a["hit_energy"], dtype=np.float64)[member].sum())
            row[f"{name}_clusters"] = n_clusters
            if not has_truth:
                continue
            match = match_event(a, clusters.labels)
            counts = cluster_counts(match, min_particle_energy=self.min_particle_energy)
            res.counts = res.counts + counts
            res.ari.append(adjusted_rand_index(hit_object, clusters.labels))
            res.matched.append(self._matched(match, clusters, a))
            row |= {f"{name}_ari": res.ari[-1]} | {f"{name}_{k}": v for k, v in counts.rates().items()}
        self._rows.append(row)
        if len(self._displays) < self.display_events:
            self._displays.append(
                {"eta": a["coords"][: len(hit_object), 0], "phi": a["coords"][: len(hit_object), 1]}
                | {"energy": np.asarray(a["hit_energy"]), "truth": hit_object}
                | {name: c.labels for name, c in methods.items()}
            )

    def _matched(self, match: Any, clusters: Clusters, a: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """One row per particle of the event with its deposit and, where found, its cluster's properties."""
        p = match.particles[match.particles["energy"] >= self.min_particle_energy]
        pid = p.index.to_numpy()
        found = p["found"].to_numpy()
        c = np.where(found, p["cluster"].to_numpy(), 0)
        n = len(pid)

        def at(values: np.ndarray, fill: Any) -> np.ndarray:
            out = np.full((n, *np.shape(values)[1:]), fill, dtype=np.float64)
            out[found] = values[c[found]]
            return out

        true_dir, pred_dir = np.asarray(a["gen_dir"])[pid], at(clusters.direction, np.nan)
        return pd.DataFrame(
            {
                "deposit": p["energy"].to_numpy(),
                "found": found,
                "true_energy": np.asarray(a["gen_energy"])[pid],
                "pred_energy": at(clusters.energy, np.nan),
                "true_type": np.asarray(a["gen_type"])[pid],
                "pred_type": at(clusters.type_id, -1).astype(np.int64),
                "true_charge": np.asarray(a["gen_charge_id"])[pid] - 1,
                "pred_charge": at(clusters.charge, -9).astype(np.int64),
                **{f"true_dir_{k}": true_dir[:, i] for i, k in enumerate("xyz")},
                **{f"pred_dir_{k}": pred_dir[:, i] for i, k in enumerate("xyz")},
            }
        )

    def matched_table(self, name: str) -> pd.DataFrame:
        """Every particle of the events added so far, for one method (empty without truth)."""
        res = self._results.get(name)
        return pd.concat(res.matched, ignore_index=True) if res and res.matched else pd.DataFrame()

    def metrics(self) -> dict[str, float]:
        """Metrics of every method over the events added so far (empty without events)."""
        out: dict[str, float] = {}
        n_events = len(self._rows)
        for name, res in self._results.items():
            prefix = PREFIXES[name]
            m = {"clusters_per_event": res.n_clusters / max(n_events, 1)}
            m["clusters_per_particle"] = ratio(res.n_clusters, self._visible["n"])
            m["clustered_energy_fraction"] = ratio(res.clustered_energy, self._visible["energy"])
            if res.matched:
                m |= res.counts.rates() | {"ari": float(np.nanmean(res.ari))}
                m |= self._found_metrics(self.matched_table(name))
            out |= {f"{prefix}{k}": float(v) for k, v in m.items()}
        if n_events:
            out["test/model_time_s"] = float(np.mean([r["model_time_s"] for r in self._rows]))
        return out

    @staticmethod
    def _found_metrics(table: pd.DataFrame) -> dict[str, float]:
        """Type and charge accuracy, energy and direction resolution of the found particles."""
        f = table[table["found"]]
        cm = confusion_matrix(f["true_type"], f["pred_type"], len(CALO_TYPE_NAMES))
        res = energy_resolution(f["pred_energy"], f["true_energy"])
        dirs = [f[[f"{w}_dir_{k}" for k in "xyz"]].to_numpy() for w in ("pred", "true")]
        charge = (f["pred_charge"] == f["true_charge"]).mean() if len(f) else np.nan
        return {
            "type_accuracy": accuracy(cm),
            "charge_accuracy": float(charge),
            "energy_response": res["response"],
            "energy_resolution": res["resolution"],
            "direction_resolution": angular_resolution(*dirs),
        }

    def table(self) -> pd.DataFrame:
        """One row per test event."""
        return pd.DataFrame(self._rows)

    def write(self, out: Path) -> None:
        """``test_per_event.csv`` and the plots."""
        if not self._rows:
            return
        self.table().to_csv(out / "test_per_event.csv", index=False)
        tables = {name: self.matched_table(name) for name in self._results}
        plot_calo_results(tables, self._displays, out / "plots")
