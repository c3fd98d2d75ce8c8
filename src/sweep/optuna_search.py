"""The Optuna side of our Hydra sweeper: search space from Hydra's sweep syntax, the study, trial outcomes.

The search space is written with Hydra's override grammar, as in ``conf/hparams_search/*.yaml``::

    task.optimizer.lr: tag(log, interval(1e-4, 1e-2))   # float, log-uniform
    task.gamma: interval(0.0, 3.0)                       # float, uniform
    model.hidden_dim: tag(int, log, interval(32, 512))   # int, log-uniform
    model.n_layers: range(2, 6)                          # int 2..5 (Hydra's range excludes the end)
    attention.block_size: choice(50, 100, 200)           # categorical
    trainer.max_epochs: 8                                # fixed, passed to every trial as is

Optuna is driven through its ask-and-tell interface: the sweeper asks for a trial, turns its parameters
into overrides, lets Hydra's launcher run ``src.train`` with them, and tells Optuna the returned metric.
A trial that raised, returned nothing or returned a non-finite value is told as ``FAIL``; the sweep goes
on. Optuna is imported lazily: Hydra imports this plugin at every start.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
)

log = logging.getLogger(__name__)

#: Trial states told to Optuna, by name (optuna.trial.TrialState members).
COMPLETE, FAIL = "COMPLETE", "FAIL"


def parse_search_space(arguments: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Split ``key=value`` overrides into Optuna distributions (sweeps) and fixed overrides.

    Later arguments win over earlier ones for the same key (command line over config file).
    """
    space: dict[str, Any] = {}
    fixed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(list(arguments)):
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            space[key] = to_distribution(override)
        else:
            fixed[key] = override.get_value_element_as_str()
    return space, fixed


def to_distribution(override: Override) -> Any:
    """The Optuna distribution of one sweep override (choice, range or interval)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    value = override.value()
    key = override.get_key_element()
    if isinstance(value, ChoiceSweep) or (isinstance(value, RangeSweep) and value.shuffle):
        choices = list(override.sweep_iterator(transformer=Transformer.encode))
        return CategoricalDistribution(choices)
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step
        if all(isinstance(v, int) for v in (start, stop, step)):
            values = range(start, stop, step)
            return IntDistribution(values[0], values[-1], step=step)
        n = math.floor((stop - start) / step - 1e-9)  # Hydra's range excludes ``stop``
        return FloatDistribution(float(start), float(start + n * step), step=float(step))
    if isinstance(value, IntervalSweep):
        log_scale = "log" in value.tags
        if "int" in value.tags:  # Hydra reads interval bounds as floats; tag(int, ...) asks for integers
            return IntDistribution(round(value.start), round(value.end), log=log_scale)
        return FloatDistribution(float(value.start), float(value.end), log=log_scale)
    raise ValueError(
        f"hydra.sweeper.params.{key}: {override.input_line!r} is not a sweep the Optuna sweeper knows; "
        "use choice(...), range(start, stop[, step]), interval(low, high), tag(log, interval(low, high)) "
        "or tag(int, interval(low, high))"
    )


def suggest(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    """Ask ``trial`` for a value of every parameter of the search space (public suggest API)."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    values = {}
    for name, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            values[name] = trial.suggest_categorical(name, dist.choices)
        elif isinstance(dist, IntDistribution):
            values[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
        else:
            values[name] = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return values


def to_overrides(values: dict[str, Any], fixed: dict[str, str]) -> list[str]:
    """Hydra overrides of one trial: its sampled values, then the fixed overrides."""
    return [f"{k}={_format(v)}" for k, v in values.items()] + [f"{k}={v}" for k, v in fixed.items()]


def _format(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return "null"
    return str(value)


def open_study(*, study_name: str, storage: str | None, direction: str, sampler: Any) -> Any:
    """Create the study, or load it when it exists (resuming a sweep); the SQLite file's folder is made."""
    import optuna

    if storage and storage.startswith("sqlite:///"):
        Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return optuna.create_study(
        study_name=study_name,
        storage=storage,
        sampler=sampler,
        direction=direction,
        load_if_exists=True,
    )


def fail_interrupted_trials(study: Any) -> int:
    """Tell ``FAIL`` for trials left ``RUNNING`` by a sweep that was killed; return how many.

    Assumes one sweep process per study (trials run in parallel through the launcher, not by several
    sweep processes sharing the storage).
    """
    from optuna.trial import TrialState

    stale = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    for number in stale:
        log.warning("Trial %d was left running by an interrupted sweep: marking it failed", number)
        study.tell(number, state=TrialState.FAIL)
    if stale:
        study.set_user_attr("interrupted_trials", [*study.user_attrs.get("interrupted_trials", []), *stale])
    return len(stale)


def finished_trials(study: Any) -> int:
    """Trials that count towards ``n_trials``: complete, failed or pruned, less interrupted ones."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED))
    interrupted = set(study.user_attrs.get("interrupted_trials", []))
    return sum(1 for t in done if t.number not in interrupted)


def enqueue(study: Any, trials: Iterable[dict[str, Any]]) -> None:
    """Queue fixed parameter sets to be tried first (skipped when the study already holds them)."""
    for params in trials:
        study.enqueue_trial(dict(params), skip_if_exists=True)


def outcome(job_return: Any) -> tuple[str, float | None, str]:
    """(state, value, reason) of a finished Hydra job: FAIL if it raised, returned nothing, or NaN/inf."""
    try:
        value = job_return.return_value
    except Exception as err:  # the trial raised; Hydra's launcher kept the exception for us
        return FAIL, None, f"raised {type(err).__name__}: {err}"
    if value is None:
        return FAIL, None, "returned no value (is `optimized_metric` logged by the task?)"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return FAIL, None, f"returned {value!r}, not a number"
    if not math.isfinite(value):
        return FAIL, None, f"returned {value} (diverged)"
    return COMPLETE, value, ""


def summarize(study: Any) -> dict[str, Any]:
    """Counts by state and the best trial, for ``optimization_results.yaml`` in the sweep directory."""
    from collections import Counter

    trials = study.get_trials(deepcopy=False)
    summary: dict[str, Any] = {
        "study_name": study.study_name,
        "direction": study.direction.name.lower(),
        "n_trials": len(trials),
        "states": dict(Counter(t.state.name for t in trials)),
    }
    if any(t.state.name == COMPLETE for t in trials):
        best = study.best_trial
        summary |= {"best_trial": best.number, "best_value": best.value, "best_params": best.params}
    return summary
