"""Write a results page of docs/results/ from run directories, so no figure is ever typed by hand.

A page is described by ``docs/results/<page>.yaml``: a title, a few lines of context, and sections, each a
table whose rows are runs (an entry point and its overrides, or an evaluation of another row's checkpoint)
and whose columns are metrics of their ``summary.json``. This script runs the rows that have no run
directory yet (``--run``; each in ``outputs/results/<page>/<row>/``) and writes ``docs/results/<page>.md``
with every figure next to its command, commit, date, machine and wall time, read from the run's
``summary.json``:

    python scripts/results.py docs/results/tracker.yaml --run      # run what is missing, write the page
    python scripts/results.py docs/results/tracker.yaml            # rewrite the page from existing runs
    python scripts/results.py docs/results/tracker.yaml --run --rerun pileup-hept   # redo one row

Rows of a section (YAML)::

    - id: pileup-hept                      # run directory name and reference for other rows
      label: hept                          # first column
      command: src.train task=pileup model=hept
    - id: mini1
      label: hept on the real event mini1
      command: src.evaluate dataset=trackml dataset.path=${shared}/trackml/mini1 dataset.split=all
      checkpoint: pileup-hept              # adds ckpt_path=<that row's best.ckpt>

``${shared}`` is replaced by the real sample events' directory (``HEPRECO_SHARED_DATA`` or
``../shared/data``). Environment variables of a page (``env:``, e.g. ``OMP_NUM_THREADS: 1``) apply to
every run and are shown on the page.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The real sample events' directory."""
    return Path(os.environ.get("HEPRECO_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()


def run_dir(page: str, row: dict[str, Any]) -> Path:
    """Where a row's run lives."""
    return REPO / "outputs" / "results" / page / row["id"]


def row_command(page: str, row: dict[str, Any], *, shown: bool = False) -> list[str]:
    """The full command line of a row (entry point, its overrides, the run directory); ``shown``: as the
    page prints it (``python``, the shared data as ``../shared/data``, paths relative to the repository,
    no run directory)."""
    shared = "../shared/data" if shown else str(shared_dir())
    words = shlex.split(row["command"].replace("${shared}", shared))
    module, overrides = words[0], words[1:]
    if "checkpoint" in row:
        ckpt = run_dir(page, {"id": row["checkpoint"]}) / "checkpoints" / "best.ckpt"
        overrides.append(f"ckpt_path={ckpt.relative_to(REPO) if shown else ckpt}")
    if shown:
        return ["python", "-m", module, *overrides]
    return [sys.executable, "-m", module, *overrides, f"hydra.run.dir={run_dir(page, row)}"]


def execute(page: str, row: dict[str, Any], env: dict[str, str]) -> None:
    """Run one row (its log goes to ``<run dir>.log``); a failure stops the page with the log's tail."""
    out = run_dir(page, row)
    out.parent.mkdir(parents=True, exist_ok=True)
    log = out.with_suffix(".log")
    cmd = row_command(page, row)
    print(f"[{row['id']}] {shlex.join(cmd[1:])}", flush=True)
    with log.open("w") as fh:
        proc = subprocess.run(
            cmd, cwd=REPO, env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT, check=False
        )
    if proc.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        raise SystemExit(f"[{row['id']}] failed (exit {proc.returncode}); {log}:\n{tail}")


def fmt(value: Any) -> str:
    """A metric as a table cell."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def machine(summary: dict[str, Any]) -> str:
    """One short description of the machine of a run."""
    m = summary.get("machine") or {}
    parts = [m.get("gpu") or m.get("cpu", "?"), f"{m.get('cpus', '?')} CPUs"]
    parts.append(f"torch threads {m.get('torch_threads', '?')}")
    if m.get("load_average"):
        parts.append(f"load average {m['load_average'][0]} at the end (a shared machine slows wall times)")
    return ", ".join(str(p) for p in parts)


def section_table(page: str, section: dict[str, Any], footnotes: list[str]) -> list[str]:
    """Markdown lines of one section's table; each row's provenance becomes a numbered footnote."""
    metrics = section["metrics"]
    lines = [f"## {section['title']}", ""]
    if section.get("text"):
        lines += [section["text"].strip(), ""]
    lines.append("| | " + " | ".join(f"`{m}`" for m in metrics) + " | wall s | run |")
    lines.append("|---" * (len(metrics) + 3) + "|")
    for row in section["rows"]:
        path = run_dir(page, row) / "summary.json"
        if not path.is_file():
            lines.append(f"| {row['label']} | " + " | ".join("not run" for _ in metrics) + " | | |")
            continue
        summary = json.loads(path.read_text())
        command = shlex.join(row_command(page, row, shown=True))
        commit = str(summary.get("git_commit"))[:12]
        footnotes.append(
            f"`{command}` — commit `{commit}`, {summary.get('finished_at', '?')}, {machine(summary)}"
        )
        cells = [fmt(summary.get(m)) for m in metrics]
        lines.append(
            f"| {row['label']} | "
            + " | ".join(cells)
            + f" | {fmt(summary.get('wall_time_s'))} | [{len(footnotes)}] |"
        )
    return [*lines, ""]


def write_page(spec_path: Path, spec: dict[str, Any]) -> Path:
    """Write ``<page>.md`` next to its spec."""
    page = spec_path.stem
    footnotes: list[str] = []
    lines = [
        f"# {spec['title']}",
        "",
        f"*Generated by `python scripts/results.py {spec_path.relative_to(REPO)}` from the runs'"
        " `summary.json`; do not edit by hand.*",
        "",
    ]
    if spec.get("text"):
        lines += [spec["text"].strip(), ""]
    if spec.get("env"):
        lines += ["Every run with " + ", ".join(f"`{k}={v}`" for k, v in spec["env"].items()) + ".", ""]
    for section in spec["sections"]:
        lines += section_table(page, section, footnotes)
    lines += ["## Runs", ""] + [f"{i}. {note}" for i, note in enumerate(footnotes, 1)] + [""]
    out = spec_path.with_suffix(".md")
    out.write_text("\n".join(lines))
    return out


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("spec", type=Path, help="docs/results/<page>.yaml")
    parser.add_argument("--run", action="store_true", help="run the rows that have no summary.json yet")
    parser.add_argument("--rerun", nargs="*", default=[], metavar="ID", help="rows to run again")
    args = parser.parse_args()
    spec_path = args.spec.resolve()
    spec = yaml.safe_load(spec_path.read_text())
    env = {k: str(v) for k, v in (spec.get("env") or {}).items()}
    rows = [row for section in spec["sections"] for row in section["rows"]]
    ids = [row["id"] for row in rows]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{spec_path}: row ids must be unique, got {ids}")
    unknown = set(args.rerun) - set(ids)
    if unknown:
        raise SystemExit(f"--rerun: unknown rows {sorted(unknown)}; the page has {ids}")
    if args.run or args.rerun:
        for row in rows:  # rows run in page order, so a checkpoint row precedes its evaluations
            done = (run_dir(spec_path.stem, row) / "summary.json").is_file()
            if row["id"] in args.rerun:
                shutil.rmtree(run_dir(spec_path.stem, row), ignore_errors=True)  # no resuming of a rerun
                execute(spec_path.stem, row, env)
            elif args.run and not done:
                execute(spec_path.stem, row, env)
    print(f"wrote {write_page(spec_path, spec)}")


if __name__ == "__main__":
    main()
