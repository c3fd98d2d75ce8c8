"""Build the components of a run from a composed config: view, task (with backbone), data, trainer.

Every component is a Hydra ``_target_``; nothing here branches on a model, task or dataset name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from src import config
from src.config.checks import ConfigValueError
from src.data.cache import CacheEntryError
from src.data.views import View
from src.io.errors import ReaderError
from src.utils.jobs import AtomicCheckpointIO
from src.utils.run import instantiate_loggers

log = logging.getLogger(__name__)

#: The repository's Hydra configuration directory.
CONF = Path(__file__).resolve().parents[1] / "conf"

#: task options that shape the training data and go to the datamodule
_DATA_KEYS = ("train_tiles", "tile_column")


#: Errors of the input a person fixes (a config value, a file, a cache entry): their messages name the key or
#: the file, event and field, and what to do.
INPUT_ERRORS = (ConfigValueError, ReaderError, CacheEntryError)


@contextmanager
def input_errors_as_messages() -> Iterator[None]:
    """In a command-line entry point: end with the message of an input error (exit status 1), without a
    traceback; every other exception keeps its traceback. In a multirun the error is raised as it is, so
    that the sweeper records the trial as failed and goes on."""
    try:
        yield
    except INPUT_ERRORS as err:
        if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
            raise
        raise SystemExit(f"error: {err}") from None


def compose_config(overrides: Sequence[str], *, config_name: str = "train") -> DictConfig:
    """The config of ``conf/<config_name>.yaml`` with ``overrides``, composed as the command line would for
    a script that runs no Hydra job: ``paths.root_dir`` is ``HEPRECO_ROOT`` or the repository."""
    config.register()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=list(overrides))
    with open_dict(cfg):
        cfg.paths.root_dir = os.environ.get("HEPRECO_ROOT", str(CONF.parent))
    return cfg


def _plain(node: DictConfig) -> DictConfig:
    """An untyped copy of a (type-checked) config node, so instantiate can add runtime objects to it."""
    return OmegaConf.create(OmegaConf.to_container(node, resolve=True))


def build_view(cfg: DictConfig) -> View:
    """Instantiate the task's view of an event."""
    log.info("Instantiating view <%s>", cfg.task.view._target_)
    view = instantiate(_plain(cfg.task.view))
    if not isinstance(view, View):
        raise TypeError(f"task.view: {cfg.task.view._target_} is not a view (no inputs or not callable)")
    return view


def build_task(cfg: DictConfig) -> L.LightningModule:
    """Instantiate the task's view, the backbone built from the view's inputs, and the task around both.

    Components are built as partials and then called, so runtime objects (the view's :class:`InputSpec`,
    the backbone) reach them as they are, never converted into configs."""
    view = build_view(cfg)
    log.info("Instantiating model <%s>", cfg.model._target_)
    backbone = instantiate(_plain(cfg.model), _partial_=True)(view.inputs)
    log.info("Instantiating task <%s>", cfg.task._target_)
    task = _plain(cfg.task)
    for key in (*_DATA_KEYS, "view"):  # the view is built above; the data keys are the datamodule's
        task.pop(key, None)
    return instantiate(task, _partial_=True)(backbone, view=view)


def build_datamodule(cfg: DictConfig, view: Any) -> L.LightningDataModule:
    """Instantiate the dataset's DataModule for the given view (nothing is generated yet).

    The task says into how many slices training events are cut (``task.train_tiles`` along coordinate
    column ``task.tile_column``)."""
    log.info("Instantiating datamodule <%s>", cfg.dataset._target_)
    task = OmegaConf.select(cfg, "task", default=None) or {}  # evaluation configs may have no task
    data = {key: task[key] for key in _DATA_KEYS if key in task}
    return instantiate(_plain(cfg.dataset), view=view, **data)


def build_trainer(cfg: DictConfig, out: Path, callbacks: list[L.Callback]) -> L.Trainer:
    """The Lightning Trainer from ``trainer`` + ``hardware`` + ``logger``, rooted at the run directory;
    checkpoints are written atomically (:class:`src.utils.jobs.AtomicCheckpointIO`)."""
    hardware = instantiate(cfg.hardware, _convert_="all")
    plugins = list(hardware.pop("plugins", None) or [])
    return instantiate(
        cfg.trainer,
        **hardware,
        plugins=[*plugins, AtomicCheckpointIO()],
        default_root_dir=str(out),
        logger=instantiate_loggers(cfg.get("logger")),
        callbacks=callbacks,
    )
