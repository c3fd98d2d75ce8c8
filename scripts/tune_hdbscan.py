"""Grid-search the clustering of a trained track-regression model on its validation events.

The model runs once over the validation events of the checkpoint's own dataset (same split); then every
(min_cluster_size, min_samples) pair of the grid clusters the stored predictions, the task's refit
(``task.evaluation.refit``) follows as in the test stage, and the tracks are scored with the mean TrackML
score over events (and the double-majority efficiency and fake rate; ``trackml_score_before_refit``: the
clusters alone). Prints the table, writes it as CSV and prints the overrides of the best pair.

    python scripts/tune_hdbscan.py \
        outputs/track_regression-transformer_regressor/runs/<time>/checkpoints/best.ckpt
    python scripts/tune_hdbscan.py <ckpt> --min-cluster-size 3 4 5 6 8 --min-samples 1 2 3 4 \
        --set dataset.n_events=1000 --split test
"""

from __future__ import annotations

import argparse
import itertools
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from torch_geometric.data import Batch

from src.evaluate import load_split
from src.evaluation.clustering import cluster
from src.evaluation.track_regression import TrackRegressionEvaluation
from src.metrics.tracks import sum_counts

log = logging.getLogger("tune_hdbscan")


def predict(task: torch.nn.Module, dataset) -> list[dict[str, np.ndarray]]:
    """Clustering coordinates of the predictions (the task's) and truth of every event of ``dataset``."""
    events = []
    with torch.no_grad():
        for i in range(len(dataset)):
            data = dataset[i]
            out, pred = task.outputs(Batch.from_data_list([data]))
            events.append(
                {
                    "pred": task.cluster_points(out, pred),
                    "particle_id": data.particle_id.numpy(),
                    "weight": data.weight.numpy(),
                    "pt": data.pt.numpy(),
                    "pos": data.hit_pos.numpy(),
                }
            )
    return events


def score_grid(
    events: list[dict[str, np.ndarray]],
    clusterer,
    min_cluster_sizes: list[int],
    min_samples: list[int],
    *,
    evaluation: TrackRegressionEvaluation,
) -> pd.DataFrame:
    """Mean TrackML score, DM efficiency and fake rate (pT >= the evaluation's rate_pt) per grid point."""
    rows = []
    for mcs, ms in itertools.product(min_cluster_sizes, min_samples):
        algo = clone(clusterer).set_params(min_cluster_size=mcs, min_samples=ms)
        start = time.perf_counter()
        scores, before, counts = [], [], []
        for e in events:
            clustered = cluster(algo, e["pred"])
            row, per_pt = evaluation.score(evaluation.refitted(clustered, e["pos"]), e)
            scores.append(row["trackml_score"])
            before.append(evaluation.trackml(clustered, e))
            counts.append(per_pt)
        rates = sum_counts(counts)[evaluation.rate_pt].rates()
        rows.append(
            {
                "min_cluster_size": mcs,
                "min_samples": ms,
                "trackml_score": float(np.nanmean(scores)),
                "trackml_score_before_refit": float(np.nanmean(before)),
                "eff_dm": rates["eff_dm"],
                "fake_dm": rates["fake_dm"],
                "cluster_time_s": (time.perf_counter() - start) / max(len(events), 1),
            }
        )
    return pd.DataFrame(rows).sort_values("trackml_score", ascending=False, kind="stable")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("ckpt", type=Path, help="checkpoint written by src.train (task=track_regression)")
    parser.add_argument("--min-cluster-size", type=int, nargs="+", default=[3, 4, 5, 6, 8, 10])
    parser.add_argument("--min-samples", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--split", choices=["val", "test"], default="val", help="events to tune on")
    parser.add_argument("--set", nargs="*", default=[], help="config overrides (e.g. dataset.n_events=800)")
    parser.add_argument("--out", type=Path, default=None, help="CSV (default: next to the checkpoint's run)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")

    task, dataset = load_split(args.ckpt, args.split, args.set, TrackRegressionEvaluation, "track_regression")
    evaluation = task.evaluation
    events = predict(task, dataset)
    table = score_grid(
        events, evaluation.clusterer, args.min_cluster_size, args.min_samples, evaluation=evaluation
    )
    out = args.out or args.ckpt.resolve().parents[1] / f"tune_hdbscan_{args.split}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    best = table.iloc[0]
    params = evaluation.clusterer.get_params()
    print(
        f"\ncurrent: min_cluster_size={params.get('min_cluster_size')}"
        f" min_samples={params.get('min_samples')}"
        f"\nbest on {len(events)} {args.split} events (TrackML score {best.trackml_score:.4f}):"
        f"\n  task.evaluation.clusterer.min_cluster_size={int(best.min_cluster_size)}"
        f" task.evaluation.clusterer.min_samples={int(best.min_samples)}\nwrote {out}"
    )


if __name__ == "__main__":
    main()
