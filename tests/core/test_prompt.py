"""The fixed-format prompt paragraph, golden-tested on the UCI Adult card.

Regenerate the golden files only on purpose, after reading the diff::

    AUTOML_GPT_REGENERATE_GOLDEN=1 pytest tests/core/test_prompt.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from automl_gpt.cards import load_data_card
from automl_gpt.cards.resolve import resolve_model_card
from automl_gpt.planners.base import Experience, PastTrial, PlanningContext, Prediction
from automl_gpt.plugins import PluginManager, set_plugin_manager
from automl_gpt.training import LogRecord, TrainingLog, TrialResult, TrialState

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("AUTOML_GPT_REGENERATE_GOLDEN") == "1"


@pytest.fixture
def manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginManager]:
    """The built-ins plus the tabular plugin only (the backend that owns the ``xgboost`` model card)."""
    monkeypatch.setenv("AUTOML_GPT_LOAD_PLUGINS", "backend_tabular")
    manager = PluginManager()
    set_plugin_manager(manager)
    yield manager
    set_plugin_manager(None)


MODEL_CARD = GOLDEN / "xgboost_model_card.yaml"  # a frozen copy of the tabular backend's card


def adult_context(repo: Path, manager: PluginManager, model: str = str(MODEL_CARD)) -> PlanningContext:
    data_card = load_data_card(repo / "examples" / "adult" / "card.yaml")
    backend, model_card = resolve_model_card(model, data_card, manager.backends())
    return PlanningContext(
        data_card=data_card,
        model_card=model_card,
        space=model_card.space(),
        objective=backend.objective(data_card),
    )


def with_feedback(context: PlanningContext) -> PlanningContext:
    """Constraints, experience from a similar dataset, and three real trials (one failed, one pruned)."""
    defaults = context.space.defaults()

    def result(state: TrialState, curve: list[float], error: str | None = None) -> TrialResult:
        log = TrainingLog(LogRecord(10 * (i + 1), "valid", "logloss", v) for i, v in enumerate(curve))
        metrics = {"valid/logloss": curve[-1], "test/accuracy": 0.87} if curve else {}
        return TrialResult(state, metrics, log, error=error)

    context.constraints = {"budget": "30 training runs", "time_budget": "1200 s"}
    context.experience = [
        Experience("bank_marketing", 0.8312, [dict(defaults, learning_rate=0.05, max_depth=5)], [0.2051]),
    ]
    context.history = [
        PastTrial(0, defaults, result(TrialState.COMPLETE, [0.41, 0.3, 0.2876]), [Prediction("llm", 0.3)]),
        PastTrial(1, dict(defaults, learning_rate=0.01), result(TrialState.PRUNED, [0.6, 0.55])),
        PastTrial(2, dict(defaults, max_depth=12), result(TrialState.FAIL, [], error="killed: out of memory")),
    ]
    return context


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGENERATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    assert path.exists(), f"{path} missing: run with AUTOML_GPT_REGENERATE_GOLDEN=1 once"
    assert text + "\n" == path.read_text(encoding="utf-8"), (
        f"prompt differs from {path}; if the change is intended, regenerate with AUTOML_GPT_REGENERATE_GOLDEN=1"
    )


def test_adult_prompt_matches_golden(repo: Path, manager: PluginManager) -> None:
    context = adult_context(repo, manager)
    text = manager.hook.build_prompt(context=context, n_candidates=3)
    check_golden("adult_prompt.txt", text)


def test_adult_prompt_with_feedback_matches_golden(repo: Path, manager: PluginManager) -> None:
    context = with_feedback(adult_context(repo, manager))
    text = manager.hook.build_prompt(context=context, n_candidates=2)
    check_golden("adult_prompt_feedback.txt", text)
    lines = text.splitlines()
    feedback = lines.index("Feedback from 3 real training runs so far (best first):")
    assert lines[feedback + 1].startswith("- trial 0: ") and "(predicted 0.3) after 30 steps" in lines[feedback + 1]
    assert lines[feedback + 2].endswith("-> real validation logloss 0.55 after 20 steps, stopped early")
    assert lines[feedback + 3].endswith("-> FAILED: killed: out of memory")


def test_prompt_with_the_shipped_model_card(repo: Path, manager: PluginManager) -> None:
    """By name, the model card comes from the backend registry; only its search-space lines differ from golden."""
    text = manager.hook.build_prompt(context=adult_context(repo, manager, model="xgboost"), n_candidates=3)
    golden = (GOLDEN / "adult_prompt.txt").read_text(encoding="utf-8").splitlines()
    lines = text.splitlines()
    assert lines[0] == golden[0]  # the data card sentence
    assert lines[1].startswith('We adopt the model "xgboost"') and lines[2] == "Its search space, by stage:"
    shipped = manager.backends()["xgboost"].model_cards()[0]
    assert lines[3:-2] == [f"- {line}" for line in shipped.space().describe().splitlines()]
    assert lines[-2:] == golden[-2:]  # constraints and the closing request


def test_prompt_is_deterministic_and_follows_the_fixed_order(repo: Path, manager: PluginManager) -> None:
    first = manager.hook.build_prompt(context=with_feedback(adult_context(repo, manager)), n_candidates=2)
    second = manager.hook.build_prompt(context=with_feedback(adult_context(repo, manager)), n_candidates=2)
    assert first == second
    order = [
        "Assume we have",
        "We adopt the model",
        "Constraints:",
        "Experience from similar datasets:",
        "Feedback from",
        "Please give 2 new plans",
    ]
    positions = [first.index(marker) for marker in order]
    assert positions == sorted(positions)
