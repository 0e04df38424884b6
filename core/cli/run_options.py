"""The command-line options of a run's settings, generated from their one declaration
(:class:`automl_gpt.runs.options.RunSettings`): each setting with a ``flag`` becomes one click option whose
parameter is the setting's name and whose value arrives as the setting takes it (durations in seconds, ``--limit``
pairs as a mapping, ``--no-...`` switches as the setting's truth value)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import Field
from typing import Any, TypeVar

import click
from automl_gpt.errors import UsageError
from automl_gpt.runs.options import default_of, user_options

F = TypeVar("F", bound=Callable[..., Any])

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")


def parse_duration(text: str | None) -> float | None:
    """'90', '90s', '20m', '1.5h' -> seconds."""
    if text is None:
        return None
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"bad duration '{text}': write e.g. 90s, 20m or 1.5h")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"s": 1, "m": 60, "h": 3600}[unit]


def parse_limits(items: tuple[str, ...]) -> dict[str, Any]:
    """``--limit max_rows=2000`` pairs -> dict with numbers parsed."""
    limits: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"bad --limit '{item}': write NAME=VALUE, e.g. max_rows=2000")
        try:
            limits[key] = json.loads(value)
        except json.JSONDecodeError:
            limits[key] = value
    return limits


def _complete_planner(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of ``--planner``: the registered planner names."""
    from automl_gpt.plugins import get_plugin_manager

    return sorted(name for name in get_plugin_manager().planners() if name.startswith(incomplete))


COMPLETION = {"planner": _complete_planner}


def settings_options(*names: str, helps: dict[str, str] | None = None) -> Callable[[F], F]:
    """A decorator adding the options of the named settings (every setting with a flag when none is named), in
    their declared order; ``helps`` replaces the help of some (a command that uses a setting differently)."""
    declared = {f.name: f for f in user_options() if f.metadata["flag"]}
    unknown = sorted(set(names) - set(declared))
    if unknown:
        raise ValueError(f"no run setting with a command-line option: {', '.join(unknown)}")
    chosen = [declared[name] for name in names] if names else list(declared.values())

    def decorate(command: F) -> F:
        for setting in reversed(chosen):  # click lists the options in decorator order, top first
            command = click_option(setting, (helps or {}).get(setting.name))(command)
        return command

    return decorate


def click_option(setting: Field[Any], help_text: str | None = None) -> Callable[[F], F]:
    """The click option of one setting (``help_text``: instead of the declared help)."""
    flag, reads = setting.metadata["flag"], setting.metadata["reads"]
    help_text = help_text or setting.metadata["help"]
    default = default_of(setting)
    if reads == "off_switch":
        return click.option(flag, setting.name, is_flag=True, flag_value=not default, default=default, help=help_text)
    if reads == "duration":
        return click.option(flag, setting.name, default=None, metavar="DURATION", help=help_text,
                            callback=lambda _ctx, _param, text: parse_duration(text))
    if reads == "pairs":
        return click.option(flag, setting.name, multiple=True, metavar="NAME=VALUE", help=help_text,
                            callback=lambda _ctx, _param, items: parse_limits(items))
    return click.option(flag, setting.name, type=type(default) if default is not None else str,
                        default=None if default == "" else default, show_default=default not in (None, ""),
                        help=help_text,
                        shell_complete=COMPLETION.get(setting.name))


model_options = settings_options("backend", "model")
"""``--backend`` and ``--model``, for every command that picks a model card (run, plan, prompt, experience
similar); what the names mean is :mod:`automl_gpt.cards.resolve`'s rule."""
