"""Value checks of the typed configs (``pileup >= 0``, fractions in [0, 1], a split that fits the events),
applied to the composed config before anything is built.

Hydra builds structured configs without calling a dataclass's ``__post_init__``, and OmegaConf checks
types but not values, so a schema states the checks of its fields as metadata::

    pileup: float = field(default=MISSING, metadata=at_least(0))

and :func:`validate` (called first by every entry point) walks the composed config, finds each node's
schema (the node keeps its dataclass type) and applies them. Every problem is reported at once, each
naming its key (``dataset.pileup=-5.0: must be >= 0``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf

#: Metadata key of a field's check: ``check(value, node) -> problem or None``.
CHECK = "check"
Check = Callable[[Any, DictConfig], str | None]


def checked(check: dict[str, Check]) -> Any:
    """A schema field without default (``MISSING``: the value lives in the YAML) checked by ``check``."""
    return dataclasses.field(default=MISSING, metadata=check)


class ConfigValueError(ValueError):
    """One or more config values outside what their field accepts."""


def _plain(value: Any) -> Any:
    return (
        OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig | ListConfig) else value
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def at_least(low: float, *, optional: bool = False) -> dict[str, Check]:
    """A finite number >= ``low`` (or null with ``optional``)."""

    def check(value: Any, _node: DictConfig) -> str | None:
        if value is None and optional:
            return None
        if not _number(value) or value < low:
            return f"must be a number >= {low}" + (" or null" if optional else "")
        return None

    return {CHECK: check}


def fraction() -> dict[str, Check]:
    """A number in [0, 1]."""

    def check(value: Any, _node: DictConfig) -> str | None:
        return None if _number(value) and 0 <= value <= 1 else "must be a fraction in [0, 1]"

    return {CHECK: check}


def fractions() -> dict[str, Check]:
    """A list of numbers in [0, 1]."""

    def check(value: Any, _node: DictConfig) -> str | None:
        value = _plain(value)
        ok = isinstance(value, list) and all(_number(v) and 0 <= v <= 1 for v in value)
        return None if ok else "must be a list of fractions in [0, 1]"

    return {CHECK: check}


def one_of(*choices: str) -> dict[str, Check]:
    """One of ``choices``."""

    def check(value: Any, _node: DictConfig) -> str | None:
        return None if value in choices else f"must be one of {list(choices)}"

    return {CHECK: check}


def interval(low: float = -math.inf, high: float = math.inf) -> dict[str, Check]:
    """``[lo, hi]`` with ``low <= lo < hi <= high``, or null."""

    def check(value: Any, _node: DictConfig) -> str | None:
        value = _plain(value)
        if value is None:
            return None
        ok = (
            isinstance(value, list)
            and len(value) == 2
            and all(_number(v) for v in value)
            and low <= value[0] < value[1] <= high
        )
        return None if ok else f"must be [lo, hi] with {low:g} <= lo < hi <= {high:g}, or null"

    return {CHECK: check}


def _event_lists(parts: list[list[Any]]) -> str | None:
    """The problem of a split given as (train, val, test) lists of event indices, if any."""
    events = [e for part in parts for e in part]
    if not all(isinstance(e, int) and e >= 0 for e in events) or len(set(events)) != len(events):
        return "event lists (train, val, test) must hold distinct non-negative event indices"
    return None


def _counts(counts: list[Any], node: DictConfig) -> str | None:
    """The problem of a split given as (train, val, test) event counts, if any."""
    n = node.get("n_events") if "n_events" in node else None
    if isinstance(n, int) and sum(counts) > n:
        return f"asks for {int(sum(counts))} events but dataset.n_events={n}"
    return None


def split() -> dict[str, Check]:
    """Three fractions in [0, 1] summing to 1, three non-negative counts fitting ``n_events`` when the
    node has one, three disjoint lists of event indices (cross-validation folds), ``all`` (every event is
    a test event), or null where the dataset allows it."""

    def check(value: Any, node: DictConfig) -> str | None:
        value = _plain(value)
        if value is None or value == "all":
            return None
        if isinstance(value, list) and len(value) == 3 and all(isinstance(v, list) for v in value):
            return _event_lists(value)
        if not isinstance(value, list) or len(value) != 3 or not all(_number(v) and v >= 0 for v in value):
            return "must be three non-negative numbers (train, val, test) or 'all'"
        if all(float(v).is_integer() for v in value) and sum(value) > 1:
            return _counts(value, node)
        if any(v > 1 for v in value) or abs(sum(value) - 1) > 1e-6:
            return "fractions must be in [0, 1] and sum to 1 (or give three whole counts)"
        return None

    return {CHECK: check}


def problems(cfg: DictConfig, prefix: str = "") -> list[str]:
    """``key=value: problem`` for every field of ``cfg`` (at any depth) that fails its check."""
    out: list[str] = []
    schema = OmegaConf.get_type(cfg)
    checks = (
        {f.name: f.metadata[CHECK] for f in dataclasses.fields(schema) if CHECK in f.metadata}
        if dataclasses.is_dataclass(schema)
        else {}
    )
    for key in cfg:
        name = f"{prefix}{key}"
        if OmegaConf.is_missing(cfg, key):
            continue
        if key in checks:
            value = cfg[key]
            problem = checks[key](value, cfg)
            if problem:
                out.append(f"{name}={_plain(value)}: {problem}")
        child = cfg._get_node(key)
        if isinstance(child, DictConfig) and not OmegaConf.is_interpolation(cfg, key):
            out.extend(problems(child, f"{name}."))
    return out


def validate(cfg: DictConfig) -> None:
    """Raise :class:`ConfigValueError` listing every value of ``cfg`` that fails its schema's check."""
    found = problems(cfg)
    if found:
        raise ConfigValueError(
            "invalid config value(s):\n  " + "\n  ".join(found) + "\nSet each on the command line (e.g. "
            "dataset.pileup=200) or in its conf/<group>/<name>.yaml"
        )
