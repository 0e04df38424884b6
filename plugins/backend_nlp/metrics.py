"""Exact match and F1 exactly as the official SQuAD v1.1 evaluation script computes them.

The logic follows ``evaluate-v1.1.py`` (Rajpurkar et al., 2016): answers are lower-cased, stripped of punctuation
and of the articles a/an/the, and white-space normalised; F1 is over bag-of-tokens overlap; each question takes
its best score over its reference answers; totals are percentages over all questions (a missing prediction
scores 0).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from automl_gpt_backend_nlp.squad import QAExample

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lower text and remove punctuation, articles and extra white space (official v1.1 normalisation)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match_score(prediction: str, ground_truth: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(ground_truth))


def f1_score(prediction: str, ground_truth: str) -> float:
    """Token-overlap F1 of the normalised strings."""
    prediction_tokens = normalize_answer(prediction).split()
    truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def best_over_ground_truths(
    metric: Callable[[str, str], float], prediction: str, ground_truths: Iterable[str]
) -> float:
    """The best score of ``prediction`` against any reference answer."""
    return max(metric(prediction, truth) for truth in ground_truths)


def squad_scores(examples: Iterable[QAExample], predictions: Mapping[str, str]) -> dict[str, float]:
    """``{'exact_match': ..., 'f1': ...}`` in percent over ``examples``, as the official script reports them."""
    total = 0
    exact = f1 = 0.0
    for example in examples:
        total += 1
        if example.id not in predictions:
            continue
        truths = [a.text for a in example.answers]
        exact += best_over_ground_truths(exact_match_score, predictions[example.id], truths)
        f1 += best_over_ground_truths(f1_score, predictions[example.id], truths)
    if total == 0:
        return {"exact_match": float("nan"), "f1": float("nan")}
    return {"exact_match": 100.0 * exact / total, "f1": 100.0 * f1 / total}
