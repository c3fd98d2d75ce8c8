"""Stability of a trained trackster linker under PCA perturbations, optionally next to a second checkpoint.

Each test event of the checkpoint's own dataset (same split; ``--set`` changes the config) is perturbed
``--samples`` times (every trackster's barycentre shifted along its principal axes by Gaussian draws of its
sigmaPCA, features recomputed on the same candidate edges) and scored again; an edge flips when its
decision at the checkpoint's threshold (the validation's F1-maximising one) changes. Writes
``stability.json`` (flip rates by count and energy, for true and false edges, and with two checkpoints the
fraction of edges on which they disagree), ``stability_edges.csv`` and ``plots/stability_heatmap.png``.

    python scripts/linking_stability.py <best.ckpt> [--compare <other.ckpt>] --events 20 --samples 50
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from src.compose import build_datamodule
from src.evaluate import load_checkpoint
from src.evaluation.stability import StabilityMap, edge_flips, plot_heatmaps
from src.tasks.linking import LinkingTask

log = logging.getLogger("linking_stability")


def scorer(task: LinkingTask):
    """The task's edge probabilities of one event, as numpy."""

    def score(
        x: torch.Tensor, coords: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor
    ) -> np.ndarray:
        with torch.no_grad():
            batch = torch.zeros(len(x), dtype=torch.long)
            return torch.sigmoid(task.score_edges(x, coords, batch, edge_index, edge_attr)[1]).numpy()

    return score


def run(
    checkpoints: list[Path],
    *,
    events: int,
    samples: int,
    split: str,
    overrides: list[str],
    out: Path,
    seed: int,
) -> dict:
    """Flip statistics of each checkpoint on the first ``events`` events of ``split``; writes the outputs."""
    tasks = []
    for path in checkpoints:
        task, meta = load_checkpoint(path)
        if not isinstance(task, LinkingTask):
            raise SystemExit(f"{path}: not a linking checkpoint (task=linking)")
        tasks.append((path, task.eval(), meta))
    cfg = OmegaConf.merge(OmegaConf.create(tasks[0][2]["config"]), OmegaConf.from_dotlist(overrides))
    datamodule = build_datamodule(cfg, tasks[0][1].view)
    datamodule.prepare_data()
    datamodule.setup("test")
    dataset = datamodule.datasets[split]
    if not len(dataset):
        raise SystemExit(f"no {split} events in the checkpoint's dataset split {list(cfg.dataset.split)}")
    maps, decisions, rows = [], [], []
    for k, (path, task, _) in enumerate(tasks):
        name = f"{k}:{path.resolve().parents[1].name}/{path.stem}"
        generator = torch.Generator().manual_seed(seed)  # the same draws for every checkpoint
        stability = StabilityMap(name)
        per_model = []
        for i in range(min(events, len(dataset))):
            data = dataset[i]
            decision, rate = edge_flips(
                scorer(task),
                data,
                threshold=float(task.edge_threshold),
                n_samples=samples,
                generator=generator,
            )
            stability.add(data, decision, rate)
            per_model.append(decision)
            rows.append(
                pd.DataFrame(
                    {"model": name, "event": int(data.event_index), "decision": decision, "flip_rate": rate}
                )
            )
        maps.append(stability)
        decisions.append(np.concatenate(per_model) if per_model else np.zeros(0, bool))
    result = {m.name: m.summary() for m in maps}
    if len(decisions) == 2:
        result["disagreement"] = (
            float((decisions[0] != decisions[1]).mean()) if len(decisions[0]) else float("nan")
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "stability.json").write_text(json.dumps(result, indent=2))
    pd.concat(rows).to_csv(out / "stability_edges.csv", index=False)
    plot_heatmaps(maps, out / "plots" / "stability_heatmap.png")
    return result


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("ckpt", type=Path, help="checkpoint written by src.train (task=linking)")
    parser.add_argument("--compare", type=Path, default=None, help="a second checkpoint on the same events")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--samples", type=int, default=50, help="perturbed copies per event")
    parser.add_argument("--split", choices=["val", "test"], default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], help="config overrides (e.g. dataset.n_events=200)")
    parser.add_argument("--out", type=Path, default=None, help="directory (default: the run's stability/)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")
    out = args.out or args.ckpt.resolve().parents[1] / "stability"
    checkpoints = [args.ckpt] + ([args.compare] if args.compare else [])
    result = run(
        checkpoints,
        events=args.events,
        samples=args.samples,
        split=args.split,
        overrides=args.set,
        out=out,
        seed=args.seed,
    )
    print(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
