"""One source of truth for defaults: for every file of every component group, the schema's fields, the
``_target_``'s signature and the YAML agree — same names, no constructor default that differs from the
file's value, no schema default at all (the values live in the YAML files only)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

from src.config import schemas
from src.data.datamodule import EventDataModule
from src.tasks.base import EventTask
from tests.conftest import CONF

#: Arguments the code passes at build time (not configuration): the backbone's inputs and the pieces a
#: task is made of.
RUNTIME = {"inputs", "backbone", "view", "periodic", "source"}
#: Where a callable's ``**kwargs`` go, by the parameter's name.
FORWARDED: dict[str, Callable] = {"loader": EventDataModule.__init__, "base": EventTask.__init__}
GROUPS = ("task", "model", "attention", "dataset", "generator", "detector")
#: Groups that conf/train.yaml does not list (their files are composed with ``+group=name``).
APPENDED = ("generator", "detector")
FILES = [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]


def _parameters(target: Callable) -> dict[str, inspect.Parameter]:
    """Keyword parameters of a callable (a class: its ``__init__``), following ``**kwargs`` it forwards."""
    function = target.__init__ if inspect.isclass(target) else target
    out: dict[str, inspect.Parameter] = {}
    for name, param in inspect.signature(function).parameters.items():
        if name == "self" or param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            if name not in FORWARDED:
                raise AssertionError(f"{target.__qualname__} forwards **{name} nowhere this test knows")
            out = _parameters(FORWARDED[name]) | out  # the callable's own parameters win
        else:
            out[name] = param
    return out


def _plain(value: Any) -> Any:
    """YAML values and Python defaults in one comparable form (lists for sequences)."""
    if isinstance(value, DictConfig | ListConfig):
        value = OmegaConf.to_container(value, resolve=False)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _components(node: DictConfig, key: str) -> Iterator[tuple[str, DictConfig]]:
    """The node and every nested node with a ``_target_`` (views, evaluations, clusterers, ...)."""
    yield key, node
    for name in node:
        child = node._get_node(name)
        if isinstance(child, DictConfig) and "_target_" in child:
            yield from _components(child, f"{key}.{name}")


@pytest.mark.parametrize(("group", "name"), FILES, ids=[f"{g}={n}" for g, n in FILES])
def test_schema_signature_and_yaml_agree(compose_cfg, group: str, name: str) -> None:
    cfg = compose_cfg([f"{'+' if group in APPENDED else ''}{group}={name}"])
    schema = schemas()[(group, name)]
    fields = {f.name for f in dataclasses.fields(schema)} - {"_target_", "_partial_"}
    for f in dataclasses.fields(schema):
        if f.name not in ("_target_", "_partial_"):
            assert f.default is dataclasses.MISSING or f.default == "???", (
                f"{schema.__name__}.{f.name} has a default"
            )
            assert f.default_factory is dataclasses.MISSING, f"{schema.__name__}.{f.name} has a default"
    for key, node in _components(cfg[group], group):
        target = get_object(node._target_)
        params = _parameters(target)
        names = set(node) - {"_target_", "_partial_"}
        if key == group:
            assert names == fields, f"{key}: YAML keys {sorted(names ^ fields)} differ from the schema's"
        for entry in names:
            if entry in ("train_tiles", "tile_column") and key == "task":
                continue  # the task's data options, handed to the datamodule (src/compose.py)
            assert entry in params, f"{key}.{entry} is not a parameter of {node._target_}"
        if target.__module__.startswith("src."):
            required = {n for n, p in params.items() if p.default is inspect.Parameter.empty} - RUNTIME
            missing = required - names
            assert not missing, f"{key}: {node._target_} requires {sorted(missing)}, the YAML omits them"
        if not target.__module__.startswith("src."):
            continue  # third-party components (optimisers, clusterers) have their own defaults
        for entry in names & set(params):
            default = params[entry].default
            if default is inspect.Parameter.empty or OmegaConf.is_missing(node, entry):
                continue
            value = node._get_node(entry)
            if isinstance(value, DictConfig) and "_target_" in value:
                continue  # a component: checked on its own
            value = _plain(OmegaConf.to_container(node, resolve=False)[entry])
            interpolated = isinstance(value, str) and value.startswith("${")
            assert _plain(default) == value or interpolated, (
                f"{key}.{entry}: {node._target_} defaults to {default!r}, conf/{group}/{name}.yaml: {value!r}"
            )


def test_every_schema_has_its_yaml_file() -> None:
    for group, name in schemas():
        assert (CONF / group / f"{name}.yaml").is_file(), (
            f"schema {group}/{name} has no conf/{group}/{name}.yaml"
        )
