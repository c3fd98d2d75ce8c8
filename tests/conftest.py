"""Shared fixtures: the repository paths, the real sample data, Hydra composition, in-process runs on one
session-wide tiny cache, and command-line runs where the command line itself is under test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from src import config

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
SHARED_DATA = Path(os.environ.get("HEPRECO_SHARED_DATA", REPO.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: A tiny simulated dataset: low pileup, a thin phi sector, five events.
TINY_SIM = [
    "dataset.pileup=10",
    "dataset.n_events=5",
    "dataset.phi_sector=[-0.3,0.3]",
    "dataset.split=[3,1,1]",
    "dataset.progress=false",
]
#: Tiny TICL events for trackster linking: two close-by particles in HGCAL, no pileup, six events.
TINY_TICL = [
    "dataset.pileup=0",
    "dataset.n_events=6",
    "dataset.split=[3,1,2]",
    "dataset.progress=false",
]
#: Tiny calorimeter events for hit clustering: six events of two close-by particles of 2-5 GeV.
TINY_CALO = [
    "dataset.n_events=6",
    "dataset.split=[3,2,1]",
    "dataset.batch_size=2",
    "dataset.generator.n_particles=2",
    "dataset.generator.energy=[2.0,5.0]",
    "dataset.progress=false",
]
#: Tiny simulated hit events for track regression: two simulated events in four subsets.
TINY_HITS = [
    "dataset.pileup=5",
    "dataset.n_events=8",
    "dataset.subsets_per_event=2",
    "dataset.particles=[10,20]",
    "dataset.split=[4,2,2]",
    "dataset.progress=false",
]
#: Tiny particle-flow events in the CLIC layout, written by the ``synthetic_pf`` fixture into the cache.
TINY_PF = [
    "dataset=clic_pf",
    "dataset.path=${paths.cache_dir}/synthetic_pf",
    "dataset.split=[4,2,2]",
    "dataset.batch_size=2",
]
#: Tiny particle-flow events of the default dataset (dataset=sim_pf: Pythia tt-bar, calorimeter, tracks,
#: clusters), simulated into the cache on first use.
TINY_PF_SIM = [
    "dataset.n_events=8",
    "dataset.split=[4,2,2]",
    "dataset.batch_size=2",
    "dataset.progress=false",
]

config.register()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that reads the real sample events must carry the ``requiresdata`` marker."""
    unmarked = [
        item.nodeid
        for item in items
        if "shared_data" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("requiresdata") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"tests using shared_data need @pytest.mark.requiresdata: {unmarked}")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real sample events: tests needing them skip when absent, but fail in CI (CI=true)."""
    if not SHARED_DATA.is_dir():
        message = f"real sample events not found at {SHARED_DATA} (set HEPRECO_SHARED_DATA)"
        if IN_CI:
            pytest.fail(f"{message}; CI must run the tests that read them")
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture
def compose_cfg() -> Iterator[Callable[..., DictConfig]]:
    """Compose ``conf/<name>.yaml`` with overrides, as the command line would (no run directory)."""

    def _compose(overrides: list[str], name: str = "train") -> DictConfig:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose(config_name=name, overrides=overrides)

    yield _compose


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One event cache for the whole session: each tiny dataset is built once, then read by every run."""
    return tmp_path_factory.mktemp("cache")


def run_config(overrides: list[str], out: Path, cache: Path, *, name: str = "train") -> DictConfig:
    """The composed config of a run in ``out`` with events cached in ``cache``, ready for ``train(cfg)``
    or ``evaluate(cfg)`` in this process (the Hydra runtime is set as the command line would set it)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=name, overrides=overrides, return_hydra_config=True)
    out.mkdir(parents=True, exist_ok=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(out)
        cfg.hydra.runtime.cwd = str(REPO)
        cfg.hydra.job.num = 0
        cfg.paths.output_dir = str(out)
        cfg.paths.log_dir = str(out.parent)
        cfg.paths.cache_dir = str(cache)
        cfg.paths.shared_data_dir = str(SHARED_DATA)
        cfg.paths.stop_file = str(out / "STOP")
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def cli(module: str, overrides: list[str], tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """Command line and environment of ``python -m <module> <overrides>`` with outputs and cache under
    ``tmp_path`` (importing this checkout's ``src``, whichever checkout the environment has installed)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "HEPRECO_CACHE": str(tmp_path / "cache"),
        "HEPRECO_SHARED_DATA": str(SHARED_DATA),
        "MPLBACKEND": "Agg",
    }
    return [sys.executable, "-m", module, *overrides, f"paths.log_dir={tmp_path / 'outputs'}"], env


def run_cli(
    module: str, overrides: list[str], tmp_path: Path, *, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run ``python -m <module> <overrides>`` with outputs and cache under ``tmp_path``."""
    cmd, env = cli(module, overrides, tmp_path)
    return subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    """A command-line run exited 0; else fail with the ends of its output."""
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"
    )


def run_dirs(tmp_path: Path) -> list[Path]:
    """Run directories created under ``tmp_path/outputs`` (those holding a .hydra folder)."""
    return sorted(p.parent for p in (tmp_path / "outputs").rglob(".hydra"))


@pytest.fixture(scope="session")
def synthetic_pf(session_cache: Path) -> Path:
    """Eight synthetic calorimeter events as PF events in the CLIC layout (``TINY_PF`` reads them)."""
    from src.data.cache import to_tensors
    from src.data.pf import PFView
    from src.io.clic_pf import write_clic_pf
    from src.reco.jets import JetDefinition
    from src.reco.pf_targets import TargetConfig
    from src.reco.rule_based_pf import RuleBasedPF
    from tests.calo_events import synthetic_calo_event

    view = PFView(baseline=RuleBasedPF(), jets=JetDefinition(), targets=TargetConfig())
    path = session_cache / "synthetic_pf" / "events.parquet"
    if not path.exists():
        write_clic_pf(path, [view.pf_event(to_tensors(synthetic_calo_event(i, 40))) for i in range(8)])
    return path.parent


@pytest.fixture(scope="session")
def sim_arrays() -> dict:
    """Hit-level arrays (TrackML units) of one simulated event at pileup 5."""
    from src.data.sim_hits import sim_hit_arrays
    from src.sim.tracker.config import TrackerSimConfig
    from src.sim.tracker.simulate import simulate_event

    cfg = TrackerSimConfig(pileup=5)
    return sim_hit_arrays(simulate_event(cfg, 11), cfg, event_id=0)


@pytest.fixture(scope="session")
def ntuple_events() -> list[dict]:
    """LST ntuple branches of the first three events of TINY_SIM's dataset (pileup 10, φ in ±0.3, seed 1)."""
    from src.data.sources import event_seed, simulate_lst_ntuple_event
    from src.reco.lst import LSTConfig
    from src.sim.tracker.config import TrackerSimConfig

    generator, lst = TrackerSimConfig(pileup=10), LSTConfig(phi_sector=(-0.3, 0.3))
    return [simulate_lst_ntuple_event(generator, lst, event_seed(1, i)) for i in range(3)]


@pytest.fixture(scope="session")
def linking_ntuples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with one ticlDumper file of 12 small TICL events (two close-by particles and pileup in
    a stand-in for the HGCAL simulation), for linking runs that need no simulation."""
    from src.data.ticl import SimulatedTICLSource
    from src.io.ticl_dumper import write_ticl_dumper
    from src.reco.ticl import TICLConfig
    from tests.reco.hgcal_events import SyntheticGun, SyntheticHGCAL, SyntheticMinBias

    root = tmp_path_factory.mktemp("linking")
    source = SimulatedTICLSource(
        SyntheticGun(2),
        SyntheticHGCAL(),
        pileup_generator=SyntheticMinBias(4),
        pileup=3.0,
        sigma_z=50.0,
        sigma_t=0.2,
        reco=TICLConfig(z_sign=1),
        decays=False,
        n_events=12,
        seed=3,
        cache_dir=root / "cache",
    )
    source.prepare(progress=False)
    events = [{k: v.numpy() for k, v in source.load(i).items()} for i in range(12)]
    write_ticl_dumper(root / "nt" / "events.root", events)
    return root / "nt"
