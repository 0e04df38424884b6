"""Real XGBoost trials: the streamed log, metrics, saved model, determinism, refit and failed trials."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from automl_gpt.cards import DataCard
from automl_gpt.testing import train
from automl_gpt.training import LogRecord, TrainingRequest, TrialState
from automl_gpt_backend_tabular import data
from automl_gpt_backend_tabular.backend import XGBoostBackend
from automl_gpt_backend_tabular.saved_model import SavedModel
from automl_gpt_backend_tabular.trainer import score

from .conftest import model_card_for, pmlb_card

pytestmark = pytest.mark.slow


def test_log_has_train_and_valid_loss_and_metric_every_round(
    backend: XGBoostBackend, adult_card: DataCard, small: dict[str, Any], tmp_path: Path
) -> None:
    card = model_card_for(backend, adult_card)
    result, _ = train(backend, adult_card, card, tmp_path, limits=small)
    assert result.state == TrialState.COMPLETE, result.error
    log = result.log
    assert set(log.metrics()) == {
        ("train", "logloss"),
        ("train", "accuracy"),
        ("valid", "logloss"),
        ("valid", "accuracy"),
    }
    steps = [s for s, _ in log.curve("valid", "logloss")]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) <= small["max_rounds"]
    train_loss = [v for _, v in log.curve("train", "logloss")]
    assert train_loss[-1] < train_loss[0], "boosting lowers the training loss"
    assert result.metrics["valid/logloss"] == pytest.approx(min(v for _, v in log.curve("valid", "logloss")), abs=1e-5)
    assert 0.7 < result.metrics["valid/accuracy"] <= 1 and 0.5 < result.metrics["valid/auc"] <= 1
    for key in ("test/logloss", "test/accuracy", "test/auc"):
        assert key in result.metrics, "the Adult card has a test file, so the refit is tested"
    saved = json.loads(Path(result.artifacts["config"]).read_text())
    assert saved["config"] == card.defaults() and saved["refit_on_full_train"] is True
    assert saved["nthread"] == 2 and saved["limits"]["max_rows"] == 1500
    assert json.loads(Path(result.artifacts["metrics"]).read_text()) == result.metrics


@pytest.mark.parametrize(("choices", "scale"), [({"validation": "holdout"}, 1 / 0.8),
                                               ({"validation": "kfold", "folds": 3}, 3 / 2)])
def test_refit_scales_the_best_rounds_by_the_rows_gained(
    backend: XGBoostBackend, adult_card: DataCard, tmp_path: Path, choices: dict[str, Any], scale: float
) -> None:
    card = model_card_for(backend, adult_card)
    config = dict(card.defaults(), learning_rate=0.3, n_estimators=300, **choices)
    result, _ = train(backend, adult_card, card, tmp_path, config=config, limits={"max_rows": 1500, "threads": 2})
    assert result.state == TrialState.COMPLETE, result.error
    saved = json.loads(Path(result.artifacts["config"]).read_text())
    assert saved["n_rounds"] < 300, "early stopping chose the best round"
    assert saved["refit_rounds"] == pytest.approx(saved["n_rounds"] * scale, abs=0.51)
    import xgboost as xgb

    booster = xgb.Booster(model_file=result.artifacts["model"])
    assert booster.num_boosted_rounds() == saved["refit_rounds"], "the saved refit trained that many rounds"


def test_refit_rounds_rule() -> None:
    from automl_gpt_backend_tabular.rows import RowSplit, refit_rounds

    table = data.Table(pd.DataFrame({"x": range(100)}), np.zeros(100), {"x": "numeric"})
    holdout = [RowSplit(table, table, np.arange(80), np.arange(80, 100))]
    folds = [RowSplit(table, table, np.delete(np.arange(100), np.arange(k, 100, 5)), np.arange(k, 100, 5))
             for k in range(5)]
    valid_file = [RowSplit(table, table, np.arange(100), np.arange(10))]
    assert refit_rounds(40, holdout, 100) == 50
    assert refit_rounds(40, folds, 100) == 50
    assert refit_rounds(40, valid_file, 100) == 40, "the fit already saw every training row"
    assert refit_rounds(1, holdout, 100) == 1


def test_saved_model_round_trip(
    backend: XGBoostBackend, adult_card: DataCard, small: dict[str, Any], tmp_path: Path
) -> None:
    card = model_card_for(backend, adult_card)
    config = dict(card.defaults(), categorical_encoding="target", missing_values="impute_indicator")
    result, _ = train(backend, adult_card, card, tmp_path, config=config, limits=small)
    assert result.state == TrialState.COMPLETE, result.error
    model = SavedModel.load(tmp_path)
    test = data.load_split(adult_card, "test", model.labels)
    first = model.predict(test.features)
    again = SavedModel.load(tmp_path).predict(test.features)
    assert np.array_equal(first, again)
    metrics = score("binary", test.target, first, 2)
    assert metrics["logloss"] == pytest.approx(result.metrics["test/logloss"], abs=1e-6)
    assert metrics["accuracy"] == pytest.approx(result.metrics["test/accuracy"], abs=1e-9)


def test_same_seed_same_trial_other_seed_other_trial(
    backend: XGBoostBackend, adult_card: DataCard, small: dict[str, Any], tmp_path: Path
) -> None:
    card = model_card_for(backend, adult_card)
    config = dict(card.defaults(), subsample=0.7, colsample_bytree=0.5)
    first, _ = train(backend, adult_card, card, tmp_path / "a", config=config, limits=small, seed=3)
    second, _ = train(backend, adult_card, card, tmp_path / "b", config=config, limits=small, seed=3)
    other, _ = train(backend, adult_card, card, tmp_path / "c", config=config, limits=small, seed=4)
    assert first.log == second.log and first.metrics == second.metrics
    assert other.log != first.log


@pytest.mark.parametrize(
    "choices",
    [
        {"categorical_encoding": "onehot", "missing_values": "impute"},
        {"validation": "kfold", "folds": 3, "grow_policy": "lossguide", "max_leaves": 16},
    ],
)
def test_data_processing_choices_train(
    backend: XGBoostBackend, adult_card: DataCard, small: dict[str, Any], tmp_path: Path, choices: dict[str, Any]
) -> None:
    card = model_card_for(backend, adult_card)
    result, _ = train(backend, adult_card, card, tmp_path, config=dict(card.defaults(), **choices), limits=small)
    assert result.state == TrialState.COMPLETE, result.error
    assert result.metrics["valid/accuracy"] > 0.75 and result.metrics["test/accuracy"] > 0.75
    features = json.loads(Path(result.artifacts["config"]).read_text())["features"]
    if choices.get("categorical_encoding") == "onehot":
        assert "workclass=Private" in features
    else:
        assert "workclass" in features


def test_pruning_stops_at_once(
    backend: XGBoostBackend, adult_card: DataCard, small: dict[str, Any], tmp_path: Path
) -> None:
    card = model_card_for(backend, adult_card)
    result, streamed = train(backend, adult_card, card, tmp_path, limits=small, stop_after=10)
    assert result.state == TrialState.PRUNED
    assert len(streamed) == 10 and list(result.log) == streamed
    assert not (tmp_path / "model.json").exists()


def test_multiclass_pmlb(backend: XGBoostBackend, shared_data: Path, tmp_path: Path) -> None:
    card = pmlb_card(shared_data, "yeast")
    model_card = model_card_for(backend, card)
    assert "scale_pos_weight" not in model_card.space(), "binary-only parameters are left out"
    result, _ = train(backend, card, model_card, tmp_path, limits={"max_rounds": 60})
    assert result.state == TrialState.COMPLETE, result.error
    assert result.metrics["valid/logloss"] < math.log(9), "better than a uniform guess over yeast's 9 classes"
    assert result.metrics["valid/accuracy"] > 0.45
    assert SavedModel.load(tmp_path).predict(data.load_split(card, "train").features[:5]).shape == (5, 9)


def test_regression_from_a_numeric_pmlb_column(backend: XGBoostBackend, shared_data: Path, tmp_path: Path) -> None:
    card = pmlb_card(shared_data, "wine_quality_red", task="regression", target="alcohol")
    backend.check_data(card)
    assert backend.objective(card).metric == "rmse"
    result, streamed = train(backend, card, model_card_for(backend, card), tmp_path, limits={"max_rounds": 80})
    assert result.state == TrialState.COMPLETE, result.error
    assert {r.metric for r in streamed} == {"rmse", "mae"}
    spread = float(np.std(data.load_split(card, "train").target))
    assert result.metrics["valid/rmse"] < 0.7 * spread, "clearly better than predicting the mean"


def test_config_outside_the_space_fails_the_trial(
    backend: XGBoostBackend, adult_card: DataCard, small: dict[str, Any], tmp_path: Path
) -> None:
    card = model_card_for(backend, adult_card)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"max_depth": 40}, "max_depth.*outside"),
        ({"grow_policy": "sideways"}, "not one of"),
        ({"n_trees": 5}, "unknown parameter 'n_trees'"),
    ]
    for bad, reason in cases:
        result, streamed = train(backend, adult_card, card, tmp_path, config=dict(card.defaults(), **bad), limits=small)
        assert result.state == TrialState.FAIL and not streamed
        assert result.error and "\n" not in result.error
        assert re.search(reason, result.error), result.error


def _request(
    card: DataCard, backend: XGBoostBackend, tmp_path: Path, report: Any, limits: dict[str, Any]
) -> TrainingRequest:
    model_card = model_card_for(backend, card)
    return TrainingRequest(
        config=model_card.defaults(),
        data_card=card,
        model_card=model_card,
        workdir=tmp_path,
        report=report,
        limits=limits,
    )


def test_crash_and_out_of_memory_fail_the_trial(
    backend: XGBoostBackend, adult_card: DataCard, small: dict[str, Any], tmp_path: Path
) -> None:
    def out_of_memory(record: LogRecord) -> bool:
        raise MemoryError

    def crash(record: LogRecord) -> bool:
        raise RuntimeError("display died\nwith a second line")

    memory = backend.train(_request(adult_card, backend, tmp_path, out_of_memory, small))
    assert memory.state == TrialState.FAIL and memory.error.startswith("out of memory")
    crashed = backend.train(_request(adult_card, backend, tmp_path, crash, small))
    assert crashed.state == TrialState.FAIL and crashed.error == "RuntimeError: display died"


def test_bad_data_fails_the_trial_not_the_run(backend: XGBoostBackend, tmp_path: Path) -> None:
    card = DataCard(name="t", task="binary", train=str(tmp_path / "gone.csv"), target="y")
    result = backend.train(_request(card, backend, tmp_path, lambda r: False, {}))
    assert result.state == TrialState.FAIL and "gone.csv: train file not found" in result.error


def test_class_with_a_single_row_still_trains(backend: XGBoostBackend, tmp_path: Path) -> None:
    rows = "".join(f"{i},{'a' if i % 2 else 'b'}\n" for i in range(60)) + "99,c\n"
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    card = DataCard(name="t", task="multiclass", train=str(tmp_path / "d.csv"), target="y")
    backend.check_data(card)
    result, _ = train(backend, card, model_card_for(backend, card), tmp_path / "trial", limits={"max_rounds": 5})
    assert result.state == TrialState.COMPLETE, result.error


def test_valid_file_scores_the_saved_holdout_model(backend: XGBoostBackend, shared_data: Path, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(shared_data / "tabular" / "breast_cancer_wisconsin.csv.gz")
    frame.iloc[:400].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[400:].to_parquet(tmp_path / "valid.parquet")
    card = DataCard(
        name="bc",
        task="binary",
        train=str(tmp_path / "train.csv"),
        valid=str(tmp_path / "valid.parquet"),
        target="target",
    )
    backend.check_data(card)
    result, _ = train(backend, card, model_card_for(backend, card), tmp_path / "trial", limits={"max_rounds": 30})
    assert result.state == TrialState.COMPLETE, result.error
    assert "test/logloss" not in result.metrics, "no test file, no refit"
    valid = data.load_split(card, "valid", SavedModel.load(tmp_path / "trial").labels)
    assert len(valid.target) == len(frame) - 400
    again = score("binary", valid.target, SavedModel.load(tmp_path / "trial").predict(valid.features), 2)
    assert again["logloss"] == pytest.approx(result.metrics["valid/logloss"], abs=1e-6)
