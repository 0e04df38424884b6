"""automl-gpt: a large language model plans, predicts and learns from real machine-learning experiments.

The core defines the plugin hook specs (:mod:`automl_gpt.hookspecs`) and the machinery around them; LLM
providers and task backends are plugins. ``automl_gpt.run(...)`` runs the main loop from Python;
``automl_gpt.AutoMLClassifier`` / ``AutoMLRegressor`` are scikit-learn estimators over the same loop (imported on
first use: they need the ``[tabular]`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automl_gpt.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["AutoMLClassifier", "AutoMLRegressor", "__version__", "hookimpl", "run"]
ESTIMATORS = ("AutoMLClassifier", "AutoMLRegressor")

if TYPE_CHECKING:
    from automl_gpt.runs.estimator import AutoMLClassifier, AutoMLRegressor
    from automl_gpt.runs.loop import RunResult


def run(card: Any, **options: Any) -> RunResult:
    """Run the AutoML-GPT loop on a data card (path or DataCard); see :func:`automl_gpt.runs.loop.run`."""
    from automl_gpt.runs.loop import run as _run

    return _run(card, **options)


def __getattr__(name: str) -> Any:
    """The scikit-learn estimators, imported when first asked for (scikit-learn is not loaded at start-up)."""
    if name in ESTIMATORS:
        from automl_gpt.runs import estimator

        return getattr(estimator, name)  # a module __getattr__ (PEP 562): the name is one of ESTIMATORS
    raise AttributeError(f"module 'automl_gpt' has no attribute {name!r}")
