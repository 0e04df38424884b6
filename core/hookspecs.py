"""Every hook automl-gpt calls. Plugins implement them with ``@automl_gpt.hookimpl``.

Three registration hooks fill the registries (LLM providers, task backends, planner names); seven dispatch hooks
do the work of an experiment. The dispatch hooks other than ``draft_card`` (which only plugins answer: drafting
reads data formats) have default implementations in :mod:`automl_gpt.builtin`, which a plugin overrides by
answering first (``tryfirst=True``) or wraps (``wrapper=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from automl_gpt.cards import DataCard, ModelCard
    from automl_gpt.llm import LLMProvider
    from automl_gpt.planners.base import Candidate, Planner, PlanningContext, Prediction
    from automl_gpt.plugins import PlannerInfo
    from automl_gpt.training import Backend, TrainingRequest, TrialResult

PROJECT_NAME = "automl_gpt"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_llm_providers(register: Callable[[LLMProvider], None]) -> None:
    """Register LLM providers by calling ``register(provider)`` once per provider.

    Called once per process, when the provider registry is first needed (``--llm``, ``plugins list``).
    Providers must not import their SDK here; they report availability through ``provider.requirements``.
    """


@hookspec
def register_backends(register: Callable[[Backend], None]) -> None:
    """Register task backends by calling ``register(backend)`` once per backend.

    Called once per process, when the backend registry is first needed. Backends must not import their ML
    library here; they report availability through ``backend.requirements``.
    """


@hookspec
def register_planners(register: Callable[[PlannerInfo], None]) -> None:
    """Announce planner names by calling ``register(PlannerInfo(name, description))`` once per planner.

    Called once per process, when the planner registry is first needed (``run --planner``, ``plugins list``).
    Registering imports nothing: ``plan_trials`` builds the planner when a run asks for its name, so a plugin
    implements both hooks. Names are listed by ``plugins list`` and checked by ``run --planner``.
    """


@hookspec(firstresult=True)
def parse_card(path: Path, data: dict[str, Any], kind: str) -> DataCard | ModelCard | None:
    """Turn a card file's parsed mapping into a card.

    Called by the core for every card it reads; ``kind`` is ``"data"`` or ``"model"``. Return None to let the
    next implementation (finally the built-in schema) answer. Raise :class:`~automl_gpt.errors.CardError` for
    a card you recognise but cannot accept.
    """


@hookspec(firstresult=True)
def draft_card(path: Path, target: str | None, task: str | None, name: str | None, test: Path | None,
               images: Path | None) -> DataCard | None:
    """Draft a data card from a data file (``automl-gpt cards init``).

    ``path`` is the training data (a table, an annotation file...); ``target``, ``task``, ``name``, ``test`` and
    ``images`` are what the user passed, or None. Paths in the card are written as given; the CLI rewrites them
    relative to where the card is saved. Return None when the file is not yours; raise
    :class:`~automl_gpt.errors.UsageError` or ``DataError`` for a file you recognise but cannot draft. There is no
    built-in answer: the tabular plugin drafts CSV/Parquet tables and answers last (every file no other plugin
    claims is read as a table), the vision plugin drafts COCO annotation files.
    """


@hookspec(firstresult=True)
def build_prompt(context: PlanningContext, n_candidates: int) -> str | None:
    """Compose the fixed-format prompt paragraph asking the LLM for ``n_candidates`` staged plans.

    Called by the LLM planner (and ``automl-gpt prompt``) each round. The built-in answer fuses the data card,
    model card, constraints, experience and feedback in the paper's fixed format; return None to defer to it.
    """


@hookspec(firstresult=True)
def build_log_prompt(context: PlanningContext, configs: list[dict[str, Any]]) -> str | None:
    """Compose the paragraph asking the LLM for the training log it predicts for each of ``configs``.

    Called by :func:`automl_gpt.planners.llm_prediction.predict_logs`, which asks for the LLM's own predictions of
    configurations it did not propose (``benchmarks/predictor.py --llm`` scores them beside the other predictors').
    The built-in answer is ``build_prompt``'s paragraph with the configurations and a request for their logs in
    place of the request for plans; return None to defer to it.
    """


@hookspec(firstresult=True)
def plan_trials(name: str, context: PlanningContext) -> Planner | None:
    """Build the planner called ``name`` (``llm``, ``tpe``, ``random``, ``default``, ``transfer``...).

    Called once per run, with a name from ``--planner``; announce your names with ``register_planners`` so that
    ``plugins list`` shows them and ``--planner`` accepts them. Return None when ``name`` is not yours; the core
    reports an unknown planner, naming the registered ones, when no implementation answers.
    """


@hookspec(firstresult=True)
def run_training(backend: Backend, request: TrainingRequest) -> TrialResult | None:
    """Train one configuration for real and return its result.

    Called by the run loop once per trial. The built-in answer calls ``backend.train(request)``; a plugin may
    answer first to run training elsewhere (a cluster, a container), or return None to defer.
    """


@hookspec
def predict_training_log(candidate: Candidate, context: PlanningContext) -> Prediction | None:
    """Predict the training log and final validation objective of a candidate before it trains.

    Called by the run loop for each candidate; every implementation that returns a :class:`Prediction` is
    stored and scored against the real log in the report. Return None when you cannot predict.
    """
