"""Finding strategies by name: the built-ins, plus any installed plugin.

Plugins register a class under the entry-point group ``tradeterm.strategies``::

    [project.entry-points."tradeterm.strategies"]
    my_idea = "my_package.strategies:MyIdea"

Built-ins are also listed here in code so they work from a source checkout that was never
installed (or installed before a strategy was added). A plugin cannot replace a built-in of the
same name — a package on the path silently swapping the strategy a trader chose would be a
nasty surprise — and a name registered twice by plugins is refused when it is asked for.

Classes are imported only when asked for, so a broken plugin breaks only itself, with an error
naming its entry point.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from tradeterm.analysis.strategies.base import Strategy

ENTRY_POINT_GROUP = "tradeterm.strategies"

BUILTINS: dict[str, str] = {
    "smc_retest": "tradeterm.analysis.strategies.smc_retest:SmcRetest",
    "sma_cross": "tradeterm.analysis.strategies.sma_cross:SmaCross",
    "rsi_reversion": "tradeterm.analysis.strategies.rsi_reversion:RsiReversion",
    "fib_rsi": "tradeterm.analysis.strategies.fib_rsi:FibRsi",
}


class StrategyError(ValueError):
    """An unknown strategy, a plugin that does not load, or parameters that do not validate."""


def _plugins() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets = found.setdefault(ep.name, [])
        if ep.value not in targets:
            targets.append(ep.value)
    return found


def available() -> dict[str, str]:
    """Every strategy name and where its class lives (``module:attr``), built-ins first."""
    out = dict(BUILTINS)
    for name, targets in sorted(_plugins().items()):
        if name not in out:
            out[name] = " | ".join(targets)
    return out


def strategy_class(name: str) -> type[Strategy]:
    """The class registered as ``name``, imported and checked."""
    target = BUILTINS.get(name)
    if target is None:
        targets = _plugins().get(name)
        if not targets:
            known = ", ".join(available())
            raise StrategyError(f"unknown strategy {name!r} (available: {known})")
        if len(targets) > 1:
            raise StrategyError(
                f"strategy {name!r} is registered twice ({', '.join(targets)}); uninstall one"
            )
        target = targets[0]
    cls = _import(name, target)
    _check(name, target, cls)
    return cls


def create_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """A new instance of strategy ``name`` with validated parameters (one per stream)."""
    cls = strategy_class(name)
    validated = validate_params(name, cls.Params, params or {})
    return cls(validated)  # type: ignore[call-arg]


def validate_params(name: str, model: type[BaseModel], params: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise StrategyError(f"strategy {name!r}: {_describe(exc, model)}") from None


def parse_param_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``["fast=10", "take_profits_r=1,2"]`` → ``{"fast": "10", "take_profits_r": "1,2"}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise StrategyError(f"parameter {pair!r} must look like key=value")
        if key in out:
            raise StrategyError(f"parameter {key!r} is given twice")
        out[key] = value.strip()
    return out


def _import(name: str, target: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name.strip())
        for part in attr.strip().split(".") if attr else ():
            obj = getattr(obj, part)
    except Exception as exc:  # any failure inside a plugin's import is that plugin's problem
        raise StrategyError(
            f"strategy {name!r} failed to load from {target!r}: {type(exc).__name__}: {exc}"
        ) from exc
    return obj


def _check(name: str, target: str, cls: Any) -> None:
    problems = []
    if not isinstance(cls, type):
        problems.append("it is not a class")
    else:
        if getattr(cls, "name", None) != name:
            problems.append(f"its name attribute is {getattr(cls, 'name', None)!r}, not {name!r}")
        params = getattr(cls, "Params", None)
        if not (isinstance(params, type) and issubclass(params, BaseModel)):
            problems.append("it has no pydantic Params model")
        if not callable(getattr(cls, "on_bar", None)):
            problems.append("it has no on_bar(ctx) method")
    if problems:
        raise StrategyError(
            f"strategy {name!r} ({target}) is not a valid strategy: {'; '.join(problems)}"
        )


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            known = ", ".join(model.model_fields)
            parts.append(f"unknown parameter {loc!r} (known: {known})")
        elif loc:
            given = err.get("input")
            shown = f" (got {given!r})" if isinstance(given, (str, int, float, bool)) else ""
            msg = err["msg"].removeprefix("Value error, ")
            parts.append(f"parameter {loc.split('.')[0]!r}: {msg}{shown}")
        else:
            parts.append(err["msg"].removeprefix("Value error, "))
    return "; ".join(parts)
