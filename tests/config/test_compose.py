"""Every config composes into instantiable components; wrong overrides fail at composition, naming the key."""

from __future__ import annotations

import pytest
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from tests.conftest import CONF

MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
ATTENTIONS = sorted(p.stem for p in (CONF / "attention").glob("*.yaml"))
DATASETS = sorted(p.stem for p in (CONF / "dataset").glob("*.yaml"))
HARDWARE = sorted(p.stem for p in (CONF / "hardware").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("attention", ATTENTIONS)
def test_task_model_attention_compose(compose_cfg, model: str, attention: str) -> None:
    cfg = compose_cfg(["task=pileup", f"model={model}", f"attention={attention}"])
    assert cfg.model._target_.startswith("src.models.")
    assert cfg.task._target_ == "src.tasks.pileup.PileupTask"
    if "attention" in cfg.model:
        assert cfg.model.attention._target_ == cfg.attention._target_


@pytest.mark.parametrize(
    "group,choices", [("dataset", DATASETS), ("hardware", HARDWARE), ("experiment", EXPERIMENTS)]
)
def test_groups_compose(compose_cfg, group: str, choices: list[str]) -> None:
    assert choices, f"conf/{group} is empty"
    for choice in choices:
        compose_cfg([f"{group}={choice}"])


def test_default_is_pileup_hept_on_simulation(compose_cfg) -> None:
    cfg = compose_cfg([])
    assert cfg.task._target_.endswith("PileupTask")
    assert cfg.model._target_.endswith("HEPT")
    assert cfg.dataset._target_.endswith("simulated_line_segments")
    assert cfg.dataset.pileup == 200
    assert cfg.optimized_metric == "val/precision@recall0.99"


@pytest.mark.parametrize(
    "override,key",
    [
        ("model=nope", "model"),
        ("task.gamma=abc", "gamma"),
        ("task.gama=1.0", "gama"),
        ("dataset.n_events=many", "n_events"),
        ("attention.block_size=big", "block_size"),
    ],
)
def test_bad_override_names_the_key(compose_cfg, override: str, key: str) -> None:
    with pytest.raises((HydraException, OmegaConfBaseException)) as err:
        compose_cfg([override])
    assert key in str(err.value)


def test_an_unknown_choice_lists_only_real_choices(compose_cfg) -> None:
    with pytest.raises(HydraException) as err:
        compose_cfg(["model=nope"])
    listed = str(err.value).split("Available options")[1].split("Config search path")[0]
    assert "hept" in listed and "mlp" in listed and "schema" not in listed
