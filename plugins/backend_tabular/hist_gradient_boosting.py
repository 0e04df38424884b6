"""scikit-learn's histogram gradient boosting (``HistGradientBoostingClassifier`` / ``Regressor``) as a learner.

Imported only when a trial runs. Early stopping watches the trial's own validation rows (``X_val``), after
``early_stopping_rounds`` iterations without a better loss; ``train_score_`` / ``validation_score_`` give the
per-iteration curves, streamed as ``train``/``valid`` ``logloss`` (``rmse`` for regression) like XGBoost's rounds.
Categorical columns of the ``native`` encoding become category codes and HGB's own categorical splits (a column
with more categories than ``max_bins`` is split as ordered codes instead).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from automl_gpt_backend_tabular.sklearn_trial import Curves, Fitted, Learner, class_columns, probabilities

PARAMS = ("learning_rate", "max_leaf_nodes", "min_samples_leaf", "l2_regularization", "max_features", "max_bins")


def categories_as_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Category columns as float codes (missing or unseen: NaN); other columns unchanged."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            codes = out[column].cat.codes.astype("float64")
            out[column] = codes.where(codes >= 0, np.nan)
    return out


class HistGradientBoostingLearner(Learner):
    """Gradient-boosted trees on binned features, with early stopping on the trial's validation rows."""

    name = "hist_gradient_boosting"

    def params(self) -> dict[str, Any]:
        c = self.config
        params: dict[str, Any] = {name: c[name] for name in PARAMS}
        params["max_depth"] = c["max_depth"]
        params["max_iter"] = int(c["max_iter"])
        params["random_state"] = self.seed
        return params

    def fit(self, x: pd.DataFrame, y: np.ndarray, valid: tuple[pd.DataFrame, np.ndarray] | None,
            steps: int | None) -> Fitted:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        params = self.params()
        if steps is not None:
            params["max_iter"] = min(params["max_iter"], steps) if valid is not None else steps
        categorical = [isinstance(x[c].dtype, pd.CategoricalDtype) and len(x[c].cat.categories) <= params["max_bins"]
                       for c in x.columns]
        params["categorical_features"] = np.array(categorical) if any(categorical) else None
        estimator_class = HistGradientBoostingRegressor if self.task == "regression" else HistGradientBoostingClassifier
        fit_args: dict[str, Any] = {}
        if valid is not None:
            params.update(early_stopping=True, scoring="loss",
                          n_iter_no_change=int(self.options.get("early_stopping_rounds", 20)))
            fit_args = {"X_val": categories_as_codes(valid[0]), "y_val": valid[1]}
        else:
            params["early_stopping"] = False
        estimator = estimator_class(**params)
        estimator.fit(categories_as_codes(x), y, **fit_args)
        model = Pipeline([("codes", FunctionTransformer(categories_as_codes)), ("model", estimator)])
        curves: Curves = {}
        if valid is not None:
            curves = {("train", self._metric()): self._losses(estimator.train_score_),
                      ("valid", self._metric()): self._losses(estimator.validation_score_)}
        return Fitted(model, curves)

    def predict_at(self, model: Any, x: pd.DataFrame, steps: int, n_classes: int) -> np.ndarray:
        estimator = model[-1]
        if estimator.n_iter_ == steps:
            return probabilities(model, x, n_classes)
        coded = model[:-1].transform(x)
        staged = estimator.staged_predict(coded) if n_classes == 0 else estimator.staged_predict_proba(coded)
        for step, predicted in enumerate(staged, start=1):
            if step == steps:
                if n_classes == 0:
                    return np.asarray(predicted, dtype="float64")
                return class_columns(predicted, estimator.classes_, n_classes)
        raise ValueError(f"the model has {estimator.n_iter_} iterations, not {steps}")

    def _metric(self) -> str:
        return "rmse" if self.task == "regression" else "logloss"

    def _losses(self, scores: np.ndarray) -> list[float]:
        """Scores of iterations 1..n (index 0 is the constant start) as losses: log-loss, or RMSE from the
        half squared error scikit-learn minimises."""
        losses = -np.asarray(scores[1:], dtype="float64")
        if self.task == "regression":
            losses = np.sqrt(2.0 * np.maximum(losses, 0.0))
        return losses.tolist()
