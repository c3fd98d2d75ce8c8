"""Shared fixtures: the repository paths, the real sample data, Hydra composition, tiny CLI runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from src import config

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
SHARED_DATA = Path(os.environ.get("HEPRECO_SHARED_DATA", REPO.parent / "shared" / "data"))

#: A tiny simulated dataset: low pileup, a thin phi sector, five events.
TINY_SIM = [
    "dataset.pileup=10",
    "dataset.n_events=5",
    "dataset.phi_sector=[-0.3,0.3]",
    "dataset.split=[3,1,1]",
    "dataset.progress=false",
]

config.register()


@pytest.fixture
def shared_data() -> Path:
    """The real sample events; tests needing them skip with the reason when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample events not found at {SHARED_DATA} (set HEPRECO_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def compose_cfg() -> Iterator:
    """Compose ``conf/<name>.yaml`` with overrides, as the command line would (no run directory)."""

    def _compose(overrides: list[str], name: str = "train") -> DictConfig:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose(config_name=name, overrides=overrides)

    yield _compose


def run_cli(
    module: str, overrides: list[str], tmp_path: Path, *, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run ``python -m <module> <overrides>`` with outputs and cache under ``tmp_path``."""
    env = {
        **os.environ,
        "HEPRECO_CACHE": str(tmp_path / "cache"),
        "HEPRECO_SHARED_DATA": str(SHARED_DATA),
        "MPLBACKEND": "Agg",
    }
    cmd = [sys.executable, "-m", module, *overrides, f"paths.log_dir={tmp_path / 'outputs'}"]
    return subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_dirs(tmp_path: Path) -> list[Path]:
    """Run directories created under ``tmp_path/outputs`` (those holding a .hydra folder)."""
    return sorted(p.parent for p in (tmp_path / "outputs").rglob(".hydra"))
