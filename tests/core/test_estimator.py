"""The scikit-learn estimators: scikit-learn's own checks, DataFrames with categories, Pipeline, cross_val_score."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("xgboost")

import automl_gpt
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

pytestmark = pytest.mark.slow

# One trial of at most 20 boosting rounds: scikit-learn's checks fit dozens of times on tiny tables.
QUICK = {"budget": 1, "limits": {"max_rounds": 20, "threads": 1}}


@parametrize_with_checks([automl_gpt.AutoMLClassifier(**QUICK), automl_gpt.AutoMLRegressor(**QUICK)])
def test_scikit_learn_checks(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def test_dataframe_with_categories_and_missing_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 400
    colour = rng.choice(["red", "green", "blue"], size=n)
    size = rng.normal(size=n)
    size[rng.random(n) < 0.1] = np.nan
    label = np.where((colour == "red") | (np.nan_to_num(size) > 1), "yes", "no")
    X = pd.DataFrame({"colour": colour, "size": size})
    model = automl_gpt.AutoMLClassifier(budget=3, output_dir=tmp_path, limits={"max_rounds": 60, "threads": 2})
    model.fit(X[:300], label[:300])
    assert list(model.classes_) == ["no", "yes"] and list(model.feature_names_in_) == ["colour", "size"]
    assert model.score(X[300:], label[300:]) > 0.9
    proba = model.predict_proba(X[300:])
    assert proba.shape == (100, 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(model.best_config_) >= {"learning_rate", "max_depth"} and model.best_score_ is not None
    assert model.run_dir_.parent == tmp_path and (model.run_dir_ / "report.html").exists()
    unseen = X[300:].assign(colour="purple")  # handled: encoded as an unknown category
    assert model.predict(unseen).shape == (100,)


def test_inside_a_pipeline_and_cross_val_score() -> None:
    X, y = load_iris(return_X_y=True)
    pipeline = Pipeline([("scale", StandardScaler()), ("automl", automl_gpt.AutoMLClassifier(budget=2))])
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    X, y = load_diabetes(return_X_y=True)
    regressor = automl_gpt.AutoMLRegressor(budget=2, limits={"max_rounds": 100})
    assert cross_val_score(regressor, X, y, cv=3, scoring="r2").mean() > 0.2


def test_parameters_round_trip() -> None:
    model = automl_gpt.AutoMLRegressor(budget=5, planner="random", seed=3)
    assert model.get_params()["planner"] == "random"
    copy = clone(model).set_params(budget=7)
    assert copy.get_params()["budget"] == 7 and copy.get_params()["seed"] == 3 and model.budget == 5


def test_predicts_with_the_model_automl_gpt_predict_serves(tmp_path: Path) -> None:
    X, y = load_diabetes(return_X_y=True)
    model = automl_gpt.AutoMLRegressor(budget=4, output_dir=tmp_path, limits={"max_rounds": 60, "threads": 1})
    model.fit(X[:300], y[:300])
    ensemble = json.loads((model.run_dir_ / "summary.json").read_text())["ensemble"]
    served = "ensemble.json" if ensemble["served"] else "model.json"
    assert model.model_.model_path.name == served
    assert model.predict(X[300:]).shape == (142,)
