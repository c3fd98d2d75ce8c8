"""Tune the classical Hough-transform track finder on the validation events of a track-regression dataset.

The baseline of ``task=track_regression`` (``task.evaluation.baseline``) is scored on the test events
next to the model; its settings are chosen here, on the *validation* events of the same dataset and split,
by a coordinate search: each parameter in turn takes the value of its grid with the best mean TrackML score
(the others held), over ``--passes`` passes. Prints every evaluated setting and the overrides of the best.

    python scripts/tune_hough.py                                  # the default dataset (sim_hits)
    python scripts/tune_hough.py --set dataset.particles=[50,100] --passes 1
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf

from src.compose import build_datamodule, build_view
from src.metrics.trackml_score import trackml_score
from src.utils.cross_validation import compose_run

#: Candidate values of each parameter of the finder (the search starts from the config's values).
GRID: dict[str, list[Any]] = {
    "pt_min": [0.2, 0.3, 0.4, 0.5],
    "n_curvature": [32, 48, 64, 96],
    "n_phi": [180, 240, 360, 480],
    "z0_max": [100.0, 150.0, 200.0],
    "n_z0": [21, 31, 61],
    "cot_width": [0.02, 0.04, 0.06, 0.08, 0.12],
    "min_hits": [3, 4, 5, 6, 7],
}


def score(finder_cfg: dict[str, Any], events: list[dict[str, np.ndarray]]) -> float:
    """Mean TrackML score of the finder over the events."""
    finder = instantiate(finder_cfg)
    scores = [
        trackml_score(
            particle_id=e["particle_id"],
            weight=e["weight"],
            track_id=finder(e["hit_pos"], float(e["b_field"][0])),
        )
        for e in events
    ]
    return float(np.mean(scores))


def main(argv: list[str] | None = None) -> int:
    """Coordinate search over :data:`GRID` on the validation events; prints the table and the best."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--set", nargs="*", default=[], help="Hydra overrides of the dataset/task")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("outputs/tune_hough"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    cfg = compose_run(["task=track_regression", "model=transformer_regressor", *args.set], args.out)
    datamodule = build_datamodule(cfg, build_view(cfg))
    datamodule.prepare_data()
    datamodule.setup("fit")
    events = [
        {k: v.numpy() for k, v in d.to_dict().items() if hasattr(v, "numpy")}
        for d in datamodule.datasets["val"]
    ]
    best = OmegaConf.to_container(cfg.task.evaluation.baseline, resolve=True)
    tried: dict[str, float] = {}

    def evaluate(candidate: dict[str, Any]) -> float:
        key = json.dumps({k: candidate[k] for k in GRID}, sort_keys=True)
        if key not in tried:
            tried[key] = score(candidate, events)
            print(f"{tried[key]:.4f}  {key}", flush=True)
        return tried[key]

    best_score = evaluate(best)
    for _ in range(args.passes):
        for name, values in GRID.items():
            for value in values:
                candidate = {**best, name: value}
                if evaluate(candidate) > best_score:
                    best, best_score = candidate, evaluate(candidate)
    print(f"\nbest mean TrackML score on {len(events)} validation events: {best_score:.4f}")
    print(" ".join(f"task.evaluation.baseline.{k}={best[k]}" for k in GRID))
    return 0


if __name__ == "__main__":
    sys.exit(main())
