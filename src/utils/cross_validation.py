"""Cross-validation by event: folds, in-process runs through ``train(cfg)``, and the summary table.

Each fold is an ordinary training run whose ``dataset.split`` lists its events
(``[[train...], [val...], [test...]]``): the test event(s) of a fold are never seen by its training,
its model selection (best checkpoint on the validation event) or the choice between settings, which is
made on the mean *validation* score over the folds. The test scores of the folds are what is reported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from src import config
from src.utils.jobs import register_resolvers

CONF = Path(__file__).resolve().parents[2] / "conf"


def event_folds(n_events: int, k: int | None = None) -> list[dict[str, list[int]]]:
    """``k`` folds over events ``0..n_events-1`` (``None``: leave one event out).

    The events are cut into ``k`` contiguous blocks; fold ``i`` tests on block ``i``, validates on block
    ``i + 1`` (cyclically) and trains on the others, so every event is tested exactly once.
    """
    k = n_events if k is None else int(k)
    if not 3 <= k <= n_events:
        raise ValueError(
            f"need 3 <= folds <= events (train, val and test blocks), got {k} folds of {n_events}"
        )
    blocks = [list(map(int, b)) for b in np.array_split(np.arange(n_events), k)]
    folds = []
    for i in range(k):
        val = (i + 1) % k
        train = [e for j, b in enumerate(blocks) if j not in (i, val) for e in b]
        folds.append({"train": train, "val": blocks[val], "test": blocks[i]})
    return folds


def split_override(fold: Mapping[str, Sequence[int]]) -> str:
    """The ``dataset.split=...`` override of a fold."""
    parts = ",".join(f"[{','.join(map(str, fold[name]))}]" for name in ("train", "val", "test"))
    return f"dataset.split=[{parts}]"


def compose_run(overrides: Sequence[str], out: Path, *, config_name: str = "train") -> DictConfig:
    """The config of a run in directory ``out``, composed as the command line would compose it, with the
    Hydra runtime set so that ``train(cfg)`` can run in this process."""
    register_resolvers()
    config.register()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=list(overrides), return_hydra_config=True)
    out.mkdir(parents=True, exist_ok=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(out)
        cfg.hydra.runtime.cwd = str(Path.cwd())
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
        del cfg["hydra"]
    return cfg


def read_summary(run_dir: Path) -> dict[str, Any] | None:
    """A finished run's ``summary.json`` (None when the run has not finished)."""
    path = run_dir / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _mean_std(values: Iterable[float | None]) -> tuple[float, float]:
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not vals:
        return float("nan"), float("nan")
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0


def summarise(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """Mean and sample standard deviation over the folds of each setting (rows: one per setting and fold,
    with ``setting`` and the metrics), in the order the settings first appear."""
    out = []
    for setting in dict.fromkeys(r["setting"] for r in rows):
        mine = [r for r in rows if r["setting"] == setting]
        entry: dict[str, Any] = {"setting": setting, "folds": len(mine)}
        for metric in metrics:
            entry[metric], entry[f"{metric}_std"] = _mean_std(r.get(metric) for r in mine)
        out.append(entry)
    return out


def best_setting(summary: Sequence[Mapping[str, Any]], criterion: str) -> str:
    """The setting with the highest mean ``criterion`` (a validation metric: never a test one)."""
    if criterion.startswith("test/"):
        raise ValueError(f"settings are chosen on validation scores, not on {criterion}")
    scored = [s for s in summary if not math.isnan(s[criterion])]
    if not scored:
        raise ValueError(f"no setting has a {criterion} score")
    return max(scored, key=lambda s: s[criterion])["setting"]


def markdown_table(summary: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> str:
    """Markdown table: one row per setting, each metric as mean ± std over the folds."""
    head = ["setting", "folds", *metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summary:
        cells = [str(s["setting"]), str(s["folds"])]
        cells += [f"{s[m]:.3f} ± {s[m + '_std']:.3f}" for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def fold_table(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> str:
    """Markdown table: one row per setting and fold (its test events), each metric of that fold."""
    head = ["setting", "fold", "test events", *metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["setting"]), str(r["fold"]), str(r["test_events"])]
        cells += ["" if r.get(m) is None else f"{r[m]:.3f}" for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def paired_table(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str], reference: str) -> str:
    """Markdown table: each setting against ``reference`` fold by fold (the same test events), per metric the
    mean difference ± its standard error over the folds both have, and in how many folds it is ahead."""
    by_setting: dict[str, dict[int, Mapping[str, Any]]] = {}
    for r in rows:
        by_setting.setdefault(str(r["setting"]), {})[int(r["fold"])] = r
    if reference not in by_setting:
        raise ValueError(f"reference setting {reference!r} has no folds (settings: {sorted(by_setting)})")
    ref = by_setting[reference]
    head = ["setting", "folds", *(f"{m} − {reference}" for m in metrics)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for setting, folds in by_setting.items():
        if setting == reference:
            continue
        common = sorted(set(folds) & set(ref))
        cells = [setting, str(len(common))]
        for m in metrics:
            pairs = [(folds[i].get(m), ref[i].get(m)) for i in common]
            d = [float(a) - float(b) for a, b in pairs if a is not None and b is not None]
            d = [v for v in d if not math.isnan(v)]
            mean, std = _mean_std(d)
            ahead = sum(v > 0 for v in d)
            cells.append(f"{mean:+.3f} ± {std / math.sqrt(len(d)):.3f} ({ahead}/{len(d)} ahead)" if d else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
