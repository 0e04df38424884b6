"""Predicting new rows with a trial's saved model, with exactly the reading, typing and preprocessing it trained on.

Input rules (a :class:`~automl_gpt.errors.DataError` names the file and the fix): every feature column the model
was trained on must be present (extra columns, the target among them, are ignored); a numeric column must hold
numbers. Categories never seen in training are *handled*, not refused: they are logged, listed in the report's
warnings, and encoded as the trial's preprocessing encodes an unknown category (missing for the native
encoding, no one-hot column set, the prior for target encoding).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from automl_gpt.cards.table import read_table
from automl_gpt.errors import DataError, UsageError
from automl_gpt.prediction import PredictionReport, TablePredictor, check_output, warn
from automl_gpt_backend_tabular import data
from automl_gpt_backend_tabular.saved_model import SavedModel

OUTPUT_SUFFIXES = (".csv", ".parquet")


class XGBoostPredictor(TablePredictor):
    """A trial's saved booster and preprocessor, predicting tables."""

    def __init__(self, model_path: Path) -> None:
        super().__init__(model_path)
        folder = model_path.parent if model_path.is_file() else model_path
        if not folder.is_dir():
            raise UsageError(f"{model_path}: no saved model there (give a trial's model.json or its folder)")
        self._use(SavedModel.load(folder))

    def _use(self, saved: SavedModel) -> None:
        """Read options, column types and labels from ``saved``."""
        self.saved = saved
        config = self.saved.config
        self.task = str(config["task"])
        self.labels = self.saved.labels
        state = self.saved.preprocessor.state
        self.column_types: dict[str, str] = config.get("column_types") or {
            **{c: "numeric" for c in state["numeric"]}, **{c: "categorical" for c in state["categorical"]}}
        self.feature_columns = list(self.column_types)

    def predict_table(self, frame: pd.DataFrame, source: str = "the table") -> tuple[pd.DataFrame, list[str]]:
        warnings: list[str] = []
        frame = frame.rename(columns=lambda c: str(c).strip())
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise DataError(f"{source}: missing column(s) {', '.join(map(repr, missing[:10]))} that the model was "
                            f"trained on (it has: {', '.join(map(str, frame.columns[:20]))}); add them, or check "
                            "the header and separator")
        if frame.empty:
            raise DataError(f"{source}: no rows to predict")
        features = data.prepare_features(frame, self.column_types, source)
        self._note_unseen(features, source, warnings)
        return self._output(self._raw(features), frame.index), warnings

    def _raw(self, features: pd.DataFrame) -> np.ndarray:
        """The model's raw predictions (probabilities or values) of typed feature rows."""
        return self.saved.predict(features)

    def predict_file(self, data_path: Path, out: Path) -> PredictionReport:
        check_output(out, OUTPUT_SUFFIXES)
        if not data_path.is_file():
            raise DataError(f"{data_path}: not a file (give a CSV or Parquet table with the model's feature columns)")
        options = dict(self.saved.config.get("read_options") or {})
        frame = read_table(data_path, options, split=self._file_kind(data_path),
                           fix="give a CSV or Parquet table with the model's feature columns")
        predictions, warnings = self.predict_table(frame, str(data_path))
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".parquet":
            predictions.to_parquet(out, index=False)
        else:
            predictions.to_csv(out, index=False)
        return PredictionReport(out, len(predictions), warnings)

    def _file_kind(self, path: Path) -> str:
        """``test`` when predicting the trial's own test file (read with its ``test_skiprows``), else ``data``."""
        test_file = self.saved.config.get("test_file")
        return "test" if test_file and path.resolve() == Path(test_file).resolve() else "data"

    def _note_unseen(self, features: pd.DataFrame, source: str, warnings: list[str]) -> None:
        categories = self.saved.preprocessor.state["categories"]
        for column, known in categories.items():
            values = features[column]
            unseen = values.notna() & ~values.isin(known)
            if unseen.any():
                examples = ", ".join(repr(v) for v in values[unseen].unique()[:3])
                warn(warnings, f"{source}: column '{column}': {int(unseen.sum())} row(s) hold categories unseen in "
                               f"training ({examples}); they are encoded as an unknown category")

    def _output(self, raw: np.ndarray, index: pd.Index) -> pd.DataFrame:
        if self.labels is None:
            return pd.DataFrame({"prediction": raw.astype("float64")}, index=index).reset_index(drop=True)
        binary = raw.ndim == 1
        probabilities = np.column_stack([1.0 - raw, raw]) if binary else raw
        chosen = (raw >= 0.5).astype("int64") if binary else probabilities.argmax(axis=1)  # as the metrics score it
        columns: dict[str, Any] = {"prediction": np.asarray(self.labels, dtype=object)[chosen]}
        for k, label in enumerate(self.labels):
            columns[f"proba_{label}"] = probabilities[:, k].astype("float64")
        return pd.DataFrame(columns, index=index).reset_index(drop=True)


class EnsemblePredictor(XGBoostPredictor):
    """A weighted ensemble of trials (``ensemble.json``): the weighted average of its members' probabilities (or
    values). Rows are read and typed once, as the heaviest member read them (every member trained on the same
    card); unseen categories are reported against that member's categories."""

    def __init__(self, model_path: Path, members: list[tuple[Path, float]]) -> None:
        TablePredictor.__init__(self, model_path)
        missing = [str(folder) for folder, _ in members if not folder.is_dir()]
        if missing:
            raise UsageError(f"{model_path}: member trial folder(s) {', '.join(missing)} are gone; rebuild it with "
                             "'automl-gpt ensemble RUN'")
        self.members = [(SavedModel.load(folder), weight) for folder, weight in members]
        self._use(self.members[0][0])

    def _raw(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(sum(weight * saved.predict(features).astype("float64") for saved, weight in self.members))
