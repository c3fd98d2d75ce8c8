"""The cross-validation script's ``--fold``: one call runs one fold of every setting (a Slurm array task),
a later call tables the folds found, and a fold that does not exist is refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import REPO


def _main():
    spec = importlib.util.spec_from_file_location("cross_validate", REPO / "scripts" / "cross_validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _args(out: Path, shared: Path, *extra: str) -> list[str]:
    return [
        "--name", "pu50", "--events", "5", "--out", str(out), *extra,
        "--base", "task=pileup", "dataset=hept_cms_raw", f"dataset.path={shared / 'hept-cms-lst' / 'pu50'}",
        "dataset.progress=false", "--setting", "gbdt", "model=gbdt model.max_iter=5",
    ]  # fmt: skip


@pytest.mark.requiresdata
def test_one_fold_then_the_table(tmp_path: Path, shared_data: Path) -> None:
    main = _main()
    assert main(_args(tmp_path, shared_data, "--fold", "3")) == 0
    assert [p.name for p in (tmp_path / "pu50" / "gbdt").iterdir()] == ["fold3"]
    assert main(_args(tmp_path, shared_data, "--dry-run")) == 0  # tables what is there, runs nothing
    rows = (tmp_path / "pu50" / "folds.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("gbdt,3,[3]")
    with pytest.raises(SystemExit):
        main(_args(tmp_path, shared_data, "--fold", "5"))
