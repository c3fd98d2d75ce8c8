"""Hydra sweeper plugin ``hydra/sweeper=hepreco_optuna``: an Optuna study over Hydra multirun jobs.

Why our own and not ``hydra-optuna-sweeper``: its releases pin ``optuna<3`` (2.10), whose SQLite storage
fails with SQLAlchemy 2 / current alembic, and pinning ``sqlalchemy<2`` breaks alembic. This plugin uses
only Optuna's stable ask-and-tell API (any Optuna >= 3.0) and Hydra's launcher interface, so trials run
with whichever launcher is configured (basic, or hydra-submitit-launcher on Slurm).

Hydra finds sweepers in the ``hydra_plugins`` namespace package; the logic lives in
:mod:`src.sweep.optuna_search`. Configure it in an ``hparams_search`` config::

    defaults:
      - override /hydra/sweeper: hepreco_optuna
    hydra:
      sweeper:
        study_name: pileup-hept
        n_trials: 30
        params:
          task.optimizer.lr: tag(log, interval(1e-4, 1e-2))
"""

# No ``from __future__ import annotations`` here: Hydra's plugin scanner executes this module before it
# is in sys.modules, and dataclasses cannot resolve string annotations then.
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from src.sweep import optuna_search as search

log = logging.getLogger(__name__)


@dataclass
class OptunaSweeperConf:
    """``hydra.sweeper`` of ``hydra/sweeper=hepreco_optuna``."""

    _target_: str = "hydra_plugins.hepreco_sweeper.optuna_sweeper.OptunaSweeper"
    #: maximize or minimize the value returned by the task function
    direction: str = "maximize"
    #: the study's name in the storage; with a fixed name and storage, re-running resumes the study
    study_name: str = "hepreco"
    #: Optuna storage URL (SQLite file under the sweep directory); null keeps the study in memory
    storage: Any = "sqlite:///${hydra.sweep.dir}/optuna.db"
    #: trials the study should hold when the sweep ends (finished ones from earlier runs count)
    n_trials: int = 20
    #: trials launched together (run in parallel by a parallel launcher such as submitit)
    n_jobs: int = 1
    #: an Optuna sampler (instantiated by Hydra)
    sampler: Any = field(default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": None})
    #: search space: override key -> Hydra sweep (choice/range/interval/tag(log, ...)) or fixed value
    params: dict[str, Any] = field(default_factory=dict)
    #: parameter sets tried first, e.g. a known-good recipe: [{task.optimizer.lr: 2e-3}]
    enqueue_trials: list[Any] = field(default_factory=list)


ConfigStore.instance().store(
    group="hydra/sweeper", name="hepreco_optuna", node=OptunaSweeperConf, provider="hepreco"
)


class OptunaSweeper(Sweeper):
    """Ask Optuna for trials, launch them as Hydra jobs, tell Optuna their results."""

    def __init__(
        self,
        *,
        direction: str,
        study_name: str,
        storage: str | None,
        n_trials: int,
        n_jobs: int,
        sampler: Any,
        params: DictConfig | dict | None,
        enqueue_trials: Sequence[Any],
    ) -> None:
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"hydra.sweeper.direction must be maximize or minimize, got {direction!r}")
        if n_jobs < 1:
            raise ValueError(f"hydra.sweeper.n_jobs must be at least 1, got {n_jobs}")
        self.direction = direction
        self.study_name = study_name
        self.storage = storage
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.sampler = sampler
        self.params = {str(k): v for k, v in (params or {}).items()}
        self.enqueue_trials = [
            OmegaConf.to_container(t) if isinstance(t, DictConfig) else dict(t) for t in enqueue_trials
        ]
        self.config: DictConfig | None = None
        self.launcher: Any = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list[Any]:
        assert self.config is not None and self.launcher is not None
        space, fixed = search.parse_search_space([f"{k}={v}" for k, v in self.params.items()] + arguments)
        if not space:
            raise ValueError(
                "The Optuna sweeper has nothing to search: give hydra.sweeper.params sweeps such as "
                "'task.optimizer.lr: tag(log, interval(1e-4, 1e-2))' (see conf/hparams_search/)"
            )
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        study = search.open_study(
            study_name=self.study_name, storage=self.storage, direction=self.direction, sampler=self.sampler
        )
        search.fail_interrupted_trials(study)
        search.enqueue(study, self.enqueue_trials)
        done = search.finished_trials(study)
        log.info(
            "Study %r (%s, %s): %d of %d trial(s) done; searching %s",
            self.study_name,
            self.direction,
            self.storage or "in memory",
            done,
            self.n_trials,
            ", ".join(space),
        )
        results = []
        while done < self.n_trials:
            trials = [study.ask() for _ in range(min(self.n_jobs, self.n_trials - done))]
            overrides = [search.to_overrides(search.suggest(t, space), fixed) for t in trials]
            try:
                returns = self._launch(overrides, [t.number for t in trials])
            except Exception as err:  # e.g. a sampled override that does not compose: stop, but record it
                for trial in trials:
                    trial.set_user_attr("fail_reason", f"launch failed: {type(err).__name__}: {err}")
                    study.tell(trial, state=_state(search.FAIL))
                raise
            for trial, ret in zip(trials, returns, strict=True):
                state, value, reason = search.outcome(ret)
                if ret.working_dir:
                    trial.set_user_attr("run_dir", str(ret.working_dir))
                if state == search.FAIL:
                    trial.set_user_attr("fail_reason", reason)
                    log.warning("Trial %d failed: %s", trial.number, reason)
                    study.tell(trial, state=_state(state))
                else:
                    log.info("Trial %d: %s", trial.number, value)
                    study.tell(trial, value)
            results.append(returns)
            done += len(trials)

        summary = search.summarize(study)
        OmegaConf.save(OmegaConf.create(summary), sweep_dir / "optimization_results.yaml")
        log.info("Study %r: %s", self.study_name, summary)
        if summary["n_trials"] and "best_trial" not in summary:
            raise RuntimeError(
                f"Every trial of study {self.study_name!r} failed; see the fail_reason of each trial in "
                f"{self.storage} or the logs under {sweep_dir}"
            )
        return results

    def _launch(self, overrides: list[list[str]], numbers: list[int]) -> list[Any]:
        """Run the jobs with Hydra job numbers equal to the trial numbers (the run subdirectories)."""
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
            return list(self.launcher.launch(overrides, initial_job_idx=numbers[0]))
        returns = []
        for job_overrides, number in zip(overrides, numbers, strict=True):
            returns.extend(self.launcher.launch([job_overrides], initial_job_idx=number))
        return returns


def _state(name: str) -> Any:
    from optuna.trial import TrialState

    return TrialState[name]
