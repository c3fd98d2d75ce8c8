"""Hydra callbacks for multiruns."""

from __future__ import annotations

import copy
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class HydraConfigInSweeps(Callback):
    """Make ``${hydra:...}`` resolvable while a multirun sets up its sweeper.

    Hydra sets its config for interpolation only when a job starts, but the sweep directory
    (``.../${hydra:runtime.choices.task}-.../``) and the study's storage under it are resolved earlier,
    when the sweeper is created: without this, every ``-m`` run fails with "HydraConfig was not set".
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        HydraConfig.instance().set_config(copy.deepcopy(config))
