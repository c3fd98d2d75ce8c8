"""Grid-search the condensation inference of a trained calorimeter-clustering model on its validation events.

The model runs once over the validation events of the checkpoint's own dataset (same split); every
(beta_threshold, distance_threshold, em_distance_threshold, join_distance) point of the grid (join ≥ both
distances) then clusters the stored outputs and is scored with
the energy-weighted efficiency and purity, the found fraction, the fake rate and the ARI. The baseline
(``task.evaluation.baseline``, the topological clustering, else the events' own clusters) is scored on the
same events. The best point (``--rule``):

* ``margin`` (the default): the point that beats the baseline on both efficiency and purity by the most,
  measured in standard deviations: it maximises min(Δefficiency/σ, Δpurity/σ), with Δ the model minus the
  baseline and σ the spread of that difference over bootstrap resamplings of the events (the same
  resamplings for every point, both methods on the same resampled events). A point on the edge of the
  baseline's purity, whose purity lead is a coin flip on other events, scores near 0 there.
* ``efficiency``: the most efficient point whose purity is at least the baseline's (``--min-purity`` sets
  another floor).

Prints the table, writes it as CSV and prints the overrides of the best point. Tune on more events than a
dataset's validation split holds by pointing the script at fresh events of the same generator:
``--set dataset.seed=7 dataset.n_events=400 'dataset.split=[1,399,0]'``.

    python scripts/tune_condensation.py outputs/calo_clustering-transformer/runs/<time>/checkpoints/best.ckpt
    python scripts/tune_condensation.py <ckpt> --distance 0.5 0.7 --em-distance 0.3 0.5 --join 1.1 1.5
    python scripts/tune_condensation.py <ckpt> --split test --beta 0.2 --distance 0.7 --em-distance 0.3 \
        --join 2.0 --bootstrap 4000     # one point on the test events, with bootstrap intervals
"""

from __future__ import annotations

import argparse
import itertools
import logging
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Batch

from src.evaluate import load_split
from src.evaluation.calo_clustering import CaloClusteringEvaluation, match_event
from src.metrics.calo_clusters import ClusterCounts, adjusted_rand_index, cluster_counts

log = logging.getLogger("tune_condensation")


def predict(task: torch.nn.Module, dataset) -> list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """(event arrays, model outputs) of every event of ``dataset``."""
    events = []
    with torch.no_grad():
        for i in range(len(dataset)):
            data = dataset[i]
            out = task.to_numpy(task(Batch.from_data_list([data])))
            arrays = {k: v.numpy() for k, v in data.to_dict().items() if isinstance(v, torch.Tensor)}
            events.append((arrays, out))
    return events


def event_counts(
    events: list, labels_of: Callable[[dict, dict], np.ndarray]
) -> tuple[list[ClusterCounts], list[float]]:
    """Per event with hit truth: the cluster counts and the ARI of one clustering."""
    counts, ari = [], []
    for a, out in events:
        if not bool(a["has_truth"][0]):
            continue
        labels = labels_of(a, out)
        counts.append(cluster_counts(match_event(a, labels)))
        ari.append(adjusted_rand_index(a["object_id"][a["is_hit"]], labels))
    return counts, ari


def summarize(counts: list[ClusterCounts], ari: list[float]) -> dict[str, float]:
    """Rates and mean ARI from per-event counts and ARIs."""
    total = sum(counts, ClusterCounts())
    return total.rates() | {"ari": float(np.nanmean(ari)) if ari else float("nan")}


def resamplings(n_events: int, n: int, seed: int = 0) -> np.ndarray:
    """[n, n_events]: how often each event is drawn in each of ``n`` bootstrap resamplings."""
    return np.random.default_rng(seed).multinomial(n_events, np.full(n_events, 1.0 / n_events), size=n)


def resampled_rates(counts: list[ClusterCounts], draws: np.ndarray) -> dict[str, np.ndarray]:
    """Efficiency and purity of the events' summed counts in each resampling (rows of ``draws``)."""
    names = [f.name for f in fields(ClusterCounts)]
    table = np.array([[getattr(c, name) for name in names] for c in counts], dtype=np.float64)
    total = dict(zip(names, (draws @ table).T, strict=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "efficiency": total["captured_energy"] / total["particle_energy"],
            "purity": total["purity_energy"] / total["found_energy"],
        }


def bootstrap_differences(
    model: list[ClusterCounts], base: list[ClusterCounts], n: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Model minus baseline efficiency and purity over ``n`` resamplings of the events (the same resampled
    events for both)."""
    draws = resamplings(len(model), n, seed)
    return differences(model, resampled_rates(base, draws), draws)


def differences(
    model: list[ClusterCounts], base_rates: dict[str, np.ndarray], draws: np.ndarray
) -> dict[str, np.ndarray]:
    """Model minus baseline efficiency and purity in each resampling (rows of ``draws``), given the
    baseline's rates in the same resamplings (:func:`resampled_rates`)."""
    m = resampled_rates(model, draws)
    return {key: m[key] - base_rates[key] for key in m}


def margins(
    rates: dict[str, float], base: dict[str, float], diffs: dict[str, np.ndarray]
) -> dict[str, float]:
    """Model-minus-baseline efficiency and purity (``d_*``), each over its bootstrap spread (``z_*``), and
    ``margin``, the smaller of the two: how surely the point beats the baseline on both."""
    out: dict[str, float] = {}
    for key in ("efficiency", "purity"):
        delta = rates[key] - base[key]
        spread = float(np.nanstd(diffs[key]))
        out[f"d_{key}"] = delta
        out[f"z_{key}"] = delta / spread if spread > 0 else float(np.sign(delta)) * np.inf
    out["margin"] = min(out["z_efficiency"], out["z_purity"])
    return out


def baseline_labels(evaluation: CaloClusteringEvaluation, a: dict[str, np.ndarray]) -> np.ndarray:
    """The baseline's cluster per hit: the configured baseline run on the event, else the event's own
    clusters (``dataset=sim_calo`` caches its topological clusters), as the test stage scores them."""
    if evaluation.baseline is not None:
        return evaluation.baseline_labels(a)
    return np.asarray(a["event_cluster"], dtype=np.int64)


def choose(
    table: pd.DataFrame, base: dict[str, float] | None, rule: str, min_purity: float | None
) -> tuple[int, str] | None:
    """Row of the best point of the grid and the rule in words (see the module docstring); None when no
    point reaches the purity floor of ``rule="efficiency"``."""
    if rule == "margin":
        return int(table["margin"].to_numpy().argmax()), "beats the baseline on both by the most σ"
    floor = base["purity"] if min_purity is None and base is not None else min_purity
    ok = table[table["purity"] >= floor] if floor is not None else table
    if not len(ok):
        return None
    words = "the most efficient" + ("" if floor is None else f" with purity >= {floor:.4f}")
    return int(ok.sort_values("efficiency", ascending=False, kind="stable").index[0]), words


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("ckpt", type=Path, help="checkpoint written by src.train (task=calo_clustering)")
    parser.add_argument("--beta", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.3, 0.5])
    parser.add_argument("--distance", type=float, nargs="+", default=[0.4, 0.5, 0.6, 0.7, 0.8, 1.0])
    parser.add_argument("--em-distance", type=float, nargs="+", default=[0.3, 0.4, 0.5, 0.7])
    parser.add_argument("--join", type=float, nargs="+", default=[0.5, 0.7, 0.9, 1.1, 1.3, 1.6])
    parser.add_argument(
        "--rule", choices=["margin", "efficiency"], default="margin", help="how the best point is chosen"
    )
    parser.add_argument(
        "--min-purity", type=float, default=None, help="--rule efficiency: default the baseline's purity"
    )
    parser.add_argument(
        "--resamplings", type=int, default=500, help="bootstrap resamplings behind each point's margin"
    )
    parser.add_argument("--split", choices=["val", "test"], default="val", help="events to tune on")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        help="config overrides (e.g. dataset.n_events=800; task.* also reach the checkpoint's task)",
    )
    parser.add_argument(
        "--bootstrap", type=int, default=0, help="resamplings of the events for the best point's differences"
    )
    parser.add_argument("--out", type=Path, default=None, help="CSV (default: next to the checkpoint's run)")
    return parser.parse_args()


def main() -> None:
    """Command-line entry point."""
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")

    task, dataset = load_split(args.ckpt, args.split, args.set, CaloClusteringEvaluation, "calo_clustering")
    evaluation = task.evaluation
    events = predict(task, dataset)
    base = None
    if evaluation.baseline is not None or all(bool(a["has_event_clusters"][0]) for a, _ in events):
        base_counts, base_ari = event_counts(events, lambda a, _: baseline_labels(evaluation, a))
        base = summarize(base_counts, base_ari)
        print(
            f"baseline: efficiency {base['efficiency']:.4f} purity {base['purity']:.4f} ari {base['ari']:.4f}"
        )
    if args.rule == "margin" and base is None:
        raise SystemExit("--rule margin compares with a baseline; these events have none: --rule efficiency")
    rows, per_point = [], []
    if base is not None:  # the same resamplings for every point: the baseline's rates in them, once
        draws = resamplings(len(base_counts), args.resamplings)
        base_resampled = resampled_rates(base_counts, draws)
    grid = itertools.product(args.beta, args.distance, args.em_distance, args.join)
    for beta, distance, em_distance, join in grid:
        if join < max(distance, em_distance):
            continue
        evaluation.beta_threshold, evaluation.distance_threshold = beta, distance
        evaluation.em_distance_threshold, evaluation.join_distance = em_distance, join
        counts, ari = event_counts(events, lambda a, out: evaluation.model_clusters(a, out).labels)
        rates = summarize(counts, ari)
        point = {"beta_threshold": beta, "distance_threshold": distance, "em_distance_threshold": em_distance}
        if base is not None:
            rates |= margins(rates, base, differences(counts, base_resampled, draws))
        rows.append(point | {"join_distance": join, **rates})
        per_point.append(counts)
    table = pd.DataFrame(rows)
    out = args.out or args.ckpt.resolve().parents[1] / f"tune_condensation_{args.split}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    chosen = choose(table, base, args.rule, args.min_purity)
    if chosen is None:
        print(f"\nno point reaches the purity floor on {len(events)} {args.split} events\nwrote {out}")
        return
    best_index, rule = chosen
    best = table.loc[best_index]
    print(
        f"\nbest on {len(events)} {args.split} events ({rule}: efficiency {best.efficiency:.4f}, purity "
        f"{best.purity:.4f}):"
        f"\n  task.evaluation.beta_threshold={best.beta_threshold:g}"
        f" task.evaluation.distance_threshold={best.distance_threshold:g}"
        f" task.evaluation.em_distance_threshold={best.em_distance_threshold:g}"
        f" task.evaluation.join_distance={best.join_distance:g}\nwrote {out}"
    )
    if args.bootstrap and base is not None:
        print(f"\nmodel - baseline at the best point, {args.bootstrap} resamplings of the events:")
        diffs = bootstrap_differences(per_point[best_index], base_counts, args.bootstrap)
        for key, d in diffs.items():
            q = np.quantile(d, [0.16, 0.84, 0.025, 0.975])
            print(
                f"  {key}: {best[key] - base[key]:+.4f}  68% [{q[0]:+.4f}, {q[1]:+.4f}]"
                f"  95% [{q[2]:+.4f}, {q[3]:+.4f}]"
            )


if __name__ == "__main__":
    main()
