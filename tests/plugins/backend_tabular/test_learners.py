"""The hist_gradient_boosting and linear model cards: the backend conformance suite on every task, and what a user
of a mixed run relies on (the same validation rows and metric keys as XGBoost, a log that shows the chosen step,
a saved model that predicts what the trial scored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from automl_gpt.cards import DataCard, ModelCard
from automl_gpt.testing import BackendConformance, train
from automl_gpt.training import TrialState
from automl_gpt_backend_tabular import data
from automl_gpt_backend_tabular.backend import XGBoostBackend
from automl_gpt_backend_tabular.trainer import score

from .conftest import SMALL, pmlb_card

pytestmark = pytest.mark.slow


def card_named(backend: XGBoostBackend, name: str, task: str) -> ModelCard:
    return next(c for c in backend.model_cards() if c.name == name and task in c.tasks)


class TestHistGradientBoostingConformance(BackendConformance):
    @pytest.fixture
    def backend(self) -> XGBoostBackend:
        return XGBoostBackend()

    @pytest.fixture
    def data_card(self, adult_card: DataCard) -> DataCard:
        return adult_card

    @pytest.fixture
    def model_card(self, backend: XGBoostBackend, data_card: DataCard) -> ModelCard:
        return card_named(backend, "hist_gradient_boosting", data_card.task)

    @pytest.fixture
    def limits(self) -> dict[str, Any]:
        return dict(SMALL)


class TestHistGradientBoostingRegressionConformance(TestHistGradientBoostingConformance):
    @pytest.fixture
    def data_card(self, shared_data: Path) -> DataCard:
        return pmlb_card(shared_data, "1089_USCrime", task="regression")


class TestLinearConformance(TestHistGradientBoostingConformance):
    @pytest.fixture
    def model_card(self, backend: XGBoostBackend, data_card: DataCard) -> ModelCard:
        return card_named(backend, "linear", data_card.task)


class TestLinearMulticlassConformance(TestLinearConformance):
    @pytest.fixture
    def data_card(self, shared_data: Path) -> DataCard:
        return pmlb_card(shared_data, "wine_quality_red")


class TestLinearRegressionConformance(TestLinearConformance):
    @pytest.fixture
    def data_card(self, shared_data: Path) -> DataCard:
        return pmlb_card(shared_data, "1089_USCrime", task="regression")


def test_cards_split_task_only_parameters(backend: XGBoostBackend) -> None:
    spaces = {(c.name, tuple(c.tasks)): set(c.search_space) for c in backend.model_cards()}
    assert {"C", "penalty"} <= spaces[("linear", ("binary",))]
    assert "penalty" not in spaces[("linear", ("multiclass",))] and "C" in spaces[("linear", ("multiclass",))]
    assert "alpha" in spaces[("linear", ("regression",))] and "C" not in spaces[("linear", ("regression",))]
    assert ("hist_gradient_boosting", ("binary", "multiclass", "regression")) in spaces
    assert backend.model_cards()[0].name == "xgboost"  # the default card stays XGBoost


@pytest.mark.parametrize("name", ["xgboost", "hist_gradient_boosting", "linear"])
def test_same_validation_rows_and_metric_keys_as_xgboost(
        backend: XGBoostBackend, adult_card: DataCard, name: str, tmp_path: Path) -> None:
    result, records = train(backend, adult_card, card_named(backend, name, "binary"), tmp_path / name,
                            limits=dict(SMALL))
    assert result.state == TrialState.COMPLETE, result.error
    assert {"valid/logloss", "valid/accuracy", "valid/auc", "train/logloss", "test/logloss", "test/accuracy",
            "test/auc"} <= set(result.metrics)
    best_streamed = min(r.value for r in records if r.split == "valid" and r.metric == "logloss")
    assert result.metrics["valid/logloss"] == pytest.approx(best_streamed, rel=1e-6)


def test_hist_gradient_boosting_streams_one_record_per_iteration_and_stops_early(
        backend: XGBoostBackend, shared_data: Path, tmp_path: Path) -> None:
    card = pmlb_card(shared_data, "wine_quality_red")
    model_card = card_named(backend, "hist_gradient_boosting", "multiclass")
    config = dict(model_card.defaults(), learning_rate=0.3, max_iter=2000)
    result, records = train(backend, card, model_card, tmp_path / "t", config=config, limits={"threads": 2})
    assert result.state == TrialState.COMPLETE, result.error
    valid = [r for r in records if r.split == "valid" and r.metric == "logloss"]
    assert [r.step for r in valid] == list(range(1, len(valid) + 1))
    assert 20 < len(valid) < 2000  # early stopping after 20 iterations without a better validation loss
    best = int(np.argmin([r.value for r in valid])) + 1
    assert len(valid) - best == 20


@pytest.mark.parametrize("name,config", [
    ("hist_gradient_boosting", {"categorical_encoding": "target", "missing_values": "impute_indicator"}),
    ("hist_gradient_boosting", {"categorical_encoding": "onehot", "max_depth": 4, "validation": "kfold"}),
    ("linear", {"categorical_encoding": "target", "missing_values": "impute_indicator", "penalty": "l1", "C": 0.1}),
])
def test_saved_model_predicts_the_test_scores_of_the_trial(
        backend: XGBoostBackend, adult_card: DataCard, name: str, config: dict[str, Any], tmp_path: Path) -> None:
    model_card = card_named(backend, name, "binary")
    result, _ = train(backend, adult_card, model_card, tmp_path / "trial", config=dict(model_card.defaults(), **config),
                      limits=dict(SMALL))
    assert result.state == TrialState.COMPLETE, result.error
    predictor = backend.load_model(Path(result.artifacts["model"]))
    test_file = adult_card.split_path("test")
    assert test_file is not None
    report = predictor.predict_file(test_file, tmp_path / "p.csv")
    predicted = pd.read_csv(report.path)
    labels = ["<=50K", ">50K"]
    truth = data.load_split(adult_card, "test", labels).target
    scores = score("binary", truth, predicted["proba_>50K"].to_numpy(), 2)
    assert scores["logloss"] == pytest.approx(result.metrics["test/logloss"], rel=1e-6)
    assert scores["accuracy"] == pytest.approx(result.metrics["test/accuracy"])


def test_high_cardinality_category_trains_with_hist_gradient_boosting(backend: XGBoostBackend, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 400, size=1200)
    frame = pd.DataFrame({"code": [f"c{c}" for c in codes], "x": rng.normal(size=1200),
                          "y": np.where((codes % 2 == 0) ^ (rng.random(1200) < 0.1), "a", "b")})
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    card = DataCard(name="wide", task="binary", train=str(path), target="y")  # text column: categorical
    model_card = card_named(backend, "hist_gradient_boosting", "binary")
    config = dict(model_card.defaults(), max_bins=64)  # 400 categories > max_bins: split as ordered codes
    result, _ = train(backend, card, model_card, tmp_path / "t", config=config, limits={"threads": 2})
    assert result.state == TrialState.COMPLETE, result.error


def test_unknown_learner_fails_the_trial_in_one_line(
        backend: XGBoostBackend, adult_card: DataCard, tmp_path: Path) -> None:
    model_card = card_named(backend, "linear", "binary").model_copy(update={"options": {"learner": "svm"}})
    result, _ = train(backend, adult_card, model_card, tmp_path / "t", limits=dict(SMALL))
    assert result.state == TrialState.FAIL and "unknown options.learner 'svm'" in (result.error or "")
