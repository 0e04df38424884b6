"""A tiny analytic backend and scripted LLM clients for testing the loop and planners.

The backend's "training" is a known curve towards ``(x - 1)^2 + penalty``, so tests can check that planners,
pruning, resume and reports behave, in milliseconds. End-to-end tests use the real backends and a real model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from automl_gpt import hookimpl
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.errors import LLMOutputError
from automl_gpt.llm import GenerationSettings, Usage
from automl_gpt.llm.client import StructuredResponse
from automl_gpt.training import Backend, LogRecord, Objective, TrainingLog, TrainingRequest, TrialResult, TrialState

MODEL_CARD = {
    "name": "quadratic",
    "backend": "analytic",
    "tasks": ["regression"],
    "description": "An analytic objective with a known optimum at x = 1, kind = smooth.",
    "search_space": {
        "scaling": {"type": "categorical", "choices": ["none", "standard"], "default": "none",
                    "stage": "data_processing"},
        "x": {"type": "float", "low": -5, "high": 5, "default": 3.0},
        "lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True, "default": 0.1},
        "kind": {"type": "categorical", "choices": ["smooth", "rough"], "default": "rough", "stage": "model"},
        "roughness": {"type": "int", "low": 1, "high": 5, "default": 2, "condition": {"kind": ["rough"]}},
    },
}
STEPS = 20


class AnalyticBackend(Backend):
    """Valid 'loss' decays from 10 towards (x-1)^2 (+ roughness) at a speed set by lr; x > 4.5 crashes."""

    name = "analytic"
    tasks = frozenset({"regression"})

    def model_cards(self) -> list[ModelCard]:
        return [card_from_mapping(ModelCard, json.loads(json.dumps(MODEL_CARD)))]

    def objective(self, data_card: DataCard) -> Objective:
        return Objective("loss", "minimize")

    def check_data(self, data_card: DataCard) -> None:
        return None

    def train(self, request: TrainingRequest) -> TrialResult:
        config = request.config
        if not isinstance(config.get("x"), (int, float)):
            return TrialResult(TrialState.FAIL, error=f"x must be a number, got {config.get('x')!r}")
        if config["x"] > 4.5:
            raise RuntimeError("diverged: x too large")
        final = (config["x"] - 1) ** 2 + (config.get("roughness", 0) * 0.1 if config["kind"] == "rough" else 0)
        log = TrainingLog()
        sleep = float(request.limits.get("sleep_per_step", 0))
        for step in range(1, STEPS + 1):
            if sleep:
                time.sleep(sleep)
            value = final + 10 * (1 - min(1.0, config["lr"] * 3)) ** step
            record = LogRecord(step, "valid", "loss", value)
            log.append(record)
            if request.report(record):
                return TrialResult(TrialState.PRUNED, {"valid/loss": value}, log)
        path = Path(request.workdir) / "model.json"
        path.write_text(json.dumps(config))
        return TrialResult(TrialState.COMPLETE, {"valid/loss": value, "test/loss": value * 1.1}, log,
                           {"model": str(path)})


@hookimpl
def register_backends(register: Any) -> None:
    register(AnalyticBackend())


def data_card(tmp_path: Path) -> DataCard:
    path = tmp_path / "analytic.csv"
    path.write_text("x\n1\n")
    card_path = tmp_path / "card.yaml"
    card_path.write_text(f"name: analytic\ntask: regression\ntrain: {path.name}\ntarget: x\n")
    from automl_gpt.cards import load_data_card

    return load_data_card(card_path)


class ScriptedLLM:
    """Returns prepared answers in order (each a dict, or an exception to raise)."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.schemas: list[dict[str, Any]] = []

    def generate_json(self, prompt: str, schema: dict[str, Any], *, system: str | None = None,
                      settings: GenerationSettings | None = None) -> StructuredResponse:
        self.prompts.append(prompt)
        self.schemas.append(schema)
        answer = self.answers.pop(0) if self.answers else LLMOutputError("no more scripted answers")
        if isinstance(answer, Exception):
            raise answer
        return StructuredResponse(json.dumps(answer), Usage(100, 50, None, 0.01), "scripted", data=answer)


def plan(x: float, lr: float = 0.3, kind: str = "smooth", curve: tuple[float, ...] = (5, 2, 1, 0.5),
         **extra: Any) -> dict[str, Any]:
    hyper = {"x": x, "lr": lr, **extra}
    return {"data_processing": {"scaling": "standard"}, "model": {"kind": kind}, "hyperparameters": hyper,
            "predicted_valid_loss": list(curve), "rationale": "scripted"}
