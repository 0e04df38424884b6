"""The LLM's predicted training log of given configurations: asked in batches through the planner's paragraph,
validated, impossible values rejected and recorded, failed calls recorded."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.errors import LLMOutputError
from automl_gpt.llm import GenerationSettings, LLMModel, LLMResponse, Usage
from automl_gpt.llm.client import LLMClient
from automl_gpt.planners.base import PastTrial, PlanningContext
from automl_gpt.planners.llm_planner import LLMPlanner
from automl_gpt.planners.llm_prediction import predict_logs
from automl_gpt.testing import plugins_loaded
from automl_gpt.training import LogRecord, Objective, TrainingLog, TrialResult, TrialState

from tests.core.loop_support import ScriptedLLM

SPACE = {
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True, "default": 0.3},
    "max_depth": {"type": "int", "low": 2, "high": 12, "default": 6},
}
CONFIGS = [{"learning_rate": 0.3, "max_depth": 6}, {"learning_rate": 0.05, "max_depth": 3},
           {"learning_rate": 0.1, "max_depth": 9}]


def context(tmp_path: Path, history: list[PastTrial] | None = None) -> PlanningContext:
    card = DataCard(name="toy", task="binary", train=str(tmp_path / "t.csv"), target="y",
                    label_space=["no", "yes"], class_balance={"no": 0.5, "yes": 0.5})
    model = card_from_mapping(ModelCard, {"name": "toy", "backend": "toy", "tasks": ["binary"],
                                          "search_space": SPACE})
    return PlanningContext(card, model, model.space(), Objective("logloss", "minimize"), history=history or [])


def curve(*values: Any) -> dict[str, Any]:
    return {"predicted_valid_logloss": list(values)}


def test_each_configuration_gets_its_predicted_log_or_the_reason_it_has_none(tmp_path: Path) -> None:
    llm = ScriptedLLM([
        {"predictions": [curve(0.6, 0.5, 0.45, 0.42), curve(0.6, 0.4, -1.1, 0.3)]},  # a negative log-loss
        LLMOutputError("the answer does not match the schema after one repair attempt"),
    ])
    results = predict_logs(context(tmp_path), CONFIGS, llm, batch=2)

    assert [r.config for r in results] == CONFIGS
    first = results[0].prediction
    assert first is not None and first.predictor == "llm" and first.final == 0.42
    assert [(r.step, r.value) for r in first.log] == [(25, 0.6), (50, 0.5), (75, 0.45), (100, 0.42)]
    assert results[1].prediction is None and "outside the possible range" in (results[1].rejected or "")
    assert results[2].prediction is None and results[2].rejected is None
    assert "the LLM call failed" in (results[2].failed or "")
    schema = llm.schemas[0]["properties"]["predictions"]
    assert (schema["minItems"], schema["maxItems"]) == (2, 2)
    assert schema["items"]["properties"]["predicted_valid_logloss"]["items"]["maximum"] == pytest.approx(
        2 * math.log(2))


def test_the_prompt_is_the_planners_paragraph_with_the_configurations_and_no_request_for_plans(
        tmp_path: Path) -> None:
    log = TrainingLog([LogRecord(100, "valid", "logloss", 0.41)])
    history = [PastTrial(0, CONFIGS[0], TrialResult(TrialState.COMPLETE, {"valid/logloss": 0.41}, log))]
    llm = ScriptedLLM([{"predictions": [curve(0.6, 0.5, 0.45, 0.42)] * 2}])
    predict_logs(context(tmp_path, history), CONFIGS[1:], llm)

    prompt = llm.prompts[0]
    assert prompt.startswith('Assume we have the dataset "toy" for binary classification')
    assert "real validation logloss 0.41" in prompt  # the feedback of the run's trials, as the planner gives it
    assert "- configuration 1: {learning_rate: 0.05, max_depth: 3}" in prompt
    assert "- configuration 2: {learning_rate: 0.1, max_depth: 9}" in prompt
    assert "validation logloss at 25%, 50%, 75% and 100% of training" in prompt
    assert "new plans" not in prompt


DEFAULT_SETTINGS = GenerationSettings()


class ClippedModel(LLMModel):
    """A provider whose answer holds a log-loss of 3000: the client clips it into the schema's bounds."""

    provider = "scripted"
    name = "scripted"

    def generate_json(self, prompt: str, schema: dict[str, Any], *, system: str | None = None,
                      settings: GenerationSettings = DEFAULT_SETTINGS) -> LLMResponse:
        answer = {"predictions": [curve(0.6, 0.5, 0.45, 3000), curve(0.6, 0.5, 0.45, 0.42)]}
        return LLMResponse(json.dumps(answer), Usage(10, 10), self.name, answer)


def test_a_value_the_client_had_to_clip_into_range_is_rejected_not_shown_at_the_bound(tmp_path: Path) -> None:
    results = predict_logs(context(tmp_path), CONFIGS[:2], LLMClient(ClippedModel()))

    assert results[0].prediction is None
    assert "3000" in (results[0].rejected or "") and results[0].repairs
    assert results[1].prediction is not None and results[1].prediction.final == 0.42 and not results[1].repairs


class ClippedPlanModel(LLMModel):
    """A provider whose plan predicts a log-loss of 3000: the client clips it to the schema's bound."""

    provider = "scripted"
    name = "scripted"

    def generate_json(self, prompt: str, schema: dict[str, Any], *, system: str | None = None,
                      settings: GenerationSettings = DEFAULT_SETTINGS) -> LLMResponse:
        answer = {"plans": [{"hyperparameters": {"learning_rate": 0.1, "max_depth": 3},
                             **curve(0.6, 0.5, 0.45, 3000), "rationale": "scripted"}]}
        return LLMResponse(json.dumps(answer), Usage(10, 10), self.name, answer)


def test_the_planner_rejects_a_plans_curve_the_client_had_to_clip(tmp_path: Path) -> None:
    planner = LLMPlanner(context(tmp_path), client=LLMClient(ClippedPlanModel()), start_with_default=False,
                         share_with_tpe=False)
    [candidate] = planner.ask(1)

    assert candidate.config["max_depth"] == 3 and candidate.prediction("llm") is None
    assert any("prediction rejected" in note and "3000" in note for note in candidate.repairs)
    assert planner.stats()["predictions_rejected"] == 1


def test_hook_build_log_prompt(tmp_path: Path) -> None:
    with plugins_loaded() as manager:
        text = manager.hook.build_log_prompt(context=context(tmp_path), configs=CONFIGS[:2])
        planning = manager.hook.build_prompt(context=context(tmp_path), n_candidates=2)

    paragraph = planning.rpartition("\n")[0]  # the planner's paragraph without its request for plans
    assert text.startswith(paragraph + "\nWe will train 2 configurations:\n")
    assert text.endswith("- configuration 2: {learning_rate: 0.05, max_depth: 3}\nPlease give the training log you "
                         "predict for each configuration, in this order (validation logloss at 25%, 50%, 75% and "
                         "100% of training), as JSON.")
