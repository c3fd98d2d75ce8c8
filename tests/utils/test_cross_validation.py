"""Asserts the folds of a cross-validation by event (every event tested once, never trained or validated on
in its fold), the ``dataset.split`` override of a fold, the summary (mean and sample spread) and that a
setting is chosen on validation scores only."""

from __future__ import annotations

import math

import pytest

from src.utils.cross_validation import (
    best_setting,
    event_folds,
    fold_table,
    markdown_table,
    paired_table,
    split_override,
    summarise,
)


@pytest.mark.parametrize(("n", "k"), [(5, None), (5, 5), (10, 5), (7, 3)])
def test_folds_test_every_event_once_and_keep_parts_apart(n: int, k: int | None) -> None:
    folds = event_folds(n, k)
    assert len(folds) == (k or n)
    tested = sorted(e for f in folds for e in f["test"])
    assert tested == list(range(n))
    for f in folds:
        parts = [set(f["train"]), set(f["val"]), set(f["test"])]
        assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert parts[0] | parts[1] | parts[2] == set(range(n))


def test_leave_one_out_of_five_events() -> None:
    assert event_folds(5)[0] == {"train": [2, 3, 4], "val": [1], "test": [0]}
    assert event_folds(5)[4] == {"train": [1, 2, 3], "val": [0], "test": [4]}
    assert split_override(event_folds(5)[0]) == "dataset.split=[[2,3,4],[1],[0]]"
    with pytest.raises(ValueError, match="folds"):
        event_folds(2)


def test_summary_and_choice_on_validation() -> None:
    rows = [
        {"setting": "a", "val/x": 0.5, "test/x": 0.9},
        {"setting": "a", "val/x": 0.7, "test/x": 0.7},
        {"setting": "b", "val/x": 0.8, "test/x": 0.1},
        {"setting": "b", "val/x": None, "test/x": 0.3},
    ]
    summary = summarise(rows, ["val/x", "test/x"])
    assert [s["setting"] for s in summary] == ["a", "b"]
    assert summary[0]["test/x"] == pytest.approx(0.8)
    assert summary[0]["test/x_std"] == pytest.approx(math.sqrt(0.02))  # sample std of 0.9, 0.7
    assert summary[1]["val/x"] == pytest.approx(0.8) and summary[1]["val/x_std"] == 0.0  # missing skipped
    assert best_setting(summary, "val/x") == "b"  # b wins on validation although a wins on test
    with pytest.raises(ValueError, match="validation"):
        best_setting(summary, "test/x")
    table = markdown_table(summary, ["test/x"])
    assert "| a | 2 | 0.800 ± 0.141 |" in table


def test_fold_table_lists_each_fold_with_its_test_events() -> None:
    rows = [
        {"setting": "a", "fold": 0, "test_events": [0], "test/x": 0.9},
        {"setting": "a", "fold": 1, "test_events": [1], "test/x": None},
    ]
    table = fold_table(rows, ["test/x"])
    assert "| a | 0 | [0] | 0.900 |" in table and "| a | 1 | [1] |  |" in table


def test_paired_table_compares_fold_by_fold() -> None:
    # b is ahead of a on both folds they share; c has one fold, behind; a fold missing a score is skipped
    rows = [
        {"setting": "a", "fold": 0, "test/x": 0.9},
        {"setting": "a", "fold": 1, "test/x": 0.2},
        {"setting": "a", "fold": 2, "test/x": 0.5},
        {"setting": "b", "fold": 0, "test/x": 0.95},
        {"setting": "b", "fold": 1, "test/x": 0.3},
        {"setting": "b", "fold": 2, "test/x": None},  # missing: not compared
        {"setting": "c", "fold": 0, "test/x": 0.8},
    ]
    table = paired_table(rows, ["test/x"], "a")
    lines = table.splitlines()
    assert lines[0] == "| setting | folds | test/x − a |"
    se = math.sqrt(((0.05 - 0.075) ** 2 + (0.1 - 0.075) ** 2) / 1) / math.sqrt(2)
    assert lines[2] == f"| b | 3 | +0.075 ± {se:.3f} (2/2 ahead) |"
    assert lines[3] == "| c | 1 | -0.100 ± 0.000 (0/1 ahead) |"
    assert not any(line.startswith("| a |") for line in lines)
    with pytest.raises(ValueError, match="reference"):
        paired_table(rows, ["test/x"], "zz")
