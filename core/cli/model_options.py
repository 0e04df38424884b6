"""``--backend`` and ``--model``, declared once for every command that picks a model card (run, plan, prompt,
experience similar); what the names mean is :mod:`automl_gpt.cards.resolve`'s rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

BACKEND_HELP = "Backend name (default: the first installed one with a model card of that name for the task)."
MODEL_HELP = ("Model card name (default: the backend's first), backend name, or model card file; auto, or a,b,c: "
              "the planner chooses the model card too (a 'model' parameter).")


def model_options(command: F) -> F:
    """Add ``--backend NAME`` and ``--model NAME`` (parameters ``backend`` and ``model``) to a click command."""
    command = click.option("--model", default=None, help=MODEL_HELP)(command)
    return click.option("--backend", default=None, help=BACKEND_HELP)(command)
