"""Planning types: candidates, the ask/tell planner protocol, and what prompts and predictors see.

Every planner (``llm``, ``tpe``, ``random``, ``default``, ``transfer``, or a plugin's) speaks the same ask/tell
protocol, like Optuna's: :meth:`Planner.ask` hands out up to ``n`` candidate configurations, :meth:`Planner.tell`
takes back the real result of one. The run loop never knows which planner it drives.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from automl_gpt.training import Objective, TrainingLog, TrialResult, TrialState

if TYPE_CHECKING:  # pydantic stays out of start-up (plugins list); cards are only annotations here
    from automl_gpt.cards import DataCard, ModelCard
    from automl_gpt.cards.search_space import SearchSpace


@dataclass
class Prediction:
    """A predicted training log and final validation objective for one candidate, from one predictor."""

    predictor: str
    final: float | None
    log: TrainingLog = field(default_factory=TrainingLog)
    uncertainty: float | None = None  # one standard deviation of ``final``, when the predictor knows it


@dataclass
class Candidate:
    """A configuration to train, where it came from, why, and what it is predicted to do.

    ``config`` is the full configuration (data-processing choices and hyper-parameters) already validated
    against the search space; ``repairs`` lists what validation had to change in what the planner proposed.
    """

    config: dict[str, Any]
    source: str
    rationale: str = ""
    predictions: list[Prediction] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    prompt: str | None = None
    raw_response: str | None = None

    def prediction(self, predictor: str) -> Prediction | None:
        return next((p for p in self.predictions if p.predictor == predictor), None)


@dataclass
class PastTrial:
    """A finished trial as planners, prompts and predictors see it."""

    number: int
    config: dict[str, Any]
    result: TrialResult
    predictions: list[Prediction] = field(default_factory=list)


def best_trial(history: list[PastTrial], objective: Objective) -> PastTrial | None:
    """The finished trial with the best validation objective."""
    best, best_value = None, None
    for past in history:
        value = past.result.value(objective)
        if past.result.state != TrialState.COMPLETE or value is None:
            continue
        if best_value is None or objective.better(value, best_value):
            best, best_value = past, value
    return best


def predicted_and_real(history: list[PastTrial], objective: Objective) -> dict[str, list[tuple[float, float, int]]]:
    """Per predictor, ``(predicted final, real final, trial number)`` of every COMPLETE trial it predicted."""
    pairs: dict[str, list[tuple[float, float, int]]] = {}
    for trial in history:
        real = trial.result.value(objective)
        if trial.result.state != TrialState.COMPLETE or real is None:
            continue
        for prediction in trial.predictions:
            if prediction.final is not None and math.isfinite(prediction.final):
                pairs.setdefault(prediction.predictor, []).append((prediction.final, real, trial.number))
    return pairs


@dataclass
class Experience:
    """A similar past dataset and the configurations that worked on it (for warm starts and few-shot prompts)."""

    dataset: str
    similarity: float
    configs: list[dict[str, Any]]
    scores: list[float] = field(default_factory=list)
    description: str = ""
    origin: str = "knowledge base"  # or "user": a run of the user's own experience store
    weight: float | None = None  # how much its configurations count in transfer (None: the similarity)

    @property
    def transfer_weight(self) -> float:
        return self.similarity if self.weight is None else self.weight


@dataclass
class PlanningContext:
    """Everything a planner, a prompt builder or a predictor may use.

    ``history`` grows as trials finish; ``constraints`` holds what the user asked for (``budget``, ``metric``,
    ``time_budget_s``...); ``experience`` holds similar past datasets; ``portfolio`` the first configurations to
    try, learned from the backend's performance matrix (:mod:`automl_gpt.planners.knowledge`).
    """

    data_card: DataCard
    model_card: ModelCard
    space: SearchSpace
    objective: Objective
    seed: int = 0
    constraints: dict[str, Any] = field(default_factory=dict)
    experience: list[Experience] = field(default_factory=list)
    portfolio: list[Candidate] = field(default_factory=list)
    history: list[PastTrial] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


class Planner:
    """The ask/tell protocol every planner implements."""

    name: str = ""

    def ask(self, n: int) -> list[Candidate]:
        """Up to ``n`` new candidates (fewer, or none, when the planner has nothing new to offer)."""
        raise NotImplementedError

    def tell(self, candidate: Candidate, result: TrialResult) -> None:
        """The real outcome of a candidate the planner handed out (or one a warm start enqueued)."""

    def stats(self) -> dict[str, float]:
        """Counters the run adds up across its sessions into the report's planner statistics (LLM calls, tokens,
        fallbacks...); a planner without any returns none."""
        return {}


def config_key(config: dict[str, Any]) -> str:
    """A canonical string of a configuration, for de-duplication."""
    return json.dumps(config, sort_keys=True, default=str)
