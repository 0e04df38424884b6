"""What a predicted metric value may be: the range a prediction must fall in before it is shown or scored.

LLM predictions are untrusted input. A value outside :func:`plausible_range` (a negative log-loss, an accuracy
above 1, a log-loss far above the trivial classifier's for the class count, a non-finite number) is rejected,
recorded, and never displayed or scored as a prediction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from automl_gpt.cards import DataCard

UNIT_METRICS = frozenset({"accuracy", "auc", "roc_auc", "balanced_accuracy", "precision", "recall", "bbox_mAP",
                          "bbox_mAP_50", "bbox_mAP_75", "r2"})
PERCENT_METRICS = frozenset({"exact_match", "f1"})  # SQuAD's official script reports percentages
ERROR_METRICS = frozenset({"rmse", "mae", "mse"})
LOGLOSS_FAR_ABOVE_TRIVIAL = 2.0  # a predicted log-loss over twice the uniform classifier's is implausible


def plausible_range(metric: str, data_card: DataCard | None = None) -> tuple[float, float]:
    """``(low, high)`` for a predicted value of ``metric`` on ``data_card`` (``-inf``/``inf`` where open)."""
    if metric == "logloss":
        classes = 2
        if data_card is not None:
            classes = max(2, len(data_card.class_balance or data_card.label_space or [0, 1]))
        return 0.0, LOGLOSS_FAR_ABOVE_TRIVIAL * math.log(classes)
    if metric in UNIT_METRICS:
        return (-1.0 if metric == "r2" else 0.0), 1.0
    if metric in PERCENT_METRICS:
        return 0.0, 100.0
    if metric in ERROR_METRICS:
        return 0.0, math.inf
    return -math.inf, math.inf


def implausible(values: Sequence[float], metric: str, data_card: DataCard | None = None) -> str | None:
    """Why ``values`` cannot be predictions of ``metric`` (the first offending value), or None when they can."""
    low, high = plausible_range(metric, data_card)
    for value in values:
        if not math.isfinite(value):
            return f"predicted {metric} {value} is not a finite number"
        if not low <= value <= high:
            return f"predicted {metric} {value:g} is outside the possible range [{low:g}, {high:g}]"
    return None
