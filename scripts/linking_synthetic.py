"""Synthetic TICL events from Gaussian mixtures fitted to a dataset's tracksters, with signal and pileup kept.

Composes the linking run's config (``task=linking`` plus the given overrides), fits the mixtures of
:mod:`src.data.ticl_synthetic` to the training events of its dataset, samples ``--events`` events and writes
them as a ticlDumper ntuple, with a table comparing every node feature's mean and spread in the data and in
the synthetic events. Train on them with the printed command.

    python scripts/linking_synthetic.py --events 500 --out outputs/synthetic
    python scripts/linking_synthetic.py dataset.pileup=50 --components 12 --out outputs/synthetic_pu50
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from src.compose import build_datamodule, build_view, compose_config
from src.data.ticl_synthetic import fit_trackster_model, sample_events
from src.event_model import TRACKSTER_FEATURE_NAMES
from src.io.ticl_dumper import write_ticl_dumper
from src.reco.ticl_graph import trackster_features

log = logging.getLogger("linking_synthetic")


def compare(real: list[dict], synthetic: list[dict]) -> pd.DataFrame:
    """Mean and standard deviation of every node feature in both sets of events."""
    a, b = (np.concatenate([trackster_features(e) for e in events]) for events in (real, synthetic))
    return pd.DataFrame(
        {
            "feature": TRACKSTER_FEATURE_NAMES,
            "data_mean": a.mean(0),
            "synthetic_mean": b.mean(0),
            "data_std": a.std(0),
            "synthetic_std": b.std(0),
        }
    )


def run(overrides: list[str], *, events: int, components: int, fit_events: int, out: Path, seed: int) -> dict:
    """Fit on the training events of the composed dataset, sample, write the ntuple and the comparison."""
    cfg = compose_config(["task=linking", *overrides])
    datamodule = build_datamodule(cfg, build_view(cfg))
    datamodule.prepare_data()
    source = datamodule.source
    train = [{k: v.numpy() for k, v in source.load(i).items()} for i in datamodule.train_idx[:fit_events]]
    if not train:
        raise SystemExit(f"no training events in dataset.split={list(cfg.dataset.split)}")
    log.info("Fitting on %d training events", len(train))
    model = fit_trackster_model(train, max_score=cfg.task.view.max_score, components=components, seed=seed)
    synthetic = sample_events(model, events, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    path = write_ticl_dumper(out / "synthetic.root", synthetic)
    table = compare(train, synthetic)
    table.to_csv(out / "features.csv", index=False)
    summary = {
        "fitted_events": len(train),
        "events": events,
        "signal_particles_per_event": float(np.mean([(e["sim_interaction"] == 0).sum() for e in synthetic])),
        "pileup_particles_per_event": float(np.mean([(e["sim_interaction"] > 0).sum() for e in synthetic])),
        "tracksters_per_event": float(np.mean([len(e["trackster_raw_energy"]) for e in synthetic])),
        "data_tracksters_per_event": float(np.mean([len(e["trackster_raw_energy"]) for e in train])),
        "ntuple": str(path),
    }
    (out / "synthetic.json").write_text(json.dumps(summary, indent=2))
    return summary | {"table": table}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "overrides", nargs="*", help="config overrides of the dataset to fit (e.g. dataset.pileup=50)"
    )
    parser.add_argument("--events", type=int, default=200, help="synthetic events to write")
    parser.add_argument(
        "--fit-events", type=int, default=1000, help="at most this many training events to fit"
    )
    parser.add_argument("--components", type=int, default=8, help="Gaussians per mixture")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("outputs/linking_synthetic"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    result = run(
        args.overrides,
        events=args.events,
        components=args.components,
        fit_events=args.fit_events,
        out=args.out,
        seed=args.seed,
    )
    print(result.pop("table").to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(json.dumps(result, indent=2))
    command = "python -m src.train task=linking model=gnn_linker dataset=ticl_ntuple"
    print(f"train on them: {command} dataset.path={args.out}")


if __name__ == "__main__":
    main()
