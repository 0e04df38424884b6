"""A surrogate predictor of training logs, fitted on the real trials of the run so far.

The final validation objective is predicted by Gaussian-kernel regression over configurations encoded into
``[0, 1]`` (log-scaled where the parameter is); the curve is the shape of the nearest real curves, rescaled to
the predicted final value. It needs at least :data:`MIN_TRIALS` finished trials, so predictions get better as
the run goes, which the report measures against the LLM's own predictions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from automl_gpt.cards.search_space import CategoricalParam, SearchSpace
from automl_gpt.planners.base import Candidate, PastTrial, PlanningContext, Prediction
from automl_gpt.training import LogRecord, Objective, TrainingLog, TrialState

MIN_TRIALS = 3
CURVE_POINTS = (25, 50, 75, 100)


def encode(config: Mapping[str, Any], space: SearchSpace) -> np.ndarray:
    """A configuration as a vector in [0, 1]^d (categoricals one-hot; inactive parameters at 0.5)."""
    values: list[float] = []
    for name, param in space.items():
        value = config.get(name)
        if isinstance(param, CategoricalParam):
            values.extend(0.5 if value is None else float(value == choice) for choice in param.choices)
            continue
        if value is None:
            values.append(0.5)
            continue
        low, high, number = float(param.low), float(param.high), float(value)
        if param.log:
            low, high, number = math.log(low), math.log(high), math.log(max(number, param.low))
        values.append(0.5 if high == low else (number - low) / (high - low))
    return np.asarray(values, dtype=float)


def normalised_curve(log: TrainingLog, metric: str) -> list[tuple[int, float]]:
    """The validation curve of ``metric`` sampled at 25/50/75/100 % of the training steps."""
    points = log.curve("valid", metric)
    if not points:
        return []
    last_step = points[-1][0] or 1
    curve = []
    for percent in CURVE_POINTS:
        target = last_step * percent / 100
        value = next((v for s, v in points if s >= target), points[-1][1])
        curve.append((percent, value))
    return curve


class SurrogatePredictor:
    """Kernel regression from configuration to final objective, plus the curve shape of the nearest trials."""

    name = "surrogate"

    def __init__(self, space: SearchSpace, objective: Objective, history: list[PastTrial],
                 bandwidth: float = 0.25) -> None:
        self.space = space
        self.objective = objective
        self.bandwidth = bandwidth
        self.trials = [t for t in history
                       if t.result.state != TrialState.FAIL and t.result.value(objective) is not None]

    @classmethod
    def for_context(cls, context: PlanningContext) -> SurrogatePredictor:
        return cls(context.space, context.objective, context.history)

    def predict(self, candidate: Candidate) -> Prediction | None:
        """Predicted final objective and curve; None until :data:`MIN_TRIALS` trials have finished."""
        if len(self.trials) < MIN_TRIALS:
            return None
        x = encode(candidate.config, self.space)
        features = np.stack([encode(t.config, self.space) for t in self.trials])
        targets = np.asarray([t.result.value(self.objective) for t in self.trials], dtype=float)
        distances = np.sqrt(((features - x) ** 2).mean(axis=1))
        weights = np.exp(-0.5 * (distances / self.bandwidth) ** 2) + 1e-12
        final = float((weights * targets).sum() / weights.sum())
        nearest = self.trials[int(np.argmin(distances))]
        shape = normalised_curve(nearest.result.log, self.objective.metric)
        log = TrainingLog()
        if shape:
            scale = final / shape[-1][1] if shape[-1][1] else 1.0
            for percent, value in shape:
                log.append(LogRecord(percent, "valid", self.objective.metric, value * scale))
        return Prediction(self.name, final, log)
