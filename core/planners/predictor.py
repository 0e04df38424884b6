"""A cross-dataset predictor of the training log, right from the first trial: the ``matrix`` predictor.

Offline part: the backend's performance matrix (:mod:`automl_gpt.planners.knowledge`) holds, for a pool of
configurations on hundreds of datasets, the real final validation value and the real learning curve, both divided by
the dataset's *trivial value* (what a constant predictor scores: the class prior's log-loss, the target's standard
deviation). On the datasets most similar to the card, each standardised (its pool results minus their mean, over
their standard deviation, so that every similar dataset has one vote on the *ranking*), an additive model of the
configuration (:func:`additive_basis` over the encoded space of :func:`automl_gpt.planners.surrogate.encode`, weighted
ridge regression) predicts any configuration, in the pool or not; near a pool configuration each dataset adds its own
residual there (a Gaussian kernel that fades to nothing away from the pool). The prediction is the similar datasets'
weighted mean level plus the predicted standardised score times their weighted spread, times the new dataset's
trivial value; the datasets' disagreement is its uncertainty. The curve is the similar datasets' curves near the
configuration, scaled to end at the predicted final value.

Online part: as the run's own trials finish, they join the additive model's data with a weight of their own
(:data:`OWN_TRIAL_WEIGHT`) and an intercept of their own (their shape matters, their level is this dataset's), the
similar datasets that rank them as they really ranked weigh more (:meth:`MatrixPredictor._agreement`), and the
prediction is rescaled by the median ratio of real to predicted values on this dataset.

Measured by ``benchmarks/predictor.py`` (leave-one-family-out) for pool configurations and for configurations left
out of the pool, as a TPE or LLM candidate is (median Spearman before any trial, classification / regression):
0.84 / 0.74 on pool configurations, 0.71 / 0.51 on new ones. Interpolating each dataset's results with a kernel
alone, as this predictor did before, gave 0.81 / 0.59 and 0.37 / 0.16.
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
RIDGE = 0.005  # L2 penalty of the additive model per unit of data weight (30 similar datasets x 64 results: ~10)
BASIS_CENTRES = np.linspace(0.0, 1.0, 5)  # per-dimension Gaussian bumps of the additive model
BASIS_WIDTH = 0.25
CONFIG_BANDWIDTH = 0.1  # kernel width of a dataset's own residual near a pool configuration (RMS distance)
RESIDUAL_PRIOR = 1.0  # kernel mass at which a dataset's residual counts half (far from the pool it fades to 0)
OWN_TRIAL_WEIGHT = 16.0  # one of the run's own trials weighs as much as this many pool results of a neighbour
AGREEMENT_FLOOR = 0.05  # a dataset that ranks every finished pair wrongly keeps a little weight
AGREEMENT_POWER = 2


def additive_basis(points: np.ndarray) -> np.ndarray:
    """Features of encoded configurations (rows in [0, 1]^d): an intercept, each coordinate, and Gaussian bumps
    along each coordinate, so that a linear model on them is a smooth additive function of the parameters."""
    points = np.atleast_2d(points)
    bumps = np.exp(-0.5 * ((points[:, :, None] - BASIS_CENTRES) / BASIS_WIDTH) ** 2).reshape(len(points), -1)
    return np.hstack([np.ones((len(points), 1)), points, bumps])


def weighted_ridge(features: np.ndarray, targets: np.ndarray, weights: np.ndarray, free: int = 1) -> np.ndarray:
    """Coefficients minimising the weighted squared error plus :data:`RIDGE` times the total weight times their
    squared norm (a prior as strong for a small pool as for a large one), the first ``free`` ones (intercepts)
    unpenalised."""
    penalty = RIDGE * float(weights.sum()) * np.eye(features.shape[1])
    penalty[range(free), range(free)] = 0.0
    return np.linalg.solve(features.T @ (features * weights[:, None]) + penalty, features.T @ (weights * targets))


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
        rows = [d for d in matrix.datasets if d.name in weights and any(v is not None for v in d.values)]
        self.weights = np.asarray([weights[d.name] for d in rows], dtype=float)
        self.pool = np.stack([encode(c, space) for c in matrix.configs]) if matrix.configs else np.zeros((0, 0))
        self.pool_basis = additive_basis(self.pool) if self.pool.size else np.zeros((0, 0))
        ratios = np.asarray([[np.nan if v is None else v / d.trivial for v in d.values] for d in rows],
                            dtype=float).reshape(len(rows), len(matrix.configs))
        self.known = ~np.isnan(ratios)
        self.centres = np.nanmean(ratios, axis=1) if len(rows) else np.zeros(0)
        spreads = np.nanstd(ratios, axis=1) if len(rows) else np.zeros(0)
        self.spreads = np.where(spreads > 1e-9, spreads, 1.0)
        self.scores = (ratios - self.centres[:, None]) / self.spreads[:, None]  # standardised per dataset
        curve_len = len(self.fractions)
        curves = np.asarray(
            [[c if c is not None and len(c) == curve_len else [np.nan] * curve_len for c in d.curves] for d in rows],
            dtype=float,
        ).reshape(len(rows), len(matrix.configs), curve_len)
        self.curve_known = ~np.isnan(curves)
        self.curves = np.where(self.curve_known, curves, 0.0)
        self.history = [t for t in history
                        if t.result.state == TrialState.COMPLETE and t.result.value(objective) is not None]
        self.ready = bool(len(rows) and self.pool.size and self.weights.sum() > 0)
        if not self.ready:
            return
        agreed = self.weights * self._agreement()
        self.weights = agreed / agreed.sum()
        # the similar datasets' weighted mean level and spread: a standardised score's units on this dataset
        self.centre, self.spread = float(self.weights @ self.centres), float(self.weights @ self.spreads)
        self.coefficients = self._fit()
        self.residuals = np.where(self.known, self.scores - self.pool_basis @ self.coefficients, 0.0)
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

    def _kernel(self, point: np.ndarray) -> np.ndarray:
        """Gaussian kernel between an encoded configuration and every pool configuration."""
        distances = np.sqrt(((self.pool - point) ** 2).mean(axis=1))
        return np.exp(-0.5 * (distances / CONFIG_BANDWIDTH) ** 2)

    def _fit(self) -> np.ndarray:
        """The additive model of standardised scores, fitted on the similar datasets' pool results (each weighed
        by its dataset's weight) and on the run's own trials, which get their own intercept (their level on this
        dataset is not known in standardised units; their shape is what counts)."""
        datasets, configs = np.nonzero(self.known)
        features, targets = self.pool_basis[configs], self.scores[datasets, configs]
        point_weights = self.weights[datasets] / self.weights.mean()  # an average similar dataset's result weighs 1
        if not self.history:
            return weighted_ridge(features, targets, point_weights)
        own = additive_basis(np.stack([encode(t.config, self.space) for t in self.history]))
        real = np.asarray([float(t.result.value(self.objective) or 0.0) for t in self.history]) / self.trivial
        is_own = np.concatenate([np.zeros(len(features)), np.ones(len(own))])[:, None]
        features = np.hstack([is_own, np.vstack([features, own])])
        targets = np.concatenate([targets, (real - self.centre) / self.spread])
        point_weights = np.concatenate([point_weights, np.full(len(own), OWN_TRIAL_WEIGHT)])
        return weighted_ridge(features, targets, point_weights, free=2)[1:]  # the run's own intercept dropped

    def _dataset_scores(self, point: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """Each similar dataset's standardised score for an encoded configuration (``kernel``: its kernel to the
        pool): the additive model, plus that dataset's own residual at nearby pool configurations (fading to 0 away
        from the pool)."""
        shared = float(additive_basis(point[None, :])[0] @ self.coefficients)
        residual = (self.residuals * kernel).sum(axis=1) / ((self.known * kernel).sum(axis=1) + RESIDUAL_PRIOR)
        return shared + residual

    def _offline(self, config: dict[str, Any]) -> tuple[float, float, np.ndarray] | None:
        """(predicted ratio, its spread, the predicted curve of ratios) from the matrix alone."""
        if not self.ready:
            return None
        weights = self.weights
        point = encode(config, self.space)
        kernel = self._kernel(point)
        scores = self._dataset_scores(point, kernel)
        mean = self.centre + float(weights @ scores) * self.spread
        values = self.centres + scores * self.spreads
        spread = float(math.sqrt(max(0.0, weights @ (values - weights @ values) ** 2)))
        curve_kernel = kernel[None, :, None] + 1e-12  # far from the pool, every pool curve counts alike
        curve = (self.curves * curve_kernel).sum(axis=1) / np.maximum(
            (self.curve_known * curve_kernel).sum(axis=1), 1e-12)
        curve_mean = (weights[:, None] * curve).sum(axis=0)
        if curve_mean[-1] > 0:
            curve_mean = curve_mean * (mean / curve_mean[-1])  # the curve ends at the predicted final value
        return max(mean, 0.0), spread, curve_mean

    # -- online part -----------------------------------------------------------------------------------------

    def _agreement(self) -> np.ndarray:
        """Per similar dataset, how well it ranks the run's finished trials as they really ranked: the share of
        concordant pairs, raised to :data:`AGREEMENT_POWER` (1 for every dataset before two trials have finished).
        A dataset's ranking is its pool results interpolated at the trials' configurations. Datasets that order
        this run's configurations the way this dataset does count more from then on."""
        if len(self.history) < 2:
            return np.ones(len(self.weights))
        kernels = np.stack([self._kernel(encode(t.config, self.space)) + 1e-12 for t in self.history])  # trials x pool
        scores = np.where(self.known, self.scores, 0.0)
        predicted = (scores @ kernels.T) / np.maximum(self.known @ kernels.T, 1e-12)  # datasets x trials
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
        return Prediction(self.name, ratio * unit, log, uncertainty=spread * unit)


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
