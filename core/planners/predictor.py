"""A cross-dataset predictor of the training log, right from the first trial: the ``matrix`` predictor.

Offline part: the backend's performance matrix (:mod:`automl_gpt.planners.knowledge`) holds, for a pool of
configurations on hundreds of datasets, the real final validation value and the real learning curve, both divided by the
dataset's *trivial value* (what a constant predictor scores: the class prior's log-loss, the target's standard
deviation). For a candidate configuration, each similar dataset's value is interpolated from its nearest pool
configurations (Gaussian kernel in the encoded space of :func:`automl_gpt.planners.surrogate.encode`); the weighted mean
over similar datasets, times the new dataset's trivial value, is the prediction, and their weighted spread its
uncertainty.

Online part (what the run-only surrogate predictor did alone before): as the run's own trials finish, the similar
datasets that rank them as they really ranked weigh more (:meth:`MatrixPredictor._agreement`), and the prediction
is rescaled by the median ratio of real to predicted values on this dataset. (A kernel regression of the remaining
residuals over the run's configurations, tried too, lowered the rank correlation after 5 trials from 0.82 to 0.70 on
classification and from 0.63 to 0.56 on regression: ``benchmarks/predictor.py``.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from automl_gpt.cards import DataCard
from automl_gpt.cards.search_space import SearchSpace
from automl_gpt.cards.similarity import CardProfile, read_train_table
from automl_gpt.planners.base import Candidate, PastTrial, PlanningContext, Prediction
from automl_gpt.planners.knowledge import CLASSIFICATION, PerformanceMatrix, neighbour_weights, trivial_value
from automl_gpt.planners.surrogate import SurrogatePredictor, encode
from automl_gpt.training import LogRecord, Objective, TrainingLog, TrialState

if TYPE_CHECKING:
    from automl_gpt.cards.model_choice import ModelChoice

NAME = "matrix"
CONFIG_BANDWIDTH = 0.15  # kernel width over encoded configurations (RMS distance in [0, 1]^d)
AGREEMENT_FLOOR = 0.05  # a dataset that ranks every finished pair wrongly keeps a little weight
AGREEMENT_POWER = 4


def card_trivial_value(card: DataCard) -> float | None:
    """The card's trivial value (:func:`automl_gpt.planners.knowledge.trivial_value`): from its class balance, else
    from the training file's target column; None when neither can be read."""
    if card.task in CLASSIFICATION and card.class_balance:
        return trivial_value(card.task, list(card.class_balance.values()), None)
    frame = read_train_table(card) if card.target else None
    if frame is None or card.target not in frame.columns:
        return None
    import pandas as pd

    target = frame[card.target]
    if card.task in CLASSIFICATION:
        return trivial_value(card.task, [float(s) for s in target.value_counts(normalize=True)], None)
    std = float(pd.to_numeric(target, errors="coerce").std())
    return std if math.isfinite(std) and std > 0 else None


class MatrixPredictor:
    """Predicts the final validation value and the curve of a configuration on a new dataset (see module doc)."""

    name = NAME

    def __init__(self, matrix: PerformanceMatrix, profile: CardProfile, trivial: float, space: SearchSpace,
                 objective: Objective, history: Sequence[PastTrial] = (), *, text_weight: float = 0.0) -> None:
        self.space = space
        self.objective = objective
        self.trivial = trivial
        self.fractions = matrix.fractions
        weights = neighbour_weights(matrix, profile, text_weight=text_weight)
        rows = [d for d in matrix.datasets if d.name in weights]
        self.weights = np.asarray([weights[d.name] for d in rows], dtype=float)
        self.pool = np.stack([encode(c, space) for c in matrix.configs]) if matrix.configs else np.zeros((0, 0))
        self.ratios = np.asarray([[np.nan if v is None else v / d.trivial for v in d.values] for d in rows],
                                 dtype=float).reshape(len(rows), len(matrix.configs))
        curve_len = len(self.fractions)
        self.curves = np.asarray(
            [[c if c is not None and len(c) == curve_len else [np.nan] * curve_len for c in d.curves] for d in rows],
            dtype=float,
        ).reshape(len(rows), len(matrix.configs), curve_len)
        self.history = [t for t in history
                        if t.result.state == TrialState.COMPLETE and t.result.value(objective) is not None]
        self.weights = self.weights * self._agreement()
        self.scale = self._scale()

    @classmethod
    def for_context(cls, context: PlanningContext) -> MatrixPredictor | None:
        """The predictor for a run, or None when the backend ships no matrix or the card's trivial value is unknown."""
        from automl_gpt.planners.knowledge import shipped_matrix

        found = shipped_matrix(context.model_card)  # the one mined with the run's model card
        if found is None:
            return None
        path, matrix = found
        profile, trivial, text_weight = _card_facts(path, context.data_card)
        if trivial is None:
            return None
        return cls(matrix, profile, trivial, context.space, context.objective, context.history,
                   text_weight=text_weight)

    # -- offline part ----------------------------------------------------------------------------------------

    def _kernel(self, config: dict[str, Any]) -> np.ndarray:
        distances = np.sqrt(((self.pool - encode(config, self.space)) ** 2).mean(axis=1))
        return np.exp(-0.5 * (distances / CONFIG_BANDWIDTH) ** 2) + 1e-12

    def _per_dataset(self, kernel: np.ndarray) -> np.ndarray:
        """Each similar dataset's value (ratio) for a configuration, interpolated over the pool."""
        known = ~np.isnan(self.ratios)
        return (np.where(known, self.ratios, 0.0) * kernel).sum(axis=1) / np.maximum((known * kernel).sum(axis=1),
                                                                                     1e-12)

    def _offline(self, config: dict[str, Any]) -> tuple[float, float, np.ndarray] | None:
        """(predicted ratio, its spread, the predicted curve of ratios) from the matrix alone."""
        if not len(self.weights) or not self.pool.size or not self.weights.sum() > 0:
            return None
        kernel = self._kernel(config)
        per_dataset = self._per_dataset(kernel)
        usable = ~np.isnan(self.ratios).all(axis=1) & (self.weights > 0)
        if not usable.any():
            return None
        weights = self.weights[usable] / self.weights[usable].sum()
        values = per_dataset[usable]
        mean = float((weights * values).sum())
        spread = float(math.sqrt(max(0.0, (weights * (values - mean) ** 2).sum())))
        curve_known = ~np.isnan(self.curves)
        curve = (np.where(curve_known, self.curves, 0.0) * kernel[None, :, None]).sum(axis=1) / np.maximum(
            (curve_known * kernel[None, :, None]).sum(axis=1), 1e-12)
        curve_mean = (weights[:, None] * curve[usable]).sum(axis=0)
        if curve_mean[-1] > 0:
            curve_mean = curve_mean * (mean / curve_mean[-1])  # the curve ends at the predicted final value
        return mean, spread, curve_mean

    # -- online part -----------------------------------------------------------------------------------------

    def _agreement(self) -> np.ndarray:
        """Per similar dataset, how well it ranks the run's finished trials as they really ranked: the share of
        concordant pairs, raised to :data:`AGREEMENT_POWER` (1 for every dataset before two trials have finished).
        Datasets that order this run's configurations the way this dataset does count more from then on."""
        if len(self.history) < 2 or not len(self.weights):
            return np.ones(len(self.weights))
        predicted = np.stack([self._per_dataset(self._kernel(t.config)) for t in self.history], axis=1)
        real = np.asarray([t.result.value(self.objective) for t in self.history], dtype=float)
        i, j = np.triu_indices(len(real), k=1)
        real_order = np.sign(real[i] - real[j])
        counted = real_order != 0
        if not counted.any():
            return np.ones(len(self.weights))
        concordant = (np.sign(predicted[:, i] - predicted[:, j]) == real_order)[:, counted].mean(axis=1)
        return (AGREEMENT_FLOOR + concordant) ** AGREEMENT_POWER

    def _scale(self) -> float:
        """The median ratio of real to predicted values over the run's finished trials (1 before the first)."""
        ratios = []
        for trial in self.history:
            offline = self._offline(trial.config)
            real = trial.result.value(self.objective)
            if offline is not None and real is not None and offline[0] > 0:
                ratios.append(float(real) / (offline[0] * self.trivial))
        return float(np.median(ratios)) if ratios else 1.0

    def predict(self, candidate: Candidate) -> Prediction | None:
        """The predicted final validation value and curve (log steps: percent of the planned rounds)."""
        offline = self._offline(candidate.config)
        if offline is None:
            return None
        ratio, spread, curve = offline
        unit = self.trivial * self.scale
        metric = self.objective.metric
        log = TrainingLog(LogRecord(round(fraction * 100), "valid", metric, max(float(value) * unit, 0.0))
                          for fraction, value in zip(self.fractions, curve, strict=True))
        return Prediction(self.name, max(ratio * unit, 0.0), log, uncertainty=spread * unit)


_CARD_FACTS: dict[tuple[Path, str], tuple[CardProfile, float | None, float]] = {}
MAX_CARD_FACTS = 16


def _card_facts(matrix_path: Path, card: DataCard) -> tuple[CardProfile, float | None, float]:
    """A card's profile, trivial value and text weight for a matrix, computed once per card and file (they read
    its data and may run the text encoder), not once per candidate."""
    from automl_gpt.cards.similarity import CardEmbedder, card_key, text_encoder_installed
    from automl_gpt.planners.knowledge import read_matrix

    key = (matrix_path, card_key(card))
    if key not in _CARD_FACTS:
        if len(_CARD_FACTS) >= MAX_CARD_FACTS:
            _CARD_FACTS.clear()
        embedder = CardEmbedder(text=text_encoder_installed() and bool(read_matrix(matrix_path).embedding_model))
        _CARD_FACTS[key] = (embedder.profile(card), card_trivial_value(card), embedder.text_weight)
    return _CARD_FACTS[key]


class ChoicePredictor:
    """The predictor of a run over several model cards: a candidate is predicted by the ``matrix`` predictor of the
    card it chose (its configuration and the run's trials of that card resolved to the card's own parameters),
    by the run-only ``surrogate`` over the union where that card has no matrix."""

    def __init__(self, card: ModelChoice, members: dict[str, MatrixPredictor], fallback: SurrogatePredictor) -> None:
        self.card, self.members, self.fallback = card, members, fallback

    @classmethod
    def for_context(cls, context: PlanningContext) -> ChoicePredictor:
        from dataclasses import replace

        from automl_gpt.cards.model_choice import ModelChoice, trials_by_member

        card = context.model_card
        assert isinstance(card, ModelChoice)
        history = dict(trials_by_member(card, context.history))
        members = {}
        for member in card.members:
            own = replace(context, model_card=member, space=member.space(), history=history.get(member.name, []))
            predictor = MatrixPredictor.for_context(own)
            if predictor is not None:
                members[member.name] = predictor
        return cls(card, members, SurrogatePredictor.for_context(context))

    def predict(self, candidate: Candidate) -> Prediction | None:
        from dataclasses import replace

        from automl_gpt.cards.model_choice import resolve

        member, config = resolve(self.card, candidate.config)
        predictor = self.members.get(member.name)
        if predictor is None:
            return self.fallback.predict(candidate)
        return predictor.predict(replace(candidate, config=config, predictions=[]))


def predictor_for(context: PlanningContext) -> MatrixPredictor | ChoicePredictor | SurrogatePredictor:
    """The run's predictor as its history stands: the ``matrix`` one where the backend ships a matrix for the run's
    model card (for a choice of cards, each card's own: :class:`ChoicePredictor`), else the run-only
    ``surrogate``. Build it once to predict several candidates."""
    from automl_gpt.cards.model_choice import ModelChoice

    if isinstance(context.model_card, ModelChoice):
        return ChoicePredictor.for_context(context)
    return MatrixPredictor.for_context(context) or SurrogatePredictor.for_context(context)


def expected_improvement(prediction: Prediction, best: float | None, direction: str) -> float:
    """Expected improvement of a prediction over ``best`` (larger is better); the negated mean without a best or
    an uncertainty, so that ranking by it is ranking by the predicted value."""
    if prediction.final is None:
        return -math.inf
    sign = 1.0 if direction == "minimize" else -1.0
    if best is None or not prediction.uncertainty:
        return -sign * prediction.final
    gap = sign * (best - prediction.final)
    z = gap / prediction.uncertainty
    cdf = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return gap * cdf + prediction.uncertainty * pdf
