"""Predicting new tables with a trial's saved model: same scores as the trial, and clear refusals of bad input."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from automl_gpt.cards import DataCard
from automl_gpt.errors import DataError, UsageError
from automl_gpt.testing import train
from automl_gpt.training import TrialResult, TrialState
from automl_gpt_backend_tabular import data
from automl_gpt_backend_tabular.backend import XGBoostBackend
from automl_gpt_backend_tabular.trainer import score

from .conftest import model_card_for, pmlb_card

pytestmark = pytest.mark.slow


@pytest.fixture
def adult_trial(backend: XGBoostBackend, adult_card: DataCard, small: dict[str, Any], tmp_path: Path) -> TrialResult:
    """One Adult trial with target encoding and imputation, so predicting must replay non-trivial preprocessing."""
    card = model_card_for(backend, adult_card)
    config = dict(card.defaults(), categorical_encoding="target", missing_values="impute_indicator")
    result, _ = train(backend, adult_card, card, tmp_path / "trial", config=config, limits=small)
    assert result.state == TrialState.COMPLETE, result.error
    return result


def test_predicting_the_test_file_reproduces_the_trial_test_scores(
    backend: XGBoostBackend, adult_card: DataCard, adult_trial: TrialResult, tmp_path: Path
) -> None:
    predictor = backend.load_model(Path(adult_trial.artifacts["model"]))
    test_file = adult_card.split_path("test")
    assert test_file is not None
    report = predictor.predict_file(test_file, tmp_path / "out.csv")
    predictions = pd.read_csv(report.path)
    assert report.count == len(predictions) == 16281
    assert list(predictions.columns) == ["prediction", "proba_<=50K", "proba_>50K"]
    truth = data.load_split(adult_card, "test", predictor.labels).target
    metrics = score("binary", truth, predictions["proba_>50K"].to_numpy(), 2)
    assert metrics["logloss"] == pytest.approx(adult_trial.metrics["test/logloss"], abs=1e-6)
    labels = np.asarray(["<=50K", ">50K"])[truth]
    accuracy = np.mean(predictions["prediction"].to_numpy() == labels)
    assert accuracy == pytest.approx(adult_trial.metrics["test/accuracy"])
    assert np.allclose(predictions["proba_<=50K"] + predictions["proba_>50K"], 1.0)


def test_parquet_in_and_out_and_the_trial_folder_as_model_path(
    backend: XGBoostBackend, adult_card: DataCard, adult_trial: TrialResult, tmp_path: Path
) -> None:
    rows = data.read_split(adult_card, "train").head(50).drop(columns=["income"])
    rows.to_parquet(tmp_path / "rows.parquet")
    predictor = backend.load_model(Path(adult_trial.artifacts["model"]).parent)
    report = predictor.predict_file(tmp_path / "rows.parquet", tmp_path / "out.parquet")
    assert len(pd.read_parquet(report.path)) == 50 and report.warnings == []
    with pytest.raises(UsageError, match=r"out\.txt"):
        predictor.predict_file(tmp_path / "rows.parquet", tmp_path / "out.txt")


def test_missing_column_and_wrong_type_are_refused_naming_the_column(
    backend: XGBoostBackend, adult_card: DataCard, adult_trial: TrialResult, tmp_path: Path
) -> None:
    predictor = backend.load_model(Path(adult_trial.artifacts["model"]))
    rows = data.read_split(adult_card, "train").head(20)
    with pytest.raises(DataError, match=r"missing column.*'education'"):
        predictor.predict_table(rows.drop(columns=["education"]), "rows.csv")
    rows["age"] = rows["age"].astype(object)
    rows.loc[3, "age"] = "forty"
    with pytest.raises(DataError, match=r"column 'age' is numeric.*'forty'"):
        predictor.predict_table(rows, "rows.csv")


def test_unseen_categories_are_predicted_and_logged(
    backend: XGBoostBackend, adult_card: DataCard, adult_trial: TrialResult, caplog: pytest.LogCaptureFixture
) -> None:
    predictor = backend.load_model(Path(adult_trial.artifacts["model"]))
    rows = data.read_split(adult_card, "train").head(20)
    rows.loc[[2, 5], "native-country"] = "Atlantis"
    with caplog.at_level(logging.WARNING, logger="automl_gpt.prediction"):
        predictions, warnings = predictor.predict_table(rows, "rows.csv")
    assert len(predictions) == 20 and predictions["proba_>50K"].between(0, 1).all()
    assert warnings == [next(r.getMessage() for r in caplog.records)]
    assert "'native-country': 2 row(s)" in warnings[0] and "'Atlantis'" in warnings[0]


def test_multiclass_and_regression_outputs(backend: XGBoostBackend, shared_data: Path, small: dict[str, Any],
                                           tmp_path: Path) -> None:
    for card, columns in (
        (pmlb_card(shared_data, "wine_quality_red"), 1 + 6),
        (pmlb_card(shared_data, "wine_quality_red", task="regression"), 1),
    ):
        result, _ = train(backend, card, model_card_for(backend, card), tmp_path / card.task, limits=small)
        assert result.state == TrialState.COMPLETE, result.error
        predictor = backend.load_model(Path(result.artifacts["model"]))
        train_file = card.split_path("train")
        assert train_file is not None
        report = predictor.predict_file(train_file, tmp_path / f"{card.task}.csv")
        predictions = pd.read_csv(report.path)
        assert predictions.shape[1] == columns
        if card.task == "multiclass":
            assert np.allclose(predictions.filter(like="proba_").sum(axis=1), 1.0, atol=1e-5)
        else:
            assert predictions["prediction"].between(2, 9).mean() > 0.95
