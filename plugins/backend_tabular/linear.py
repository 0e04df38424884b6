"""A regularised linear model as a learner: ``LogisticRegression`` (classification) or ``Ridge`` (regression).

Imported only when a trial runs. Inputs are the preprocessor's matrix (categories one-hot or target-encoded,
missing values imputed) through a ``ColumnTransformer`` that standardises every column except the one-hot
ones. One fit is one step: its log is a single point of train and valid loss and metrics.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd
from automl_gpt.training import Split
from automl_gpt_backend_tabular.sklearn_trial import Curves, Fitted, Learner, probabilities
from automl_gpt_backend_tabular.trainer import score


class LinearLearner(Learner):
    """L2 (or, for binary tasks, L1) regularised logistic regression, or ridge regression."""

    name = "linear"

    def params(self) -> dict[str, Any]:
        c = self.config
        if self.task == "regression":
            return {"alpha": c["alpha"]}
        l1 = c.get("penalty") == "l1"
        params: dict[str, Any] = {"C": c["C"], "max_iter": int(self.options.get("max_iter", 1000)),
                                  "solver": "liblinear" if l1 else "lbfgs", "random_state": self.seed}
        params.update(_penalty(l1))
        return params

    def fit(self, x: pd.DataFrame, y: np.ndarray, valid: tuple[pd.DataFrame, np.ndarray] | None,
            steps: int | None) -> Fitted:
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        onehot = self._onehot_columns(x)
        scaled = [c for c in x.columns if c not in onehot]
        columns = ColumnTransformer([("standardised", StandardScaler(), scaled), ("onehot", "passthrough", onehot)])
        estimator = Ridge(**self.params()) if self.task == "regression" else LogisticRegression(**self.params())
        model = Pipeline([("columns", columns), ("model", estimator)]).fit(x, y)
        curves: Curves = {}
        if valid is not None:
            scored: dict[Split, tuple[pd.DataFrame, np.ndarray]] = {"train": (x, y), "valid": valid}
            for split, (features, truth) in scored.items():
                predicted = probabilities(model, features, self.n_classes)
                for metric, value in score(self.task, truth, predicted, self.n_classes).items():
                    if metric != "auc":
                        curves[(split, metric)] = [value]
        return Fitted(model, curves)

    def predict_at(self, model: Any, x: pd.DataFrame, steps: int, n_classes: int) -> np.ndarray:
        return probabilities(model, x, n_classes)

    def _onehot_columns(self, x: pd.DataFrame) -> list[str]:
        """The 0/1 columns of one-hot categories: left as they are, so a category's weight stays readable."""
        if self.config["categorical_encoding"] != "onehot":
            return []
        return [c for c in x.columns if "=" in c and set(np.unique(x[c])) <= {0.0, 1.0}]


def _penalty(l1: bool) -> dict[str, Any]:
    """The L1/L2 switch in the installed scikit-learn's spelling (``l1_ratio`` since ``penalty`` was deprecated)."""
    from sklearn.linear_model import LogisticRegression

    if inspect.signature(LogisticRegression).parameters["penalty"].default == "deprecated":
        return {"l1_ratio": 1.0 if l1 else 0.0}
    return {"penalty": "l1" if l1 else "l2"}
