"""Value checks of the typed configs: every shipped config passes; a value outside its field's range fails
when the config is validated (before anything is built), naming the key and the value."""

from __future__ import annotations

import pytest

from src.config.checks import ConfigValueError, validate
from tests.config.test_compose import ATTENTIONS, DATASETS, EXPERIMENTS, MODELS
from tests.conftest import CONF

TASKS = sorted(p.stem for p in (CONF / "task").glob("*.yaml"))
CHOICES = [
    *(f"dataset={d}" for d in DATASETS),
    *(f"task={t}" for t in TASKS),
    *(f"model={m}" for m in MODELS),
    *(f"attention={a}" for a in ATTENTIONS),
    *(f"experiment={e}" for e in EXPERIMENTS),
]


@pytest.mark.parametrize("choice", CHOICES)
def test_shipped_configs_pass(compose_cfg, choice: str) -> None:
    validate(compose_cfg([choice]))


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["dataset.pileup=-5"], "dataset.pileup=-5.0: must be a number >= 0"),
        (["dataset.n_events=0"], "dataset.n_events=0"),
        (["dataset.split=[0.5,0.6,-0.1]"], "dataset.split=[0.5, 0.6, -0.1]: must be three non-negative"),
        (
            ["dataset.split=[0.5,0.6,0.2]"],
            "dataset.split=[0.5, 0.6, 0.2]: fractions must be in [0, 1] and sum",
        ),
        (["dataset.split=[20,5,5]"], "dataset.split=[20, 5, 5]: asks for 30 events but dataset.n_events=24"),
        (["dataset.split=[1,2]"], "dataset.split=[1, 2]"),
        (["dataset.split=[[0,1],[1],[2]]"], "dataset.split=[[0, 1], [1], [2]]: event lists"),
        (["dataset.batch_size=0"], "dataset.batch_size=0"),
        (["dataset.on_bad_event=ignore"], "dataset.on_bad_event=ignore: must be one of ['fail', 'skip']"),
        (["dataset.phi_sector=[0.5,0.1]"], "dataset.phi_sector=[0.5, 0.1]"),
        (["dataset=hept_cms_raw", "dataset.max_event_size=0"], "dataset.max_event_size=0"),
        (["dataset=trackml", "dataset.particles=[50,10]"], "dataset.particles=[50, 10]"),
        (["task.warmup_fraction=1.5"], "task.warmup_fraction=1.5: must be a fraction in [0, 1]"),
        (["task.recalls=[0.9,1.2]"], "task.recalls=[0.9, 1.2]"),
        (["model=mlp", "model.dropout=2"], "model.dropout=2"),
        (["attention.block_size=0"], "attention.block_size=0"),
    ],
)
def test_bad_values_fail_naming_the_key(compose_cfg, overrides: list[str], key: str) -> None:
    with pytest.raises(ConfigValueError) as err:
        validate(compose_cfg(overrides))
    assert key in str(err.value)


def test_every_problem_is_reported_at_once(compose_cfg) -> None:
    with pytest.raises(ConfigValueError) as err:
        validate(compose_cfg(["dataset.pileup=-1", "dataset.seed=-3", "task.gamma=-2"]))
    for key in ("dataset.pileup", "dataset.seed", "task.gamma"):
        assert key in str(err.value)


def test_event_lists_of_a_cross_validation_fold_pass(compose_cfg) -> None:
    validate(compose_cfg(["dataset.split=[[0,1,4],[3],[2]]"]))
