"""The LLM's predicted training log of given configurations, checked like a plan's.

The ``llm`` planner gets a predicted curve with each plan it asks for. :func:`predict_logs` asks the same LLM,
through the same client (schema-constrained JSON, validation, repair, response cache), for the training log of
configurations it did not propose: another source's candidates, or a benchmark's pool, so that its predictions
can be scored beside the other predictors' on the same configurations. The prompt is the planner's paragraph
(data card, model card, constraints, experience, feedback) closed by the list of configurations and the request
(the ``build_log_prompt`` hook). Each answered curve passes the check a plan's curve passes
(:func:`curve_prediction`): an impossible value rejects that configuration's prediction, which is recorded and
never scored.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from automl_gpt.errors import LLMAuthError, LLMError
from automl_gpt.llm import GenerationSettings
from automl_gpt.planners.base import PlanningContext, Prediction
from automl_gpt.planners.plausibility import implausible, plausible_range
from automl_gpt.planners.surrogate import CURVE_POINTS
from automl_gpt.training import LogRecord, TrainingLog

if TYPE_CHECKING:
    from automl_gpt.cards import DataCard
    from automl_gpt.planners.llm_planner import JSONClient  # for type checking only: the planner imports this module

logger = logging.getLogger("automl_gpt.planner")

SYSTEM_PROMPT = (
    "You are AutoML-GPT, an expert machine-learning engineer. You read a data card and a model card and plan "
    "training runs: data processing, model architecture, hyper-parameters, and the training log you expect. "
    "Answer only with JSON that matches the given schema. Use only values inside the stated ranges."
)  # the LLM planner's too
LLM_PREDICTOR = "llm"
BATCH = 16  # configurations per call: their prompt and answer stay well inside a small local model's context
TOKENS_PER_CURVE = 120  # per configuration: a small model may write a number with 17 digits
PREDICTION_TIMEOUT_S = 300.0  # as a planning call: a small local model on busy cores is slow


def curve_key(metric: str) -> str:
    """The answer's field holding a predicted validation curve of ``metric``."""
    return f"predicted_valid_{metric}"


def curve_schema(context: PlanningContext) -> dict[str, Any]:
    """The JSON schema of one predicted curve: the validation metric at each of :data:`CURVE_POINTS` (percent of
    training), bounded by the metric's plausible range where it has bounds."""
    low, high = plausible_range(context.objective.metric, context.data_card)
    item: dict[str, Any] = {"type": "number"}
    item.update({k: v for k, v in (("minimum", low), ("maximum", high)) if math.isfinite(v)})
    return {"type": "array", "items": item, "minItems": len(CURVE_POINTS), "maxItems": len(CURVE_POINTS)}


def curve_prediction(answer: Mapping[str, Any], metric: str, data_card: DataCard | None = None,
                     clipped: Sequence[str] = ()) -> tuple[Prediction | None, str | None]:
    """The predicted curve in ``answer`` (a plan, or one item of a log prediction) as a :class:`Prediction`, or
    None and why it was rejected as impossible (None too when no curve was given).

    ``clipped`` are the LLM client's notes on the values of this answer it clipped into the schema's bounds: a
    curve value moved to a bound was impossible as the LLM gave it, and the bound is not its prediction.
    """
    key = curve_key(metric)
    moved = [note for note in clipped if f"/{key}/" in note or note.startswith(f"{key}/")]
    if moved:
        return None, "impossible value, clipped to the schema's bound by the client: " + "; ".join(moved)
    values = answer.get(key)
    if not isinstance(values, list) or len(values) != len(CURVE_POINTS):
        return None, None
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        return None, f"predicted {metric} curve holds a value that is not a number"
    reason = implausible(numbers, metric, data_card)
    if reason is not None:
        return None, reason
    log = TrainingLog(LogRecord(p, "valid", metric, v) for p, v in zip(CURVE_POINTS, numbers, strict=True))
    return Prediction(LLM_PREDICTOR, numbers[-1], log), None


def log_prediction_schema(context: PlanningContext, n: int) -> dict[str, Any]:
    """The JSON schema of the answer: one predicted curve for each of ``n`` configurations, in their order."""
    key = curve_key(context.objective.metric)
    item = {"type": "object", "properties": {key: curve_schema(context)}, "required": [key],
            "additionalProperties": False}
    return {
        "type": "object",
        "properties": {"predictions": {"type": "array", "items": item, "minItems": n, "maxItems": n}},
        "required": ["predictions"],
        "additionalProperties": False,
    }


def log_prediction_prompt(context: PlanningContext, configs: Sequence[Mapping[str, Any]]) -> str:
    """The ``build_log_prompt`` hook's paragraph: by default the planner's paragraph for ``context`` with
    ``configs`` and the request for their predicted logs in place of the request for plans."""
    from automl_gpt.plugins import get_plugin_manager

    return get_plugin_manager().hook.build_log_prompt(context=context, configs=[dict(c) for c in configs])


@dataclass
class LLMLogPrediction:
    """What the LLM predicted for one configuration: a :class:`Prediction`, or why there is none.

    ``rejected`` says why an impossible prediction was rejected (a value outside the metric's possible range,
    as given or before the client clipped it to the schema's bound); ``failed``
    why no prediction came (the call failed, or the answer had no curve for it); ``repairs`` lists the client's
    clipping of this item's values.
    """

    config: dict[str, Any]
    prediction: Prediction | None = None
    rejected: str | None = None
    failed: str | None = None
    repairs: list[str] = field(default_factory=list)


def predict_logs(context: PlanningContext, configs: Sequence[Mapping[str, Any]], client: JSONClient, *,
                 settings: GenerationSettings | None = None, batch: int = BATCH,
                 timeout_s: float = PREDICTION_TIMEOUT_S) -> list[LLMLogPrediction]:
    """The LLM's predicted training log of each of ``configs`` on ``context``'s dataset, in order, asked
    ``batch`` configurations per call (each given ``timeout_s``, unless ``settings`` say otherwise).

    A failed call leaves its batch without predictions (``failed``); a refused key stops with
    :class:`~automl_gpt.errors.LLMAuthError`, as in the planner. Rejections are logged.
    """
    results: list[LLMLogPrediction] = []
    for start in range(0, len(configs), max(1, batch)):
        chunk = [dict(c) for c in configs[start:start + max(1, batch)]]
        call = settings or GenerationSettings(temperature=0.0, max_tokens=40 + TOKENS_PER_CURVE * len(chunk),
                                              seed=context.seed, timeout_s=timeout_s)
        try:
            response = client.generate_json(log_prediction_prompt(context, chunk),
                                            log_prediction_schema(context, len(chunk)), system=SYSTEM_PROMPT,
                                            settings=call)
        except LLMAuthError:
            raise
        except LLMError as exc:
            logger.warning("llm log prediction: the LLM call failed (%s)", exc)
            results.extend(LLMLogPrediction(c, failed=f"the LLM call failed: {exc}") for c in chunk)
            continue
        items = response.data.get("predictions") if isinstance(response.data, dict) else None
        items = items if isinstance(items, list) else []
        repairs = list(response.repairs)
        for index, config in enumerate(chunk):
            item = items[index] if index < len(items) and isinstance(items[index], dict) else {}
            notes = [note for note in repairs if note.startswith(f"predictions/{index}/")]
            prediction, rejected = curve_prediction(item, context.objective.metric, context.data_card, notes)
            failed = None if prediction is not None or rejected is not None else "the answer has no curve for it"
            if rejected is not None:
                logger.warning("llm log prediction: configuration %d rejected: %s", start + index + 1, rejected)
            results.append(LLMLogPrediction(config, prediction, rejected, failed, notes))
    return results
