"""Asserts the Optuna sweeper: search-space parsing, trial outcomes, every hparams_search config, and a
real 3-trial sweep on tiny data where a failing trial does not stop it and a second run resumes the study."""

from __future__ import annotations

import math
import sqlite3
import time

import optuna
import pytest
import yaml
from hydra.core.utils import JobStatus
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from src.sweep import optuna_search as search
from tests.conftest import CONF, run_cli
from tests.utils.test_loggers import wandb_records

SEARCHES = sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml"))


@pytest.mark.parametrize(
    "override,expected",
    [
        ("a=choice(16,32,64)", CategoricalDistribution([16, 32, 64])),
        ("a=choice(full,hept)", CategoricalDistribution(["full", "hept"])),
        ("a=range(2,6)", IntDistribution(2, 5)),
        ("a=range(0,10,4)", IntDistribution(0, 8, step=4)),
        ("a=range(0.0,1.0,0.25)", FloatDistribution(0.0, 0.75, step=0.25)),
        ("a=interval(0.0,3.0)", FloatDistribution(0.0, 3.0)),
        ("a=interval(1,8)", FloatDistribution(1.0, 8.0)),
        ("a=tag(int,interval(1,8))", IntDistribution(1, 8)),
        ("a=tag(int,log,interval(16,256))", IntDistribution(16, 256, log=True)),
        ("a=tag(log,interval(1e-4,1e-2))", FloatDistribution(1e-4, 1e-2, log=True)),
    ],
)
def test_sweep_syntax_becomes_optuna_distribution(override: str, expected) -> None:
    space, fixed = search.parse_search_space([override])
    assert space == {"a": expected} and fixed == {}


def test_fixed_values_and_later_arguments_win() -> None:
    space, fixed = search.parse_search_space(["lr=interval(0.1,1.0)", "epochs=3", "lr=0.5", "x=choice(1,2)"])
    assert fixed == {"epochs": "3", "lr": "0.5"}
    assert list(space) == ["x"]
    assert search.to_overrides({"x": 2, "y": 1e-05, "z": None}, fixed) == [
        "x=2",
        "y=1e-05",
        "z=null",
        "epochs=3",
        "lr=0.5",
    ]


class _Ret:
    """A stand-in for Hydra's JobReturn: ``return_value`` raises the job's exception when it failed."""

    def __init__(self, status: JobStatus, value) -> None:
        self.status, self._value = status, value

    @property
    def return_value(self):
        if self.status is JobStatus.FAILED:
            raise self._value
        return self._value


@pytest.mark.parametrize(
    "status,value,state,reason",
    [
        (JobStatus.COMPLETED, 0.7, "COMPLETE", ""),
        (JobStatus.COMPLETED, math.nan, "FAIL", "diverged"),
        (JobStatus.COMPLETED, math.inf, "FAIL", "diverged"),
        (JobStatus.COMPLETED, None, "FAIL", "no value"),
        (JobStatus.COMPLETED, "abc", "FAIL", "not a number"),
        (JobStatus.FAILED, ValueError("dropout must be in [0, 1)"), "FAIL", "ValueError: dropout"),
    ],
)
def test_trial_outcome(status, value, state: str, reason: str) -> None:
    got_state, got_value, got_reason = search.outcome(_Ret(status, value))
    assert got_state == state and reason in got_reason
    assert (got_value == value) if state == "COMPLETE" else got_value is None


def test_interrupted_trials_are_failed_and_not_counted(tmp_path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = search.open_study(study_name="s", storage=storage, direction="maximize", sampler=None)
    study.tell(study.ask(), 1.0)
    study.ask()  # left RUNNING, as by a killed sweep
    study = search.open_study(study_name="s", storage=storage, direction="maximize", sampler=None)
    assert search.fail_interrupted_trials(study) == 1
    assert [t.state.name for t in study.trials] == ["COMPLETE", "FAIL"]
    assert search.finished_trials(study) == 1


@pytest.mark.parametrize("name", SEARCHES)
def test_hparams_search_configs_name_existing_keys(name: str) -> None:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"hparams_search={name}"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper")
    space, _ = search.parse_search_space([f"{k}={v}" for k, v in sweeper.params.items()])
    assert space, f"hparams_search={name} searches nothing"
    for key in space:  # a typo in the search space would make every trial fail at composition
        assert OmegaConf.select(cfg, key, default="<missing>") != "<missing>", f"{name}: {key} not in config"
    assert cfg.optimized_metric == f"{cfg.task.monitor}_best"


def _trials(db) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT number, state FROM trials ORDER BY number").fetchall()


@pytest.mark.sweep
@pytest.mark.slow
def test_optuna_sweep_survives_a_failing_trial_and_resumes(tmp_path) -> None:
    # the first trial is enqueued with dropout 1.5, outside the search space: MLP raises at construction
    args = [
        "-m",
        "hparams_search=pileup_optuna_tiny",
        "hydra.sweeper.enqueue_trials=[{model.dropout:1.5}]",
        "logger=[csv,wandb]",
    ]
    start = time.time()
    proc = run_cli("src.train", args, tmp_path, timeout=900)
    first = time.time() - start
    assert proc.returncode == 0, proc.stderr[-6000:]
    sweep = tmp_path / "outputs" / "pileup-mlp" / "sweeps" / "pileup_optuna_tiny"
    db = sweep / "optuna.db"
    assert db.is_file()
    assert [s for _, s in _trials(db)] == ["FAIL", "COMPLETE", "COMPLETE"]

    study = optuna.load_study(study_name="pileup_optuna_tiny", storage=f"sqlite:///{db}")
    failed = study.trials[0]
    assert failed.params["model.dropout"] == 1.5
    assert "dropout" in failed.user_attrs["fail_reason"]
    for trial in study.trials[1:]:
        run = sweep / str(trial.number)  # a trial's run directory is named by its trial number
        assert (run / "summary.json").is_file() and (run / "checkpoints" / "best.ckpt").is_file()
        assert 0.0 <= trial.value <= 1.0
        assert 0.0 <= trial.params["model.dropout"] <= 0.2
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["states"] == {"FAIL": 1, "COMPLETE": 2}
    assert results["best_value"] == study.best_value

    # the trials' wandb runs share one group, the study's name, and are distinct runs
    runs = [wandb_records(sweep / str(n)) for n in (1, 2)]
    assert {r["run"].run_group for r in runs} == {"pileup_optuna_tiny"}
    assert len({r["run"].run_id for r in runs}) == 2

    # the same command with a larger budget resumes the study: earlier trials kept, one more run
    start = time.time()
    proc = run_cli("src.train", [*args, "hydra.sweeper.n_trials=4"], tmp_path, timeout=900)
    second = time.time() - start
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert "Using an existing study" in proc.stderr + proc.stdout
    assert [s for _, s in _trials(db)] == ["FAIL", "COMPLETE", "COMPLETE", "COMPLETE"]
    assert (sweep / "3" / "summary.json").is_file()
    print(f"sweep: 3 trials in {first:.0f} s, resumed with 1 more in {second:.0f} s")
