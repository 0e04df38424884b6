"""scikit-learn estimators that tune a table model with the automl-gpt loop: ``AutoMLClassifier``, ``AutoMLRegressor``.

``fit(X, y)`` writes the table (a DataFrame, or an array whose columns become ``x0``, ``x1``...) and a data card
drafted from it into a data folder, runs the same loop as ``automl-gpt run`` into a run folder beside it, and loads
the best trial's saved model through its backend's :meth:`~automl_gpt.training.Backend.load_model`. The run folder
is an ordinary run (``automl-gpt report``, ``automl-gpt predict`` work on it); it lives under ``output_dir``, a new
temporary folder by default. The default planner is ``tpe``: fast and offline (``planner="llm"`` asks the LLM).

Needs the ``[tabular]`` extra (scikit-learn, XGBoost, pyarrow); ``import automl_gpt`` stays light, this module
is imported on first use of the classes.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from automl_gpt.errors import TrainingError
from automl_gpt.prediction import TablePredictor
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _assert_all_finite,
    check_array,
    check_consistent_length,
    check_is_fitted,
    check_X_y,
    column_or_1d,
    validate_data,
)

__all__ = ["AutoMLClassifier", "AutoMLRegressor"]
MIN_ROWS = 2  # a trial validates on rows it did not fit


class _AutoML(BaseEstimator):
    """What the classifier and the regressor share; see :class:`AutoMLClassifier` for the parameters."""

    _kind = ""
    columns_: list[str]

    def __init__(self, *, budget: int = 10, planner: str = "tpe", llm: str = "local",
                 time_budget_s: float | None = None, seed: int = 0, output_dir: str | Path | None = None,
                 limits: dict[str, Any] | None = None, experience: bool = False, verbose: int = 0) -> None:
        self.budget = budget
        self.planner = planner
        self.llm = llm
        self.time_budget_s = time_budget_s
        self.seed = seed
        self.output_dir = output_dir
        self.limits = limits
        self.experience = experience
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are a data-processing choice of each trial
        return tags

    # -- fitting ----------------------------------------------------------------------------------------------

    def _fit(self, X: Any, y: Any, task: str, labels: list[str] | None) -> None:
        from automl_gpt.plugins import get_plugin_manager
        from automl_gpt.runs.loop import run

        frame = self._features(X)
        root = Path(self.output_dir) if self.output_dir is not None else Path(tempfile.mkdtemp(prefix="automl-gpt-"))
        card = write_table(frame, y, root, name=f"automl-{self._kind}", task=task, labels=labels)
        result = run(card, planner=self.planner, llm=self.llm, budget=self.budget, time_budget_s=self.time_budget_s,
                     seed=self.seed, out=root, limits=dict(self.limits or {}), experience=self.experience,
                     echo=None if self.verbose else _quiet)
        if result.model_path is None:
            raise TrainingError(f"no trial completed, so there is no model (see {result.folder / 'report.html'})")
        backend = get_plugin_manager().backend(str(result.summary["backend"]))
        ensemble = result.summary.get("ensemble") or {}  # served as 'automl-gpt predict' serves it
        model = backend.load_model(Path(ensemble["model_path"] if ensemble.get("served") else result.model_path))
        if not isinstance(model, TablePredictor):
            raise TrainingError(f"backend '{backend.name}' does not predict tables in memory")
        self.model_ = model
        self.best_config_ = result.best_config
        self.best_score_ = result.best_value
        self.best_metrics_ = result.best_metrics
        self.run_dir_ = result.folder

    def _features(self, X: Any, reset: bool = True) -> pd.DataFrame:
        """``X`` as the DataFrame the model reads, checked as scikit-learn checks inputs."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            frame = X.copy()
            frame.columns = [str(c) for c in frame.columns]
        else:
            array = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan")
            frame = pd.DataFrame(array, columns=None if reset else self.columns_)
            if reset:
                frame.columns = [f"x{i}" for i in range(frame.shape[1])]
        if reset:
            self.columns_ = list(frame.columns)
        for column in frame.columns:
            values = frame[column]
            if pd.api.types.is_numeric_dtype(values) and np.isinf(values.to_numpy(dtype="float64")).any():
                raise ValueError(f"Input X contains infinity in column '{column}' (use NaN for missing values)")
        return frame.reset_index(drop=True)

    def _predict_table(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        predictions, _ = self.model_.predict_table(self._features(X, reset=False))
        return predictions


class AutoMLClassifier(ClassifierMixin, _AutoML):
    """Tunes a classifier on ``fit(X, y)`` with the automl-gpt loop; predicts with the model ``automl-gpt predict``
    serves: the run's ensemble of trials when it beat the best trial on validation, else the best trial's model.

    Parameters: ``budget`` (trials), ``planner`` (``tpe``, ``llm``, ``transfer``, ``random``, ``default``), ``llm``
    (provider for the ``llm`` planner), ``time_budget_s``, ``seed``, ``output_dir`` (where the data and run
    folders go; a new temporary folder when None), ``limits`` (backend caps such as ``max_rounds``, ``threads``),
    ``experience`` (warm-start from, and add to, the experience store), ``verbose`` (print the progress lines).

    Fitted attributes: ``classes_``, ``best_config_``, ``best_score_`` (validation objective), ``best_metrics_``,
    ``run_dir_``, ``model_``, ``n_features_in_`` and (DataFrames) ``feature_names_in_``.
    """

    _kind = "classifier"

    def fit(self, X: Any, y: Any) -> AutoMLClassifier:
        """Run the loop on the table ``X`` with labels ``y``."""
        X, y = _checked_xy(X, y, y_numeric=False)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        labels = [str(c) for c in self.classes_]
        if len(self.classes_) < 2:
            raise ValueError(f"y has one class only ({labels[0]!r}); a classifier needs at least two classes")
        if len(set(labels)) != len(labels):
            raise ValueError(f"class labels must stay distinct as text, got {labels[:10]}")
        task = "binary" if len(labels) == 2 else "multiclass"
        self._fit(X, np.asarray([str(v) for v in y], dtype=object), task, labels)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per class in ``classes_`` order."""
        predictions = self._predict_table(X)
        return predictions[[f"proba_{label}" for label in self.model_.labels or []]].to_numpy(dtype="float64")

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


class AutoMLRegressor(RegressorMixin, _AutoML):
    """Tunes a regressor on ``fit(X, y)`` with the automl-gpt loop; same parameters as :class:`AutoMLClassifier`."""

    _kind = "regressor"

    def fit(self, X: Any, y: Any) -> AutoMLRegressor:
        """Run the loop on the table ``X`` with numeric targets ``y``."""
        X, y = _checked_xy(X, y, y_numeric=True)
        self._fit(X, np.asarray(y, dtype="float64"), "regression", None)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The predicted value of each row."""
        return self._predict_table(X)["prediction"].to_numpy(dtype="float64")


def write_table(frame: pd.DataFrame, y: np.ndarray, root: Path, *, name: str, task: str,
                labels: list[str] | None) -> Path:
    """Write ``frame`` with target ``y`` as Parquet and a data card drafted from it; returns the card's path."""
    from automl_gpt.cards import DataCard, card_from_mapping
    from automl_gpt.cards.table import class_balance, column_info

    target = "target" if "target" not in frame.columns else f"target_{uuid.uuid4().hex[:6]}"
    table = frame.copy()
    for column in table.columns:  # mixed Python objects: text, so Parquet can hold them
        if table[column].dtype == object:
            table[column] = table[column].map(lambda v: v if v is None or v != v else str(v))
    table[target] = y
    folder = root / f"{name}-data-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    table.to_parquet(folder / "train.parquet", index=False)
    columns = {}
    for column in frame.columns:
        info = column_info(table[column])
        if pd.api.types.is_numeric_dtype(table[column]):  # numbers stay numbers (0/1 columns too)
            info["type"] = "numeric"
        columns[column] = info
    card: dict[str, Any] = {
        "name": name, "task": task, "modality": "tabular", "train": "train.parquet", "target": target,
        "description": f"A table of {len(table)} rows and {len(frame.columns)} features given to {name}.fit.",
        "n_rows": len(table), "n_features": len(frame.columns), "columns": columns,
    }
    if labels is not None:
        card["label_space"] = labels
        card["class_balance"] = class_balance(table[target], labels)
    path = folder / "card.yaml"
    path.write_text(card_from_mapping(DataCard, card).to_yaml(), encoding="utf-8")
    return path


def _checked_xy(X: Any, y: Any, *, y_numeric: bool) -> tuple[Any, np.ndarray]:
    """Check ``X`` and ``y`` as scikit-learn does (shapes, lengths, finite ``y``), keeping a DataFrame as it is."""
    if isinstance(X, pd.DataFrame):
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        _assert_all_finite(y, input_name="y")
        if len(X) < MIN_ROWS:
            raise ValueError(f"Found {len(X)} sample(s); at least {MIN_ROWS} are needed (one to fit, one to validate)")
    else:
        X, y = check_X_y(X, y, ensure_all_finite="allow-nan", y_numeric=y_numeric, dtype=None,
                         ensure_min_samples=MIN_ROWS)
    if y_numeric:
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
    return X, np.asarray(y)


def _quiet(_: str) -> None:
    """Progress lines are dropped unless ``verbose``."""
