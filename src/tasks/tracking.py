"""Tracking task: embed line segments so that LS of the same simulated track sit together (HEPT-CMS study).

Training pairs come from a radius graph in a 3-D LDA projection of the LS features (fitted once on the
training LS with the sim track as class, kept in the state dict so every later evaluation re-uses it);
at most ``max_neighbours_factor·√N`` nearest neighbours per LS. With ``all_positives`` every same-track pair
is added as a positive too (as the study's dataset code does), so the graph only decides the negatives.
Loss: InfoNCE with an RBF similarity of the embedding distance (σ, τ). By default only sim-matched LS
enter (the study); ``fake_negatives`` feeds every LS and makes fakes negatives of everything.

Evaluation, in two scopes — ``test/…``: the sim-matched LS of an event only (the study's setting);
``test/all/…``: every LS of the event (fakes included, or whatever a pileup filter left):

* AP@k (:mod:`src.metrics.retrieval`) at simulated pT ≥ 0 / 0.5 / 0.9 (``ap@k_pt0.9``), the study code's
  R-precision (``r_precision_pt0.9``) and AP@k by reconstructed LS pT (``ap@k_lspt0.9``, the only pT
  cut on real events, which carry no simulated pT);
* track candidates: the embedding clustered per event (HDBSCAN by default), matched to tracks by
  :mod:`src.metrics.tracks`: ``eff_dm_pt0.9``, ``eff_perfect_pt0.9``, ``eff_lhc_pt0.9``, ``fake_dm_pt0.9``, …;
* ``graph_saturation``: fraction of same-track LS pairs that the training radius graph contains;
* the baseline — the same AP@k and clustering on the LDA coordinates, no learning — under ``baseline/…``
  and ``baseline/all/…``.

Test artifacts: ``test_per_event.csv``; ``test_by_length.csv`` and ``test_by_pt.csv`` (efficiencies and
AP@k by track length and by simulated pT, per scope); ``test_tracks.csv`` (one row per track and scope);
``plots/by_track_length.png``, ``plots/by_pt.png``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from torch import Tensor, nn
from torch_geometric.data import Batch

from src.data.graphs import graph_saturation, radius_pairs, same_track_pairs, symmetrize, unique_pairs
from src.data.lda import fit_lda
from src.metrics.naming import with_threshold
from src.metrics.retrieval import APAtK, average_precision_at_k, mean_at_thresholds
from src.metrics.tracks import match_tracks, sum_counts, track_counts, tracking_rates
from src.tasks.base import EventTask
from src.tasks.losses import info_nce_loss
from src.utils.plotting_tracks import plot_breakdown

log = logging.getLogger(__name__)

#: Scopes of the test metrics: (metric-name prefix, embedding, which LS).
_SCOPES = (
    ("", "model", "matched"),
    ("all/", "model", "all"),
    ("baseline/", "lda", "matched"),
    ("baseline/all/", "lda", "all"),
)
#: pT bins (GeV) of the breakdown by simulated pT.
PT_BINS = (0.0, 0.5, 0.9, 1.5, 3.0, 10.0, np.inf)


@dataclass
class _Objects:
    """The LS of a batch of events as flat arrays (a subset keeps the event structure)."""

    x: Tensor
    coords: Tensor
    batch: Tensor
    particle_id: Tensor
    sim_pt: Tensor
    ls_pt: Tensor
    event: Tensor

    @classmethod
    def from_batch(cls, batch: Batch) -> _Objects:
        return cls(
            x=batch.x,
            coords=batch.coords,
            batch=batch.batch,
            particle_id=batch.particle_id,
            sim_pt=batch.sim_pt,
            ls_pt=batch.ls_pt,
            event=batch.event_index[batch.batch],
        )

    def subset(self, mask: Tensor) -> _Objects:
        """The objects where ``mask`` is true, with event indices renumbered 0…B'−1."""
        out = {f.name: getattr(self, f.name)[mask] for f in fields(self)}
        out["batch"] = torch.unique(out["batch"], return_inverse=True)[1]
        return _Objects(**out)

    def __len__(self) -> int:
        return len(self.x)


class TrackingTask(EventTask):
    """LS embedding with InfoNCE on LDA radius-graph pairs, on any backbone (its output is the embedding)."""

    def __init__(
        self,
        backbone: nn.Module,
        *,
        radius: float = 4.0,
        max_neighbours_factor: float = 0.2,
        all_positives: bool = True,
        sigma: float = 0.75,
        tau: float = 0.05,
        fake_negatives: bool = False,
        lda_components: int = 3,
        lda_events: int = 64,
        lda_max_tracks: int = 20000,
        lda_residual: float = 0.0,
        pt_thresholds: Sequence[float] = (0.0, 0.5, 0.9),
        clusterer: Any = None,
        baseline_clusterer: Any = None,
        min_cluster_size: int = 3,
        min_particle_size: int = 3,
        evaluate_all_ls: bool = True,
        **base,
    ) -> None:
        super().__init__(backbone, **base)
        if clusterer is None or not hasattr(clusterer, "fit_predict"):
            raise ValueError(
                f"task.clusterer must be a clustering estimator with fit_predict (e.g. _target_: "
                f"sklearn.cluster.HDBSCAN), got {clusterer!r}"
            )
        self.radius = radius
        self.max_neighbours_factor = max_neighbours_factor
        self.all_positives = all_positives
        self.sigma = sigma
        self.tau = tau
        self.fake_negatives = fake_negatives
        self.lda_events = lda_events
        self.lda_max_tracks = lda_max_tracks
        self.pt_thresholds = tuple(float(t) for t in pt_thresholds)
        self.clusterer = clusterer
        self.baseline_clusterer = baseline_clusterer if baseline_clusterer is not None else clusterer
        self.min_cluster_size = min_cluster_size
        self.min_particle_size = min_particle_size
        self.evaluate_all_ls = evaluate_all_ls
        out_dim = backbone.out_dim
        if lda_residual < 0 or (lda_residual > 0 and out_dim < lda_components):
            raise ValueError(
                f"task.lda_residual={lda_residual} needs lda_residual >= 0 and model.out_dim ({out_dim}) >= "
                f"task.lda_components ({lda_components})"
            )
        self.lda_residual = lda_residual
        # with a residual, the embedding starts as the scaled LDA coordinates: a zero-initialised head
        self.head = nn.Linear(out_dim, out_dim) if lda_residual > 0 else nn.Identity()
        if lda_residual > 0:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        num_features = base["num_features"]
        self.register_buffer("lda_mean", torch.zeros(num_features, dtype=torch.float64))
        self.register_buffer("lda_scalings", torch.zeros(num_features, lda_components, dtype=torch.float64))
        self.register_buffer("lda_fitted", torch.tensor(False))
        self._val: list[dict[str, np.ndarray]] = []
        self._test: dict[str, list] = {}

    # --- LDA and training pairs ----------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and not bool(self.lda_fitted):
            train = self.trainer.datamodule.datasets["train"]
            n = min(len(train), self.lda_events)
            events = [train[i] for i in range(n)]
            lda = fit_lda(
                [e.x.numpy() for e in events],
                [e.particle_id.numpy() for e in events],
                n_components=self.lda_scalings.shape[1],
                max_tracks=self.lda_max_tracks,
            )
            self.lda_mean.copy_(torch.from_numpy(lda.mean))
            self.lda_scalings.copy_(torch.from_numpy(lda.scalings))
            self.lda_fitted.fill_(True)
            log.info("LDA fitted on %d training event(s): %d LS of %d tracks", n, lda.n_objects, lda.n_tracks)

    def lda(self, x: Tensor) -> np.ndarray:
        """LDA coordinates [N, C] (numpy float64) of view features [N, F]."""
        if not bool(self.lda_fitted):
            raise RuntimeError(
                "the tracking task's LDA projection is not fitted: train first (python -m src.train "
                "task=tracking) or load a checkpoint written by src.train"
            )
        return ((x.detach().double() - self.lda_mean) @ self.lda_scalings).cpu().numpy()

    def graph(self, objects: _Objects) -> np.ndarray:
        """The radius graph in LDA space (both directions of each edge), [2, E]."""
        return symmetrize(
            radius_pairs(
                self.lda(objects.x),
                objects.batch.cpu().numpy(),
                radius=self.radius,
                factor=self.max_neighbours_factor,
            )
        )

    def training_pairs(self, objects: _Objects) -> tuple[Tensor, Tensor, float]:
        """Pairs [2, E], positive mask [E] and the graph's saturation for a set of objects."""
        pid = objects.particle_id.cpu().numpy()
        batch = objects.batch.cpu().numpy()
        edges = self.graph(objects)
        saturation = graph_saturation(edges, pid, batch)
        if self.all_positives:
            edges = unique_pairs(np.concatenate([edges, same_track_pairs(pid, batch)], axis=1))
        positive = (pid[edges[0]] >= 0) & (pid[edges[0]] == pid[edges[1]])
        device = objects.x.device
        return torch.from_numpy(edges).to(device), torch.from_numpy(positive).to(device), saturation

    # --- model ---------------------------------------------------------------------------------------
    def embed_objects(self, objects: _Objects) -> Tensor:
        """Embedding [N, out_dim] of a set of objects (the backbone sees only these).

        With ``lda_residual`` s > 0 it is ``head(backbone) + s · LDA`` (LDA coordinates in the first
        dimensions, the head zero at initialisation), so training starts from the LDA baseline and learns
        a correction; with s = 0 it is the backbone output alone.
        """
        embedding = self.head(self.backbone(self.normalizer(objects.x), objects.coords, objects.batch))
        if self.lda_residual > 0:
            lda = torch.from_numpy(self.lda(objects.x)).to(embedding)
            embedding = torch.cat(
                [embedding[:, : lda.shape[1]] + self.lda_residual * lda, embedding[:, lda.shape[1] :]], dim=1
            )
        return embedding

    def forward(self, batch: Batch) -> Tensor:
        """Embedding [N, out_dim] of every LS of the batch."""
        return self.embed_objects(_Objects.from_batch(batch))

    def _training_objects(self, batch: Batch) -> _Objects:
        objects = _Objects.from_batch(batch)
        return objects if self.fake_negatives else objects.subset(objects.particle_id >= 0)

    def _loss(self, objects: _Objects, embedding: Tensor) -> tuple[Tensor, float]:
        pairs, positive, saturation = self.training_pairs(objects)
        return info_nce_loss(embedding, pairs, positive, sigma=self.sigma, tau=self.tau), saturation

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        objects = self._training_objects(batch)
        loss, saturation = self._loss(objects, self.embed_objects(objects))
        self.log("train/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        self.log("train/graph_saturation", saturation, batch_size=batch.num_graphs)
        return loss

    # --- validation: loss and AP@k on sim-matched LS -------------------------------------------------
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        objects = self._training_objects(batch)
        embedding = self.embed_objects(objects)
        loss, _ = self._loss(objects, embedding)
        self.log("val/loss", loss, batch_size=batch.num_graphs)
        matched = objects.subset(objects.particle_id >= 0)
        emb = embedding[objects.particle_id >= 0]
        result = average_precision_at_k(
            emb.detach().float().cpu().numpy(), matched.particle_id.cpu().numpy(), matched.batch.cpu().numpy()
        )
        self._val.append({"ap": result.ap, "pt": matched.sim_pt.cpu().numpy()[result.index]})

    def on_validation_epoch_end(self) -> None:
        if not self._val:
            return
        ap = np.concatenate([v["ap"] for v in self._val])
        pt = np.concatenate([v["pt"] for v in self._val])
        self._val.clear()
        metrics = mean_at_thresholds(ap, pt, self.pt_thresholds, prefix="ap@k_pt")
        self.log_dict({f"val/{k}": v for k, v in metrics.items()}, prog_bar=True)

    # --- test ------------------------------------------------------------------------------------------
    def on_test_epoch_start(self) -> None:
        self._test = {"queries": [], "counts": [], "particles": [], "events": []}

    def _cluster(self, clusterer: Any, embedding: np.ndarray) -> np.ndarray:
        if len(embedding) < max(2, self.min_cluster_size):
            return np.full(len(embedding), -1, dtype=np.int64)
        return np.asarray(clone(clusterer).fit_predict(embedding), dtype=np.int64)

    def _evaluate_scope(
        self, scope: str, objects: _Objects, embedding: np.ndarray, clusterer: Any
    ) -> dict[tuple[int, str], float]:
        """Store the AP@k and track-matching results of one scope for one batch; per-event metrics out."""
        pid = objects.particle_id.cpu().numpy()
        batch = objects.batch.cpu().numpy()
        events = objects.event.cpu().numpy()
        sim_pt = objects.sim_pt.cpu().numpy()
        result: APAtK = average_precision_at_k(embedding, pid, batch)
        self._test["queries"].append(
            pd.DataFrame(
                {
                    "scope": scope,
                    "event": events[result.index],
                    "track_length": result.track_length,
                    "sim_pt": sim_pt[result.index],
                    "ls_pt": objects.ls_pt.cpu().numpy()[result.index],
                    "ap": result.ap,
                    "r_precision": result.r_precision,
                }
            )
        )
        per_event: dict[tuple[int, str], float] = {}
        match_pt = np.nan_to_num(sim_pt, nan=0.0)  # real events: no sim pT, every track counts at pT >= 0
        query_event = events[result.index]
        for b in np.unique(batch):
            sel = batch == b
            labels = self._cluster(clusterer, embedding[sel])
            match = match_tracks(
                labels,
                pid[sel],
                match_pt[sel],
                noise=pid[sel] < 0,
                min_cluster_size=self.min_cluster_size,
                min_particle_size=self.min_particle_size,
            )
            counts = track_counts(match, self.pt_thresholds)
            event = int(events[sel][0])
            self._test["counts"].append((scope, counts))
            particles = match.particles.reset_index(names="particle_id")
            if np.isnan(sim_pt[sel]).all():
                particles["pt"] = np.nan
            particles.insert(0, "event", event)
            particles.insert(0, "scope", scope)
            self._test["particles"].append(particles)
            on_event = query_event == event
            values = mean_at_thresholds(
                result.ap[on_event], sim_pt[result.index][on_event], self.pt_thresholds, prefix="ap@k_pt"
            )
            rates = tracking_rates(counts)
            dm_names = [with_threshold("eff_dm_pt", t) for t in self.pt_thresholds]
            values |= {name: rates[name] for name in dm_names}
            per_event |= {(event, scope + name): value for name, value in values.items()}
        return per_event

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        objects = _Objects.from_batch(batch)
        matched = objects.subset(objects.particle_id >= 0)
        sets = {"matched": matched, "all": objects}
        embeddings = {("model", "matched"): self.embed_objects(matched).float().cpu().numpy()}
        if self.evaluate_all_ls:
            embeddings[("model", "all")] = self.embed_objects(objects).float().cpu().numpy()
        per_event: dict[tuple[int, str], float] = {}
        for scope, space, which in _SCOPES:
            if which == "all" and not self.evaluate_all_ls:
                continue
            embedding = embeddings[(space, which)] if space == "model" else self.lda(sets[which].x)
            clusterer = self.clusterer if space == "model" else self.baseline_clusterer
            per_event |= self._evaluate_scope(scope, sets[which], embedding, clusterer)
        for which in ("matched", "all") if self.evaluate_all_ls else ("matched",):
            prefix = "" if which == "matched" else "all/"
            for b in torch.unique(sets[which].batch):
                objs = sets[which].subset(sets[which].batch == b)
                edges = self.graph(objs)
                event = int(objs.event[0])
                pid = objs.particle_id.cpu().numpy()
                per_event[(event, f"{prefix}graph_saturation")] = graph_saturation(edges, pid)
                per_event[(event, f"{prefix}graph_edges_per_ls")] = edges.shape[1] / len(objs)
        for event in np.unique(objects.event.cpu().numpy()):
            sel = objects.event == int(event)
            pid = objects.particle_id[sel]
            row = {
                "event": int(event),
                "n_ls": int(sel.sum()),
                "n_true_ls": int((pid >= 0).sum()),
                "n_tracks": int(torch.unique(pid[pid >= 0]).numel()),
            }
            row |= {name: value for (e, name), value in per_event.items() if e == int(event)}
            self._test["events"].append(row)

    def on_test_epoch_end(self) -> None:
        if not self._test.get("events"):
            return
        queries = pd.concat(self._test["queries"], ignore_index=True)
        events = pd.DataFrame(self._test["events"])
        metrics: dict[str, float] = {}
        for scope, _, which in _SCOPES:
            rows = queries[queries["scope"] == scope]
            if which == "all" and not self.evaluate_all_ls:
                continue
            scoped = self._ap_metrics(rows)
            counts = sum_counts(c for s, c in self._test["counts"] if s == scope)
            scoped |= tracking_rates(counts)
            key = "test/" + scope if not scope.startswith("baseline/") else scope
            metrics |= {f"{key}{name}": value for name, value in scoped.items()}
        for prefix in ("", "all/") if self.evaluate_all_ls else ("",):
            metrics[f"test/{prefix}graph_saturation"] = float(events[f"{prefix}graph_saturation"].mean())
            metrics[f"test/{prefix}graph_edges_per_ls"] = float(events[f"{prefix}graph_edges_per_ls"].mean())
        self.log_dict(metrics)
        if self.trainer.is_global_zero:
            particles = pd.concat(self._test["particles"], ignore_index=True)
            self._write_test_artifacts(queries, particles, events)
        self._test = {}

    def _ap_metrics(self, rows: pd.DataFrame) -> dict[str, float]:
        out = mean_at_thresholds(rows["ap"], rows["sim_pt"], self.pt_thresholds, prefix="ap@k_pt")
        out |= mean_at_thresholds(
            rows["r_precision"], rows["sim_pt"], self.pt_thresholds, prefix="r_precision_pt"
        )
        out |= mean_at_thresholds(
            rows["ap"], rows["ls_pt"], [t for t in self.pt_thresholds if t > 0], prefix="ap@k_lspt"
        )
        return out

    def _write_test_artifacts(
        self, queries: pd.DataFrame, particles: pd.DataFrame, events: pd.DataFrame
    ) -> None:
        out = self.output_dir
        plots = out / "plots"
        plots.mkdir(parents=True, exist_ok=True)
        events.sort_values("event").to_csv(out / "test_per_event.csv", index=False)
        particles.to_csv(out / "test_tracks.csv", index=False)
        reco = particles[particles["reconstructable"]]
        by_length = _breakdown(
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
            by_pt = _breakdown(reco, queries, particle_key="pt_bin", query_key="pt_bin", name="pt_bin")
            by_pt.to_csv(out / "test_by_pt.csv", index=False)
            plot_breakdown(
                by_pt,
                plots / "by_pt.png",
                x="pt_bin",
                columns=["eff_dm", "eff_perfect", "ap@k"],
                xlabel="simulated pT (GeV)",
                title="Test: by simulated pT",
            )


def _breakdown(
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
