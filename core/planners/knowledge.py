"""Shipped knowledge: a performance matrix of configurations x datasets, and the portfolio learned from it.

A backend may ship a :class:`PerformanceMatrix` per model card
(:meth:`automl_gpt.training.Backend.performance_matrices`; :func:`shipped_matrix` finds a card's): a pool
of configurations, each trained for real on every dataset of a public suite, with its final validation value and
its learning curve. From it, for a new data card:

- :func:`neighbour_weights` weighs the suite's datasets by similarity to the card (meta-features, plus the card
  text when the ``[transfer]`` extra gives embeddings), same task family only;
- :func:`greedy_portfolio` picks the ordered configurations that maximise the weighted expected normalised
  improvement over the defaults (greedy portfolio construction, as FLAML's zero-shot defaults and auto-sklearn
  2.0's portfolios): the first pick is the configuration with the best weighted mean score over similar datasets,
  so it is robust rather than the best of one neighbour, and it is the defaults themselves where they win;
- :class:`MatrixPredictor` predicts a candidate's training log before any trial (see
:mod:`automl_gpt.planners.predictor`).

Scores are normalised per dataset: 0 = the defaults, 1 = the best configuration of the pool, clipped to [-1, 1];
a failed training scores -1.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from automl_gpt.cards.model_choice import ModelChoice
from automl_gpt.cards.search_space import SearchSpace
from automl_gpt.cards.similarity import CardProfile, combined_similarity
from automl_gpt.errors import UsageError
from automl_gpt.planners.base import Candidate, Experience
from automl_gpt.planners.transfer import adapt_config

if TYPE_CHECKING:
    from automl_gpt.cards import ModelCard

FORMAT = "automl-gpt-performance-matrix"
FORMAT_VERSION = 1
CLASSIFICATION = ("binary", "multiclass")
NEIGHBOURS = 30  # similar datasets weighed into the predictor
# Similar datasets weighed into a card's portfolio where the 30 nearest are not what measured best, per (model card,
# task family); None: every dataset of the family, by similarity. Measured leave-one-family-out (docs/benchmarks.md,
# run E): XGBoost on classification, first trial beats the defaults 65 % vs 61 % on its 64-configuration matrix and
# 82 % vs 76 % with real training on run D's subset. XGBoost on regression, and the linear and histogram gradient
# boosting cards on classification, do better with the 30 nearest.
PORTFOLIO_NEIGHBOURS: dict[tuple[str, str], int | None] = {("xgboost", "classification"): None}
PORTFOLIO_SIZE = 9
FIRST_RULE = "mean"  # how the first configuration is picked, see greedy_portfolio
MIN_GAP = 0.01  # a gap between defaults and best under 1 % of the defaults' value counts as 1 %


def task_family(task: str) -> str:
    """``classification`` or the task itself: configurations transfer across binary and multiclass tables."""
    return "classification" if task in CLASSIFICATION else task


@dataclass
class MatrixDataset:
    """One dataset of the matrix: its profile and, per pool configuration, the validation value and curve."""

    name: str
    task: str
    metric: str
    family: str
    trivial: float
    meta: dict[str, float]
    values: list[float | None]
    curves: list[list[float] | None] = field(default_factory=list)
    text: str = ""
    embedding: list[float] = field(default_factory=list)

    def scores(self, default_index: int = 0) -> np.ndarray:
        """Normalised scores of every pool configuration (0 = defaults, 1 = best, failures -1), in [-1, 1]."""
        values = np.array([np.nan if v is None else v for v in self.values], dtype=float)
        default = values[default_index]
        done = values[~np.isnan(values)]
        if math.isnan(default) or not len(done):
            return np.where(np.isnan(values), -1.0, 0.0)
        gap = max(default - float(done.min()), MIN_GAP * abs(default), 1e-12)
        return np.clip(np.where(np.isnan(values), -1.0, (default - values) / gap), -1.0, 1.0)

    def profile(self) -> CardProfile:
        return CardProfile(np.asarray(self.embedding, dtype=np.float32), dict(self.meta), self.task)


@dataclass
class PerformanceMatrix:
    """Configurations x datasets, as :mod:`benchmarks/mine_knowledge.py` mines them (``configs[0]`` = defaults)."""

    backend: str
    configs: list[dict[str, Any]]
    datasets: list[MatrixDataset]
    fractions: list[float]
    limits: dict[str, Any] = field(default_factory=dict)
    embedding_model: str = ""
    model_card: str = ""  # the model card the pool was trained with ("": the backend's name)

    @property
    def card(self) -> str:
        return self.model_card or self.backend

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": FORMAT_VERSION, "backend": self.backend, "model_card": self.card,
            "limits": self.limits,
            "fractions": self.fractions, "embedding_model": self.embedding_model, "configs": self.configs,
            "datasets": [d.__dict__ for d in self.datasets],
        }

    def write(self, path: Path) -> None:
        """Gzipped JSON with reproducible bytes (no time stamp or file name in the gzip header)."""
        text = json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))

    @classmethod
    def read(cls, path: Path) -> PerformanceMatrix:
        """The matrix in ``path``; :class:`UsageError` naming the file when it is not one."""
        try:
            payload = json.loads(gzip.decompress(Path(path).read_bytes()).decode("utf-8"))
            if payload.get("format") != FORMAT or int(payload.get("version", 0)) > FORMAT_VERSION:
                raise ValueError(f'not a version-{FORMAT_VERSION} "{FORMAT}"')
            return cls(
                backend=str(payload["backend"]),
                configs=[dict(c) for c in payload["configs"]],
                datasets=[MatrixDataset(**d) for d in payload["datasets"]],
                fractions=[float(f) for f in payload["fractions"]],
                limits=dict(payload.get("limits") or {}),
                embedding_model=str(payload.get("embedding_model") or ""),
                model_card=str(payload.get("model_card") or ""),
            )
        except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"performance matrix {path} cannot be read ({exc}); reinstall automl-gpt") from None

    def without(self, names: set[str]) -> PerformanceMatrix:
        """The same matrix without the datasets (or families) named (a leave-one-family-out)."""
        kept = [d for d in self.datasets if d.name not in names and d.family not in names]
        return PerformanceMatrix(self.backend, self.configs, kept, self.fractions, self.limits, self.embedding_model,
                                 self.model_card)


@functools.cache
def read_matrix(path: Path) -> PerformanceMatrix:
    """:meth:`PerformanceMatrix.read`, once per process and file."""
    return PerformanceMatrix.read(path)


def shipped_matrix(model_card: ModelCard) -> tuple[Path, PerformanceMatrix] | None:
    """The matrix (and its file) that the card's backend ships for this model card: the one mined with a card of
    the same name. None when it ships none for it (another card's configurations and scores would lend this card
    results it never earned)."""
    from automl_gpt.plugins import get_plugin_manager

    backend = get_plugin_manager().backends().get(model_card.backend)
    for path in backend.performance_matrices() if backend is not None else []:
        matrix = read_matrix(Path(path))
        if matrix.card == model_card.name:
            return Path(path), matrix
    return None


def neighbour_weights(
    matrix: PerformanceMatrix, profile: CardProfile, *, text_weight: float, k: int | None = NEIGHBOURS
) -> dict[str, float]:
    """Similarity of the ``k`` most similar datasets of the same task family (the rest weigh 0; ``k`` None: all).

    With ``text_weight`` 0 (no text encoder) similarity is by meta-features alone; so it is for a matrix whose
    datasets carry no embedding.
    """
    same = [d for d in matrix.datasets if task_family(d.task) == task_family(profile.task)]
    use_text = text_weight > 0 and profile.embedding.size > 0
    scored = []
    for dataset in same:
        other = dataset.profile()
        weight = text_weight if use_text and other.embedding.size == profile.embedding.size else 0.0
        scored.append((combined_similarity(profile, other, text_weight=weight), dataset.name))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return {name: similarity for similarity, name in scored[:k]}


def portfolio_neighbours(card: str, task: str) -> int | None:
    """How many similar datasets the portfolio of model card ``card`` weighs for a ``task``
    (:data:`PORTFOLIO_NEIGHBOURS`, else :data:`NEIGHBOURS`)."""
    return PORTFOLIO_NEIGHBOURS.get((card, task_family(task)), NEIGHBOURS)


def greedy_portfolio(
    matrix: PerformanceMatrix, weights: Mapping[str, float], size: int = PORTFOLIO_SIZE, *, first: str = FIRST_RULE
) -> list[int]:
    """Indices of ``size`` pool configurations, in hand-out order, greedily maximising
    ``sum_d w_d * max(score of d over the chosen configurations)`` (each pick adds the most expected improvement
    over what was picked before).

    The first pick is the most robust one: with ``first="wins"`` the configuration that beats the defaults on
    the largest weighted share of similar datasets (ties: the better weighted mean score); with ``"mean"`` the
    best weighted mean score.
    """
    rows = [(weights[d.name], d.scores()) for d in matrix.datasets if weights.get(d.name, 0.0) > 0]
    if not rows:
        return []
    weight = np.asarray([w for w, _ in rows])
    scores = np.stack([s for _, s in rows])
    best = np.full(len(rows), -np.inf)
    chosen: list[int] = []
    for _ in range(min(size, scores.shape[1])):
        gains = (weight[:, None] * np.maximum(best[:, None], scores)).sum(axis=0)
        if not chosen and first == "wins":
            gains = (weight[:, None] * (scores > 0)).sum(axis=0) + 1e-6 * gains
        gains[chosen] = -np.inf
        pick = int(np.argmax(gains))
        chosen.append(pick)
        best = np.maximum(best, scores[:, pick])
    return chosen


def portfolio_candidates(
    matrix: PerformanceMatrix, profile: CardProfile, space: SearchSpace, *, text_weight: float,
    size: int = PORTFOLIO_SIZE,
) -> list[Candidate]:
    """The learned portfolio for a new dataset, as transfer candidates adapted to ``space``."""
    k = portfolio_neighbours(matrix.card, profile.task)
    weights = neighbour_weights(matrix, profile, text_weight=text_weight, k=k)
    return [
        Candidate(adapt_config(matrix.configs[i], space), source="transfer",
                  rationale=portfolio_rationale(matrix, weights, i))
        for i in greedy_portfolio(matrix, weights, size)
    ]


def portfolio_rationale(matrix: PerformanceMatrix, weights: Mapping[str, float], index: int) -> str:
    """Why a pool configuration was picked: how often it beats the defaults on the weighed datasets."""
    similar = [d for d in matrix.datasets if weights.get(d.name, 0.0) > 0]
    wins = sum(1 for d in similar if d.scores()[index] > 0)
    mean = sum(weights[d.name] * d.scores()[index] for d in similar) / max(1e-12, sum(weights[d.name] for d in similar))
    label = "the defaults" if index == 0 else f"pool configuration #{index}"
    return (f"portfolio: {label}, beats the defaults on {wins} of {len(similar)} similar datasets "
            f"(weighted mean normalised score {mean:+.2f})")


def trivial_value(task: str, class_balance: Sequence[float] | None, target_std: float | None) -> float:
    """What a constant predictor scores (the scale of the tabular objectives): the class prior's log-loss, or the
    target's standard deviation (RMSE)."""
    if task in CLASSIFICATION and class_balance:
        shares = [s for s in class_balance if s > 0]
        total = sum(shares)
        return float(-sum(s / total * math.log(s / total) for s in shares)) or 1e-6
    return float(target_std) if target_std else 1.0


def experience_by_member(card: ModelCard, find: Callable[[ModelCard], list[Experience]]) -> list[Experience]:
    """Similar past datasets for the members of a choice (``find`` for one card), their configurations embedded in
    the union; most similar first. ``find(card)`` alone for a single card.

    The user's own runs count for the card they trained. The backend's shipped knowledge counts for the cards it was
    mined with only (:func:`knowledge_cards`): adapting those configurations to another card would lend that card
    scores it never earned.
    """
    if not isinstance(card, ModelChoice):
        return find(card)
    from dataclasses import replace

    knowledge = knowledge_cards(card)
    found = [replace(e, configs=[card.embed(member.name, c) for c in e.configs],
                     description=f"{member.name}: {e.description}" if e.description else member.name)
             for member in card.members for e in find(member) if e.origin == "user" or member.name in knowledge]
    return sorted(found, key=lambda e: e.transfer_weight, reverse=True)


def portfolio_by_member(card: ModelCard, find: Callable[[ModelCard], list[Candidate]]) -> list[Candidate]:
    """The learned first configurations (``find`` for one card) of every member the backend's shipped knowledge
    describes, embedded in the union and interleaved (each card's first pick, then each card's second...;
    ``find(card)`` for a single card)."""
    if not isinstance(card, ModelChoice):
        return find(card)
    from dataclasses import replace
    from itertools import zip_longest

    knowledge = knowledge_cards(card)
    per_member = [[replace(c, config=card.embed(m.name, c.config)) for c in find(m)]
                  for m in card.members if m.name in knowledge]
    return [c for picks in zip_longest(*per_member) for c in picks if c is not None]


def knowledge_cards(card: ModelChoice) -> set[str]:
    """The members a backend's shipped knowledge describes: those it ships a performance matrix for
    (:func:`shipped_matrix`); without any, its first (default) model card, which is
    what a knowledge base export describes."""
    from automl_gpt.plugins import get_plugin_manager

    mined = {m.name for m in card.members if shipped_matrix(m) is not None}
    if mined:
        return mined
    backend = get_plugin_manager().backends().get(card.backend)
    first = str(backend.model_cards()[0].name) if backend is not None and backend.model_cards() else ""
    return {first} & {m.name for m in card.members}
