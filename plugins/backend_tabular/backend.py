"""The ``xgboost`` backend: binary and multiclass classification and regression on tables.

This module stays light (no XGBoost, pandas or scikit-learn at import); :mod:`.trainer` does the work.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend, Objective, TrainingRequest, TrialResult

if TYPE_CHECKING:  # pydantic and yaml load only when cards are needed, keeping `plugins list` fast
    from automl_gpt.cards import DataCard, ModelCard
    from automl_gpt.prediction import TablePredictor

MODEL_CARDS = Path(__file__).parent / "model_cards"
KNOWLEDGE_BASE = Path(__file__).parent / "knowledge" / "xgboost_pmlb.json.gz"
BINARY_ONLY = ("reweight_classes", "scale_pos_weight")


class XGBoostBackend(Backend):
    """Gradient-boosted trees with XGBoost; the search optimises validation log-loss (RMSE for regression)."""

    name = "xgboost"
    description = "XGBoost gradient-boosted trees on CSV/Parquet tables"
    tasks = frozenset({"binary", "multiclass", "regression"})
    requirements = Requirements(extra="tabular", modules=("xgboost", "sklearn"))

    def model_cards(self) -> list[ModelCard]:
        """``xgboost`` for binary tasks, and the same card without binary-only parameters for the others."""
        return list(_model_cards())

    def objective(self, data_card: DataCard) -> Objective:
        metric = "rmse" if data_card.task == "regression" else "logloss"
        return Objective(metric, "minimize")

    def check_data(self, data_card: DataCard) -> None:
        from automl_gpt_backend_tabular.data import check_card

        check_card(data_card)

    def train(self, request: TrainingRequest) -> TrialResult:
        from automl_gpt_backend_tabular.trainer import run_trial

        return run_trial(request)

    def load_model(self, model_path: Path) -> TablePredictor:
        """A trial's ``model.json`` (or its folder), with the preprocessing and column types it trained with."""
        from automl_gpt_backend_tabular.predictor import XGBoostPredictor

        return XGBoostPredictor(Path(model_path))

    def knowledge_base(self) -> Path | None:
        """Best configurations on 16 PMLB datasets (benchmarks/build_knowledge_base.py), for empty stores."""
        return KNOWLEDGE_BASE if KNOWLEDGE_BASE.exists() else None


@cache
def _model_cards() -> tuple[ModelCard, ...]:
    import yaml
    from automl_gpt.cards import ModelCard, card_from_mapping

    path = MODEL_CARDS / "xgboost.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    binary = dict(data, tasks=["binary"])
    others = dict(data, tasks=[t for t in data["tasks"] if t != "binary"])
    others["search_space"] = {k: v for k, v in data["search_space"].items() if k not in BINARY_ONLY}
    others["description"] = (
        data["description"] + " (reweight_classes and scale_pos_weight are left out: they apply to binary tasks only)"
    )
    return card_from_mapping(ModelCard, binary, path), card_from_mapping(ModelCard, others, path)
