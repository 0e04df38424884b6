"""automl-gpt: a large language model plans, predicts and learns from real machine-learning experiments.

The core defines the plugin hook specs (:mod:`automl_gpt.hookspecs`) and the machinery around them; LLM
providers and task backends are plugins. ``automl_gpt.run(...)`` runs the main loop from Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automl_gpt.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl", "run"]

if TYPE_CHECKING:
    from automl_gpt.loop import RunResult


def run(card: Any, **options: Any) -> RunResult:
    """Run the AutoML-GPT loop on a data card (path or DataCard); see :func:`automl_gpt.loop.run`."""
    from automl_gpt.loop import run as _run

    return _run(card, **options)
