"""Cross-validate settings by event: every fold is an ordinary ``train(cfg)`` run; writes a table.

    python scripts/cross_validate.py --name pu100 --events 5 \\
        --base task=pileup dataset=hept_cms_raw dataset.path=../shared/data/hept-cms-lst/pu100 \\
        --setting gbdt "model=gbdt" --setting mlp "model=mlp" --setting hept "experiment=hept_cms_real"

Fold i of leave-one-event-out (the default; ``--folds k`` for k blocks) tests on event i, validates on event
i+1 and trains on the others. Run directories go to ``<out>/<name>/<setting>/fold<i>/``; a fold whose
``summary.json`` exists is not run again, so a grid can be extended or resumed. Written next to them:
``folds.csv`` (one row per setting and fold) and ``table.md`` (mean ± sample std over the folds), and the
setting with the best mean validation score (``--criterion``) is printed: choose on validation, report test.
``--reference gbdt`` adds each setting's test scores minus those of ``gbdt`` fold by fold (the same test
event): mean difference ± its standard error, and in how many folds it is ahead.

``--fold i`` runs only fold i of every setting and tables the folds done so far, so the folds can run in
parallel, e.g. as a Slurm job array on GPU nodes, then one last call without it (or with ``--dry-run``)
tables them all:

    sbatch --array=0-4 --gpus-per-node=1 --wrap "python scripts/cross_validate.py --name pu100 --events 5 \
        --fold \\$SLURM_ARRAY_TASK_ID --base hardware=a40 task=pileup dataset=hept_cms_raw \
        dataset.path=../shared/data/hept-cms-lst/pu100 --setting hept experiment=hept_cms_real"
"""

from __future__ import annotations

import argparse
import csv
import logging
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from src.utils.cross_validation import (
    best_setting,
    compose_run,
    event_folds,
    fold_table,
    markdown_table,
    paired_table,
    read_summary,
    split_override,
    summarise,
)
from src.utils.run import git_commit

METRICS = [
    "val/precision@recall0.99_best",
    "test/auprc",
    "test/precision@recall0.99",
    "test/precision@recall0.999",
]


def page(args: argparse.Namespace, argv: list[str] | None, table: str, folds: str, paired: str) -> str:
    """The written table: the command that reproduces it, the commit and date, then the tables."""
    words = sys.argv[1:] if argv is None else argv
    dry = " (`--dry-run`: settings whose folds are missing show fewer folds)" if args.dry_run else ""
    return (
        f"*Written by `python scripts/cross_validate.py {shlex.join(words)}` at commit "
        f"`{git_commit()[:12]}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{dry}. Leave-one-event-out unless "
        "`--folds`; mean ± sample standard deviation over the folds; settings are compared on the "
        f"validation column ({args.criterion}), the test columns are the figures to report.*\n\n"
        f"{table}\n{paired}Per fold:\n\n{folds}"
    )


def write_tables(args: argparse.Namespace, argv: list[str] | None, root: Path, rows: list[dict]) -> None:
    """``folds.csv`` and ``table.md`` under ``root`` (and ``--table``), printed with the chosen setting."""
    columns = ["setting", "fold", "test_events", *args.metrics]
    root.mkdir(parents=True, exist_ok=True)
    with (root / "folds.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    summary = summarise(rows, args.metrics)
    table = markdown_table(summary, args.metrics)
    paired = ""
    if args.reference:
        tests = [m for m in args.metrics if m.startswith("test/")]
        paired = f"Against {args.reference}, fold by fold (the same test event):\n\n"
        paired += paired_table(rows, tests, args.reference) + "\n"
    (root / "table.md").write_text(table + "\n" + paired)
    if args.table:
        args.table.parent.mkdir(parents=True, exist_ok=True)
        args.table.write_text(page(args, argv, table, fold_table(rows, args.metrics), paired))
    print(table)
    if paired:
        print(paired)
    print(f"best setting on {args.criterion}: {best_setting(summary, args.criterion)}")


def main(argv: list[str] | None = None) -> int:
    """Run the missing folds of every setting, then write and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--name", required=True, help="name of this cross-validation (output folder)")
    parser.add_argument("--events", type=int, required=True, help="number of events of the dataset")
    parser.add_argument("--folds", type=int, default=None, help="k blocks of events (default: one per event)")
    parser.add_argument("--base", nargs="*", default=[], help="overrides shared by every setting")
    parser.add_argument(
        "--setting", nargs=2, action="append", metavar=("NAME", "OVERRIDES"), required=True,
        help="a setting: its name and its overrides (one string, space separated)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("outputs/cv"), help="root of the run directories")
    parser.add_argument("--metrics", nargs="*", default=METRICS, help="columns of the table")
    parser.add_argument("--criterion", default=METRICS[0], help="validation metric that picks the setting")
    parser.add_argument("--table", type=Path, default=None, help="also write the table here")
    parser.add_argument(
        "--reference",
        default=None,
        help="also compare every setting with this one, fold by fold (test metrics)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the runs without running them")
    parser.add_argument("--fold", type=int, default=None, help="run only this fold (the others: if done)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")

    from src.train import train  # after logging is set up

    root = args.out / args.name
    rows = []
    folds = event_folds(args.events, args.folds)
    if args.fold is not None and not 0 <= args.fold < len(folds):
        parser.error(f"--fold {args.fold}: there are {len(folds)} folds (0 to {len(folds) - 1})")
    for name, overrides in args.setting:
        for i, fold in enumerate(folds):
            run_dir = root / name / f"fold{i}"
            run = [*args.base, *overrides.split(), split_override(fold)]
            summary = read_summary(run_dir)
            if summary is None:
                if args.fold is not None and i != args.fold:
                    continue
                print(f"[{name} fold {i}] {' '.join(run)}", flush=True)
                if args.dry_run:
                    continue
                metrics, _ = train(compose_run(run, run_dir))
                summary = {**read_summary(run_dir), **metrics}
            rows.append({"setting": name, "fold": i, "test_events": fold["test"], **summary})
    if not rows:
        return 0
    write_tables(args, argv, root, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
