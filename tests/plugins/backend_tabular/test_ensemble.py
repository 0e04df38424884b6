"""Ensembles of real XGBoost trials: validation predictions kept per trial, selection never worse than the best
trial on validation, the test split never read by selection, and the saved ensemble served by load_model."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from automl_gpt.cards import DataCard
from automl_gpt.errors import UsageError
from automl_gpt.planners.base import PastTrial
from automl_gpt.runs.ensemble import EnsembleRequest
from automl_gpt.testing import train
from automl_gpt.training import TrialState
from automl_gpt_backend_tabular import data
from automl_gpt_backend_tabular.backend import XGBoostBackend
from automl_gpt_backend_tabular.trainer import score
from automl_gpt_backend_tabular.valid_predictions import ValidPredictions

from .conftest import model_card_for, pmlb_card

pytestmark = pytest.mark.slow

LIMITS = {"max_rounds": 60, "threads": 2}
# Diverse configurations (depth, rate, encodings), so that averaging them has something to gain.
CONFIGS = [
    {"max_depth": 2, "learning_rate": 0.3},
    {"max_depth": 8, "learning_rate": 0.1, "colsample_bytree": 0.5},
    {"max_depth": 4, "learning_rate": 0.2, "subsample": 0.6, "min_child_weight": 5.0},
    {"max_depth": 6, "learning_rate": 0.05, "categorical_encoding": "onehot"},
]


def write_split_card(shared_data: Path, folder: Path, permute_test: bool = False) -> DataCard:
    """churn (PMLB, binary, 5,000 rows) as 3,000 training rows and a 2,000-row test file."""
    frame = pd.read_csv(shared_data / "tabular" / "churn.csv.gz")
    train_part, test_part = frame.iloc[:3000], frame.iloc[3000:].copy()
    if permute_test:
        test_part["target"] = np.random.default_rng(0).permutation(test_part["target"].to_numpy())
    folder.mkdir(parents=True, exist_ok=True)
    train_part.to_csv(folder / "train.csv", index=False)
    test_part.to_csv(folder / "test.csv", index=False)
    return DataCard(name="churn", task="binary", train=str(folder / "train.csv"), test=str(folder / "test.csv"),
                    target="target")


def run_trials(backend: XGBoostBackend, card: DataCard, folder: Path,
               configs: list[dict[str, Any]]) -> list[PastTrial]:
    model_card = model_card_for(backend, card)
    trials = []
    for number, change in enumerate(configs):
        result, _ = train(backend, card, model_card, folder / f"{number:04d}", config={**model_card.defaults(),
                          **change}, seed=number, limits=LIMITS)
        assert result.state == TrialState.COMPLETE, result.error
        trials.append(PastTrial(number, change, result))
    return trials


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("churn")
    backend = XGBoostBackend()
    card = write_split_card(shared_data, folder / "data")
    return {"backend": backend, "card": card, "folder": folder,
            "trials": run_trials(backend, card, folder / "trials", CONFIGS)}


def build(churn: dict[str, Any], folder: Path, card: DataCard | None = None, trials: list[PastTrial] | None = None):
    backend = churn["backend"]
    folder.mkdir(parents=True, exist_ok=True)
    request = EnsembleRequest(card or churn["card"], backend.objective(churn["card"]), trials or churn["trials"],
                              folder)
    return backend.build_ensemble(request)


def test_each_trial_keeps_its_validation_predictions(churn: dict[str, Any]) -> None:
    for trial in churn["trials"]:
        kept = ValidPredictions.load(Path(trial.result.artifacts["valid_predictions"]))
        assert kept.predictions.dtype == np.float32 and kept.predictions.shape == (600,)  # 20 % of 3,000 rows
        assert np.all(np.diff(kept.rows) > 0) and kept.source == "training rows"
        again = score("binary", kept.truth, kept.predictions, 2)["logloss"]
        assert again == pytest.approx(trial.result.metrics["valid/logloss"], rel=1e-6)
    kept = [ValidPredictions.load(Path(t.result.artifacts["valid_predictions"])) for t in churn["trials"]]
    assert all(np.array_equal(k.rows, kept[0].rows) and k.on_rows_of(kept[0]) is not None for k in kept)  # same rows


def test_the_ensemble_is_never_worse_than_the_best_trial_on_validation(churn: dict[str, Any], tmp_path: Path) -> None:
    ensemble = build(churn, tmp_path / "ensemble")
    best = min(churn["trials"], key=lambda t: t.result.metrics["valid/logloss"])
    assert ensemble.best_trial == best.number
    assert ensemble.metrics["valid/logloss"] <= ensemble.best_metrics["valid/logloss"]
    assert ensemble.best_metrics["valid/logloss"] == pytest.approx(best.result.metrics["valid/logloss"], rel=1e-6)
    assert ensemble.trajectory[0] == pytest.approx(best.result.metrics["valid/logloss"], rel=1e-6)
    assert sum(ensemble.weights.values()) == pytest.approx(1.0)
    rounds = len(ensemble.trajectory)
    assert all(abs(w * rounds - round(w * rounds)) < 1e-9 for w in ensemble.weights.values())  # counts / rounds
    assert ensemble.candidates == len(CONFIGS)
    assert ensemble.best_metrics["test/logloss"] == best.result.metrics["test/logloss"]


def test_the_saved_ensemble_is_served_by_load_model(churn: dict[str, Any], tmp_path: Path) -> None:
    ensemble = build(churn, tmp_path / "ensemble")
    predictor = churn["backend"].load_model(ensemble.model_path)
    test_file = churn["card"].split_path("test")
    report = predictor.predict_file(test_file, tmp_path / "out.csv")
    predictions = pd.read_csv(report.path)
    assert report.count == 2000 and list(predictions.columns) == ["prediction", "proba_0", "proba_1"]
    truth = data.load_split(churn["card"], "test", predictor.labels).target
    assert score("binary", truth, predictions["proba_1"].to_numpy(), 2)["logloss"] == pytest.approx(
        ensemble.metrics["test/logloss"], rel=1e-5)
    # a trial's own model still loads as before
    single = churn["backend"].load_model(Path(churn["trials"][0].result.artifacts["model"]))
    assert type(single).__name__ == "XGBoostPredictor"


def test_selection_never_reads_the_test_split(churn: dict[str, Any], tmp_path: Path, shared_data: Path) -> None:
    honest = build(churn, tmp_path / "honest")
    permuted_card = write_split_card(shared_data, tmp_path / "permuted", permute_test=True)
    permuted = build(churn, tmp_path / "permuted-ensemble", card=permuted_card)
    assert permuted.weights == honest.weights
    assert permuted.trajectory == honest.trajectory
    assert permuted.metrics["valid/logloss"] == honest.metrics["valid/logloss"]
    assert permuted.metrics["test/logloss"] != pytest.approx(honest.metrics["test/logloss"], rel=1e-3)


def test_only_predictions_on_the_best_trials_rows_are_combined(churn: dict[str, Any], tmp_path: Path) -> None:
    kfold = run_trials(churn["backend"], churn["card"], tmp_path / "kfold",
                       [{"validation": "kfold", "folds": 3, "max_depth": 3}])
    kfold[0].number = 99
    kept = ValidPredictions.load(Path(kfold[0].result.artifacts["valid_predictions"]))
    assert kept.predictions.shape == (3000,) and np.array_equal(kept.rows, np.arange(3000))  # out of fold
    holdout = ValidPredictions.load(Path(churn["trials"][0].result.artifacts["valid_predictions"]))
    on_holdout = kept.on_rows_of(holdout)
    assert on_holdout is not None and np.array_equal(on_holdout.rows, holdout.rows)
    assert np.array_equal(on_holdout.predictions, kept.predictions[holdout.rows])
    assert holdout.on_rows_of(kept) is None  # the holdout rows do not cover all training rows
    ensemble = build(churn, tmp_path / "ensemble", trials=churn["trials"] + kfold)
    best_is_kfold = kfold[0].result.metrics["valid/logloss"] < min(t.result.metrics["valid/logloss"]
                                                                   for t in churn["trials"])
    assert ensemble.candidates == (1 if best_is_kfold else len(CONFIGS) + 1)
    other_source = ValidPredictions("valid file", holdout.rows, holdout.truth, holdout.predictions)
    assert other_source.on_rows_of(holdout) is None


def test_trials_without_validation_predictions_are_a_clear_error(churn: dict[str, Any], tmp_path: Path) -> None:
    trials = [PastTrial(t.number, t.config, type(t.result)(t.result.state, t.result.metrics,
                                                            artifacts={"model": t.result.artifacts["model"]}))
              for t in churn["trials"]]
    with pytest.raises(UsageError, match="kept its validation predictions"):
        build(churn, tmp_path / "ensemble", trials=trials)


def test_trials_of_other_learners_join_the_ensemble_and_are_served(churn: dict[str, Any], tmp_path: Path) -> None:
    backend, card = churn["backend"], churn["card"]
    others = []
    for number, name in ((50, "hist_gradient_boosting"), (51, "linear")):
        model_card = next(c for c in backend.model_cards() if c.name == name and "binary" in c.tasks)
        result, _ = train(backend, card, model_card, tmp_path / name, config=model_card.defaults(), limits=LIMITS)
        assert result.state == TrialState.COMPLETE, result.error
        kept = ValidPredictions.load(Path(result.artifacts["valid_predictions"]))
        first = ValidPredictions.load(Path(churn["trials"][0].result.artifacts["valid_predictions"]))
        assert np.array_equal(kept.rows, first.rows) and kept.on_rows_of(first) is not None
        others.append(PastTrial(number, {}, result))
    ensemble = build(churn, tmp_path / "ensemble", trials=churn["trials"] + others)
    assert ensemble.candidates == len(CONFIGS) + 2
    assert ensemble.metrics["valid/logloss"] <= ensemble.best_metrics["valid/logloss"]
    predictor = backend.load_model(ensemble.model_path)
    predictions = predictor.predict_file(card.split_path("test"), tmp_path / "out.csv")
    proba = pd.read_csv(predictions.path)["proba_1"].to_numpy()
    truth = data.load_split(card, "test", predictor.labels).target
    assert score("binary", truth, proba, 2)["logloss"] == pytest.approx(ensemble.metrics["test/logloss"], rel=1e-5)


def test_multiclass_ensemble_without_a_test_file(shared_data: Path, tmp_path: Path) -> None:
    backend = XGBoostBackend()
    card = pmlb_card(shared_data, "segmentation")
    trials = run_trials(backend, card, tmp_path / "trials", CONFIGS[:3])
    (tmp_path / "ensemble").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. scikit-learn's "y_prob values do not sum to one"
        ensemble = backend.build_ensemble(EnsembleRequest(card, backend.objective(card), trials, tmp_path / "ensemble"))
    assert ensemble.metrics["valid/logloss"] <= ensemble.best_metrics["valid/logloss"]
    assert not any(k.startswith("test/") for k in ensemble.metrics)
    rows = data.read_split(card, "train").head(30)
    predictions, _ = backend.load_model(ensemble.model_path).predict_table(rows)
    proba = predictions.filter(like="proba_").to_numpy()
    assert proba.shape == (30, 7) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)
