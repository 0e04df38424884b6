"""The ``xgboost`` backend: binary and multiclass classification and regression on tables.

It trains three model cards: ``xgboost`` (:mod:`.trainer`), ``hist_gradient_boosting``
(:mod:`.hist_gradient_boosting`) and ``linear`` (:mod:`.linear`); a card's ``options.learner`` says which (XGBoost
when absent, so a hand-written card keeps training XGBoost). The backend keeps its historical name ``xgboost``
for runs, stores and scripts that name it. This module stays light (no XGBoost, pandas or scikit-learn at import).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend, Objective, TrainingRequest, TrialResult, TrialState

if TYPE_CHECKING:  # pydantic and yaml load only when cards are needed, keeping `plugins list` fast
    from automl_gpt.cards import DataCard, ModelCard
    from automl_gpt.prediction import TablePredictor
    from automl_gpt.runs.ensemble import Ensemble, EnsembleRequest
    from automl_gpt_backend_tabular.sklearn_trial import Learner

MODEL_CARDS = Path(__file__).parent / "model_cards"
KNOWLEDGE = Path(__file__).parent / "knowledge"
CARD_FILES = ("xgboost", "hist_gradient_boosting", "linear")
# Parameters that apply to some tasks only: each card file becomes one card per distinct parameter set.
TASK_ONLY: dict[str, dict[str, tuple[str, ...]]] = {
    "xgboost": {"reweight_classes": ("binary",), "scale_pos_weight": ("binary",)},
    "linear": {"C": ("binary", "multiclass"), "penalty": ("binary",), "alpha": ("regression",)},
}
LEARNERS = ("xgboost", "hist_gradient_boosting", "linear")


class XGBoostBackend(Backend):
    """XGBoost, histogram gradient boosting and a linear model; the search optimises validation log-loss (RMSE for
    regression)."""

    name = "xgboost"
    description = "XGBoost, scikit-learn histogram gradient boosting and linear models on CSV/Parquet tables"
    tasks = frozenset({"binary", "multiclass", "regression"})
    requirements = Requirements(extra="tabular", modules=("xgboost", "sklearn"))

    def model_cards(self) -> list[ModelCard]:
        """``xgboost`` (first: the default), ``hist_gradient_boosting`` and ``linear``, each split by task where
        some of its parameters apply to some tasks only (``xgboost``'s class weights to binary tasks)."""
        return list(_model_cards())

    def objective(self, data_card: DataCard) -> Objective:
        metric = "rmse" if data_card.task == "regression" else "logloss"
        return Objective(metric, "minimize")

    def check_data(self, data_card: DataCard) -> None:
        from automl_gpt_backend_tabular.data import check_card

        check_card(data_card)

    def train(self, request: TrainingRequest) -> TrialResult:
        from automl_gpt_backend_tabular.trainer import run_trial

        learner = request.model_card.options.get("learner", "xgboost")
        chosen: type[Learner]
        if learner == "hist_gradient_boosting":
            from automl_gpt_backend_tabular.hist_gradient_boosting import HistGradientBoostingLearner

            chosen = HistGradientBoostingLearner
        elif learner == "linear":
            from automl_gpt_backend_tabular.linear import LinearLearner

            chosen = LinearLearner
        elif learner == "xgboost":
            return run_trial(request)
        else:
            return TrialResult(TrialState.FAIL, error=f"model card {request.model_card.name}: unknown options.learner "
                                                      f"{learner!r} (known: {', '.join(LEARNERS)})")
        from automl_gpt_backend_tabular.sklearn_trial import SklearnTrial

        return run_trial(request, lambda r: SklearnTrial(r, chosen))

    def load_model(self, model_path: Path) -> TablePredictor:
        """A trial's ``model.json`` (or its folder), with the preprocessing and column types it trained with, or
        an ``ensemble.json`` of trials written by :meth:`build_ensemble`."""
        from automl_gpt_backend_tabular import ensemble
        from automl_gpt_backend_tabular.predictor import EnsemblePredictor, XGBoostPredictor

        saved = ensemble.read(Path(model_path))
        if saved is not None:
            return EnsemblePredictor(Path(model_path), saved["member_paths"])
        return XGBoostPredictor(Path(model_path))

    def build_ensemble(self, request: EnsembleRequest) -> Ensemble:
        """Greedy selection with replacement over the trials' validation predictions, saved as
        ``ensemble.json`` (see :mod:`automl_gpt_backend_tabular.ensemble`)."""
        from automl_gpt_backend_tabular import ensemble

        return ensemble.build(request)

    def performance_matrix(self) -> Path | None:
        """The default card's matrix: a pool of XGBoost configurations trained on the 222 PMLB datasets
        (benchmarks/mine_knowledge.py)."""
        return next(iter(self.performance_matrices()), None)

    def performance_matrices(self) -> list[Path]:
        """One matrix per model card mined (``benchmarks/mine_knowledge.py --model CARD``), ``xgboost`` first."""
        return [path for path in (KNOWLEDGE / f"{name}_matrix.json.gz" for name in CARD_FILES) if path.exists()]


@cache
def _model_cards() -> tuple[ModelCard, ...]:
    return tuple(card for name in CARD_FILES for card in _task_variants(name))


def _task_variants(name: str) -> list[ModelCard]:
    """One card per group of tasks that share a parameter set (the whole card when no parameter is task-only)."""
    import yaml
    from automl_gpt.cards import ModelCard, card_from_mapping

    path = MODEL_CARDS / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    only = TASK_ONLY.get(name, {})
    groups: dict[tuple[str, ...], list[str]] = {}
    for task in data["tasks"]:
        left_out = tuple(p for p, tasks in only.items() if task not in tasks)
        groups.setdefault(left_out, []).append(task)
    cards = []
    for left_out, tasks in groups.items():
        variant = dict(data, tasks=tasks)
        variant["search_space"] = {k: v for k, v in data["search_space"].items() if k not in left_out}
        if left_out:
            applies = "; ".join(f"{p} applies to {'/'.join(only[p])} tasks only" for p in left_out)
            variant["description"] = f"{data['description']} ({', '.join(left_out)} left out: {applies})"
        cards.append(card_from_mapping(ModelCard, variant, path))
    return cards
