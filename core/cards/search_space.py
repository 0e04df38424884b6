"""Typed search spaces: the parameters a model card exposes, and validation/repair of configurations.

A :class:`SearchSpace` is an ordered mapping of parameter names to typed parameters, in the spirit of Optuna's
distributions: :class:`FloatParam` (optionally log-scaled), :class:`IntParam` and :class:`CategoricalParam`.
Any parameter may be *conditional*: it is active only when other parameters take given values.

Each parameter belongs to one *stage* of the paper's staged plan: ``data_processing``, ``model`` or
``hyperparameters``.

Configurations coming from outside (an LLM, a user file) are never trusted: :meth:`SearchSpace.repair`
casts, clips and snaps values into the space and reports every change, or raises when a value cannot be
made to fit. Backends never repair: :meth:`SearchSpace.check` hands them a configuration inside the space or
rejects it with one :class:`~automl_gpt.errors.ConfigError`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from automl_gpt.errors import ConfigError, SearchSpaceError
from pydantic import BaseModel, ConfigDict, Field, model_validator

Stage = Literal["data_processing", "model", "hyperparameters"]
STAGES: tuple[Stage, ...] = ("data_processing", "model", "hyperparameters")
Scalar = bool | int | float | str | None


class _Param(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    description: str = ""
    stage: Stage = "hyperparameters"
    condition: dict[str, list[Scalar]] = Field(
        default_factory=dict,
        description="Active only when every named parameter takes one of the listed values.",
    )

    def is_active(self, config: Mapping[str, Any]) -> bool:
        return all(config.get(name) in values for name, values in self.condition.items())


class FloatParam(_Param):
    """A real-valued parameter in ``[low, high]``; ``log`` samples it on a log scale."""

    type: Literal["float"] = "float"
    low: float
    high: float
    log: bool = False
    default: float | None = None

    @model_validator(mode="after")
    def _check(self) -> FloatParam:
        _check_bounds(self.low, self.high, self.log, self.default)
        return self

    def fault(self, value: Any) -> str | None:
        """Why ``value`` is not a value of this parameter (None: it is)."""
        return _number_fault(value, self.low, self.high)

    def repair(self, value: Any) -> tuple[float, str | None]:
        number = _to_number(value)
        if math.isnan(number):
            raise ValueError(f"{value!r} is not a number")
        return _clip(float(number), self.low, self.high)

    def sample(self, rng: random.Random) -> float:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return min(max(value, self.low), self.high)  # exp(log(x)) may land a rounding error outside

    def describe(self) -> str:
        scale = ", log scale" if self.log else ""
        return f"float in [{_fmt(self.low)}, {_fmt(self.high)}]{scale}"


class IntParam(_Param):
    """An integer parameter in ``[low, high]``; ``log`` samples it on a log scale."""

    type: Literal["int"] = "int"
    low: int
    high: int
    log: bool = False
    default: int | None = None

    @model_validator(mode="after")
    def _check(self) -> IntParam:
        _check_bounds(self.low, self.high, self.log, self.default)
        return self

    def fault(self, value: Any) -> str | None:
        """Why ``value`` is not a value of this parameter (None: it is); a whole float (``3.0``) is one."""
        fault = _number_fault(value, self.low, self.high)
        if fault is None and value != round(value):
            return f"is not a whole number (an integer in [{self.low}, {self.high}])"
        return fault

    def repair(self, value: Any) -> tuple[int, str | None]:
        number = _to_number(value)
        if math.isnan(number):
            raise ValueError(f"{value!r} is not a number")
        clipped, note = _clip(number, self.low, self.high)  # clip first: inf cannot be rounded
        rounded = round(clipped)
        if note is None and rounded != number:
            note = f"rounded {value!r} to {rounded}"
        return rounded, note

    def sample(self, rng: random.Random) -> int:
        if self.log:
            value = round(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
            return min(max(value, self.low), self.high)
        return rng.randint(self.low, self.high)

    def describe(self) -> str:
        scale = ", log scale" if self.log else ""
        return f"integer in [{self.low}, {self.high}]{scale}"


class CategoricalParam(_Param):
    """A choice among a fixed list of values (strings, numbers, booleans or null)."""

    type: Literal["categorical"] = "categorical"
    choices: list[Scalar]
    default: Scalar = None

    @model_validator(mode="after")
    def _check(self) -> CategoricalParam:
        if not self.choices:
            raise ValueError("choices must not be empty")
        if self.default is not None and self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of the choices {self.choices}")
        return self

    def fault(self, value: Any) -> str | None:
        """Why ``value`` is not a value of this parameter (None: it is): it must be one of the choices, of the same
        type (``1`` is not ``True``; ``16.0`` is ``16``)."""
        if any((type(choice) is type(value) and choice == value) or _same_number(value, choice)
               for choice in self.choices):
            return None
        return f"is not one of {self.choices}"

    def repair(self, value: Any) -> tuple[Scalar, str | None]:
        for choice in self.choices:
            if type(choice) is type(value) and choice == value:
                return choice, None
        for choice in self.choices:
            if _same_number(value, choice):
                return choice, f"read {value!r} as {choice!r}"
        for choice in self.choices:
            if str(choice).strip().lower() == str(value).strip().lower():
                return choice, f"read {value!r} as {choice!r}"
        raise ValueError(f"{value!r} is not one of {self.choices}")

    def sample(self, rng: random.Random) -> Scalar:
        return rng.choice(self.choices)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)


Param = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="type")]


@dataclass
class Repair:
    """The outcome of fitting an untrusted configuration into a space."""

    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.notes)


class SearchSpace(Mapping[str, Any]):
    """An ordered, typed set of parameters. Read-only mapping of name to parameter."""

    def __init__(self, params: Mapping[str, FloatParam | IntParam | CategoricalParam]) -> None:
        self._params = dict(params)
        for name, param in self._params.items():
            for other in param.condition:
                if other not in self._params:
                    raise SearchSpaceError(f"parameter '{name}' is conditional on unknown parameter '{other}'")
        self._check_acyclic()

    def __getitem__(self, name: str) -> FloatParam | IntParam | CategoricalParam:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        return f"SearchSpace({list(self._params)})"

    def active(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Keep only the parameters whose conditions hold, in declaration order.

        A parameter is active when every parameter it is conditional on is itself active and takes one of the
        listed values (so a chain ``c`` -> ``b`` -> ``a`` switches off as a whole).
        """
        known: dict[str, bool] = {}

        def on(name: str) -> bool:
            if name not in known:
                condition = self._params[name].condition
                known[name] = name in config and all(
                    on(other) and config.get(other) in values for other, values in condition.items()
                )
            return known[name]

        return {n: config[n] for n in self._params if on(n)}

    def defaults(self) -> dict[str, Any]:
        """The default configuration: each active parameter at its default (or the middle of its range)."""
        config: dict[str, Any] = {}
        for name, param in self._params.items():
            config[name] = _default_of(param)
        return self.active(config)

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """A uniformly random configuration (log-uniform where declared)."""
        config = {name: param.sample(rng) for name, param in self._params.items()}
        return self.active(config)

    def repair(self, raw: Mapping[str, Any]) -> Repair:
        """Fit an untrusted configuration into the space.

        Unknown keys are dropped, missing ones take defaults, numbers are cast and clipped, categorical values
        matched case-insensitively; each change is noted. Raises :class:`SearchSpaceError` naming the parameter
        when a value cannot be made to fit (e.g. a categorical value that is none of the choices).
        """
        notes: list[str] = []
        config: dict[str, Any] = {}
        for key in raw:
            if key not in self._params:
                notes.append(f"dropped unknown parameter '{key}'")
        for name, param in self._params.items():
            if name not in raw or (raw[name] is None and not _allows_none(param)):
                config[name] = _default_of(param)
                continue
            try:
                value, note = param.repair(raw[name])
            except (TypeError, ValueError) as exc:
                raise SearchSpaceError(f"parameter '{name}': {exc}") from None
            config[name] = value
            if note:
                notes.append(f"{name}: {note}")
        active = self.active(config)
        for name in raw:
            if name in self._params and name not in active:
                notes.append(f"dropped '{name}': inactive under this configuration")
        for name in active:
            if name not in raw:
                notes.append(f"{name}: missing, used default {active[name]!r}")
        return Repair(active, notes)

    def check(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration a backend trains: ``config`` checked against the space, with the defaults of the
        parameters it leaves out and without those its values switch off (conditions).

        The rule for every backend: a configuration is never repaired on its way to training. A name the space does
        not declare, or a value of the wrong type or outside the parameter's range or choices, is a
        :class:`~automl_gpt.errors.ConfigError` naming the parameter, the value and what the space allows; the
        trial fails with that line and the run goes on. (Planners repair untrusted proposals with :meth:`repair`
        before a trial is queued, saying what they changed.)
        """
        for name, value in config.items():
            if name not in self._params:
                raise ConfigError(f"unknown parameter '{name}' (known: {', '.join(self._params)})")
            fault = self._params[name].fault(value)
            if fault is not None:
                raise ConfigError(f"parameter '{name}': {value!r} {fault}")
        return self.repair(config).config

    def contains(self, config: Mapping[str, Any]) -> bool:
        """True when ``config`` is already inside the space, exactly (no repair needed)."""
        try:
            repaired = self.repair(config)
        except SearchSpaceError:
            return False
        return not repaired.changed and repaired.config == dict(config)

    def by_stage(self) -> dict[Stage, list[str]]:
        """Parameter names grouped by the paper's stages, in declaration order."""
        groups: dict[Stage, list[str]] = {stage: [] for stage in STAGES}
        for name, param in self._params.items():
            groups[param.stage].append(name)
        return groups

    def to_optuna(self, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Optuna distributions of the parameters (only those active under ``config`` when given)."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        names = self._params if config is None else self.active(config)
        result: dict[str, Any] = {}
        for name in names:
            param = self._params[name]
            if isinstance(param, FloatParam):
                result[name] = FloatDistribution(param.low, param.high, log=param.log)
            elif isinstance(param, IntParam):
                result[name] = IntDistribution(param.low, param.high, log=param.log)
            else:
                result[name] = CategoricalDistribution(param.choices)
        return result

    def json_schema(self) -> dict[str, Any]:
        """A JSON schema of one configuration, usable for constrained decoding of LLM output."""
        properties: dict[str, Any] = {}
        for name, param in self._params.items():
            if isinstance(param, FloatParam):
                properties[name] = {"type": "number", "minimum": param.low, "maximum": param.high}
            elif isinstance(param, IntParam):
                properties[name] = {"type": "integer", "minimum": param.low, "maximum": param.high}
            else:
                properties[name] = {"enum": list(param.choices)}
        return {
            "type": "object",
            "properties": properties,
            "required": [n for n, p in self._params.items() if not p.condition],
            "additionalProperties": False,
        }

    def _check_acyclic(self) -> None:
        state: dict[str, int] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join((*path[path.index(name):], name))
                raise SearchSpaceError(f"parameter conditions form a cycle: {cycle}")
            state[name] = 1
            for other in self._params[name].condition:
                visit(other, (*path, name))
            state[name] = 2

        for name in self._params:
            visit(name, ())

    def describe(self) -> str:
        """One line per parameter, grouped by stage: used in prompts and `cards show`."""
        lines = []
        for stage, names in self.by_stage().items():
            for name in names:
                param = self._params[name]
                text = f"[{stage}] {name}: {param.describe()}, default {_default_of(param)!r}"
                if param.condition:
                    cond = " and ".join(f"{k} in {v}" for k, v in param.condition.items())
                    text += f", only when {cond}"
                if param.description:
                    text += f" - {param.description}"
                lines.append(text)
        return "\n".join(lines)


def _default_of(param: FloatParam | IntParam | CategoricalParam) -> Any:
    if param.default is not None:
        return param.default
    if isinstance(param, CategoricalParam):
        return param.choices[0]
    middle = math.sqrt(param.low * param.high) if param.log else (param.low + param.high) / 2
    return round(middle) if isinstance(param, IntParam) else middle


def _allows_none(param: FloatParam | IntParam | CategoricalParam) -> bool:
    return isinstance(param, CategoricalParam) and None in param.choices


def _same_number(value: Any, choice: Any) -> bool:
    numbers = (int, float)
    return (isinstance(value, numbers) and isinstance(choice, numbers) and not isinstance(value, bool)
            and not isinstance(choice, bool) and value == choice)


def _check_bounds(low: float, high: float, log: bool, default: float | None) -> None:
    if low > high:
        raise ValueError(f"low {low} is above high {high}")
    if log and low <= 0:
        raise ValueError("a log-scaled parameter needs low > 0")
    if default is not None and not low <= default <= high:
        raise ValueError(f"default {default} is outside [{low}, {high}]")


def _number_fault(value: Any, low: float, high: float) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return "is not a number"
    if not low <= value <= high:
        return f"is outside [{_fmt(low)}, {_fmt(high)}]"
    return None


def _to_number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean, not a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    raise ValueError(f"{value!r} is not a number")


def _clip(value: float, low: float, high: float) -> tuple[float, str | None]:
    if value < low:
        return low, f"clipped {_fmt(value)} up to {_fmt(low)}"
    if value > high:
        return high, f"clipped {_fmt(value)} down to {_fmt(high)}"
    return value, None


def _fmt(value: float) -> str:
    return f"{value:g}"
