"""Typed schemas of the config groups: names and types only, the values live in ``conf/``.

Each YAML file of a group starts its defaults list with its schema (``- /schema/<group>@_here_: <name>``),
so composition rejects a key that does not exist and a value of the wrong type (``task.gamma=abc``) with
Hydra's own message naming the key, before any data is built. A schema states no default: every value is
written once, in the group's YAML file, and the component's constructor either takes the same default or
requires the keyword (``tests/config/test_schemas.py`` checks both against every file of every group).

The schemas of a group live in ``src/config/<group>.py`` (a module per group, or per family of
components), each listing its schemas in ``SCHEMAS``; :func:`register` stores every module's.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from hydra.core.config_store import ConfigStore

#: Config store group of the schemas of group ``g``: ``schema/g`` (never listed as a choice of ``g``).
SCHEMA_GROUP = "schema/{}"


def schemas() -> dict[tuple[str, str], Any]:
    """Every schema of every module of this package, keyed by (config group, schema name)."""
    out: dict[tuple[str, str], Any] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for key, node in getattr(module, "SCHEMAS", {}).items():
            if key in out:
                raise ValueError(f"schema {key} is defined twice ({module.__name__})")
            out[key] = node
    return out


def register() -> None:
    """Store the schemas in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    for (group, name), node in schemas().items():
        cs.store(group=SCHEMA_GROUP.format(group), name=name, node=node)
