"""Grid-search the cuts of the geometric linking baseline on training and validation events.

Composes the linking run's config (``task=linking`` plus the given overrides), builds the candidate links of
the training and validation events of its dataset and scores every combination of the cuts of
:class:`src.reco.ticl_linking.GeometricLinker` by the objective the model's working point uses
(``task.working_point``: the energy-weighted F1 of the link decisions, maximised, or an energy fraction,
minimised; ``--objective`` overrides it). The test events are never looked at. Prints the best
combinations and the overrides of the best; writes the table.

    python scripts/tune_linking_baseline.py
    python scripts/tune_linking_baseline.py dataset.pileup=50 --out outputs/tune_linking_baseline.csv
"""

from __future__ import annotations

import argparse
import itertools
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from src.compose import build_datamodule, build_view, compose_config
from src.event_model import LINK_FEATURE_NAMES
from src.metrics.linking import (
    edge_metrics,
    energy_fractions,
    single_parent,
    supercluster_energies,
    superclusters,
)
from src.reco.ticl_graph import F
from src.reco.ticl_linking import GeometricLinker

log = logging.getLogger("tune_linking_baseline")
GRID = {
    "max_axis_angle": [0.1, 0.25, 0.5, 1.0],
    "max_miss_distance": [15.0, 35.0, 80.0, 200.0],
    "max_pointing_angle": [0.3, 0.8, 1.6],
    "max_delta_z": [600.0, 2000.0],
}


def score_grid(events: list, grid: dict[str, list[float]], *, parent_links: bool) -> pd.DataFrame:
    """Energy-weighted edge F1 (and supercluster energies) of every combination of cuts; with
    ``parent_links`` superclusters keep each trackster's best link to a more energetic one (the task's
    ``evaluation.single_parent``), best = smallest miss distance."""
    truth = np.concatenate([e.y.numpy() > 0.5 for e in events])
    weight = np.concatenate([e.edge_weight.numpy() for e in events])
    category = np.concatenate([e.edge_category.numpy() for e in events])
    attr = [e.edge_attr.numpy() for e in events]
    rows = []
    for values in itertools.product(*grid.values()):
        cuts = dict(zip(grid, values, strict=True))
        linker = GeometricLinker(**cuts)
        decisions = [linker(a) for a in attr]
        metrics = edge_metrics(np.concatenate(decisions), truth, weight, category)
        sums: dict[str, float] = {}
        for e, decided in zip(events, decisions, strict=True):
            linked = decided
            if parent_links:
                priority = -e.edge_attr[:, LINK_FEATURE_NAMES.index("miss_distance")].numpy()
                linked = single_parent(
                    e.edge_index.numpy(), decided, priority, e.x[:, F["raw_energy"]].numpy()
                )
            labels = superclusters(e.num_nodes, e.edge_index.numpy(), linked)
            part = supercluster_energies(
                labels,
                e.x[:, F["raw_energy"]].numpy(),
                pair_node=e.pair_node.numpy(),
                pair_sim=e.pair_sim.numpy(),
                pair_shared=e.pair_shared.numpy(),
                sim_pileup=e.sim_pileup.numpy(),
                scored=np.isin(np.arange(len(e.sim_pileup)), e.node_particle.numpy()),
            )
            sums = {k: sums.get(k, 0.0) + v for k, v in part.items()}
        rows.append(
            cuts
            | {k: metrics[k] for k in ("edge_f1", "edge_precision", "edge_recall")}
            | energy_fractions(sums)
        )
    return pd.DataFrame(rows).sort_values("edge_f1", ascending=False, kind="stable")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("overrides", nargs="*", help="config overrides (e.g. dataset.pileup=50)")
    parser.add_argument("--out", type=Path, default=Path("outputs/tune_linking_baseline.csv"))
    parser.add_argument(
        "--objective", default=None, help="edge_f1 or an energy fraction (default: task.working_point)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    cfg = compose_config(["task=linking", *args.overrides])
    datamodule = build_datamodule(cfg, build_view(cfg))
    datamodule.prepare_data()
    datamodule.setup("fit")
    events = [d[i] for d in (datamodule.datasets["train"], datamodule.datasets["val"]) for i in range(len(d))]
    log.info(
        "Scoring %d cut combinations on %d training and validation events",
        int(np.prod([len(v) for v in GRID.values()])),
        len(events),
    )
    table = score_grid(events, GRID, parent_links=bool(cfg.task.evaluation.single_parent))
    objective = args.objective or ("edge_f1" if cfg.task.working_point == "f1" else cfg.task.working_point)
    table = table.sort_values(objective, ascending=objective != "edge_f1", kind="stable")
    log.info("Ranked by %s", objective)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(table.head(10).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    best = table.iloc[0]
    print(
        "\nbest: " + " ".join(f"task.evaluation.baseline.{k}={best[k]}" for k in GRID) + f"\nwrote {args.out}"
    )


if __name__ == "__main__":
    main()
