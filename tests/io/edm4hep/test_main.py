"""``python -m src.io.edm4hep FILE`` prints per event the hits, their energy, the hits with truth, the MC
particles and clusters, then a total line; an unreadable file is reported with exit status 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from src.io.edm4hep.__main__ import main
from src.io.edm4hep.writer import write_events
from tests.conftest import REPO
from tests.io.edm4hep.conftest import B_FIELD


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.split() and line.split()[0].isdigit()]


@pytest.mark.requiresdata
def test_quick_look_at_the_clic_file(shared_data: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(shared_data / "edm4hep" / "clic_gamma_barrel_10events.root")]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert [int(r[1]) for r in rows] == [176, 108, 341, 267, 242, 150, 299, 258, 235, 310]
    assert [int(r[4]) for r in rows] == [1] * 8 + [4, 1]
    assert [int(r[5]) for r in rows] == [1] * 8 + [2, 1]
    total = out.splitlines()[-1].split()
    assert total[0] == "total" and total[1:2] + total[3:] == ["2386", "0", "13", "11"]
    assert "edm4hep_2021 layout" in out and "PandoraClusters_EDM4hep" in out


def test_command_line(tmp_path: Path, handmade) -> None:
    events = [handmade(0), handmade(1)]
    path = write_events(tmp_path / "events.root", events, b_field=B_FIELD)
    bad = tmp_path / "bad.root"
    bad.write_text("no")
    result = subprocess.run(
        [sys.executable, "-m", "src.io.edm4hep", str(path), str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    rows = _rows(result.stdout)
    assert [int(r[1]) for r in rows] == [40, 40]
    truth = [int((e["hit_particle"] >= 0).sum()) for e in events]
    assert [int(r[3]) for r in rows] == truth
    assert [int(r[4]) for r in rows] == [6, 6] and [int(r[5]) for r in rows] == [3, 3]
    assert "bad.root: not a ROOT file" in result.stderr
