"""Data-processing choices of a trial: categorical encoding and missing values, fitted on training rows only.

The fitted state is plain JSON (saved next to the model as ``preprocessor.json``), so a saved model can be
reloaded and applied to new rows without pickles.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MISSING_KEY = "__missing__"
TARGET_FOLDS = 5


class Preprocessor:
    """Turns typed feature columns into the matrix XGBoost trains on.

    ``categorical_encoding``: ``native`` (pandas categories, XGBoost's categorical splits), ``onehot`` (one 0/1
    column per category seen in training) or ``target`` (smoothed mean target per category; out-of-fold on the
    training rows so a row never sees its own label). ``missing_values``: ``native`` (left missing for XGBoost),
    ``impute`` (median / most frequent) or ``impute_indicator`` (impute and add ``<column>__missing``).
    """

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    # -- fitting ----------------------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        types: dict[str, str],
        target: np.ndarray,
        *,
        task: str,
        n_classes: int,
        encoding: str,
        missing: str,
        smoothing: float,
    ) -> Preprocessor:
        """Learn categories, fill values and target encodings from the training rows."""
        categorical = [c for c, t in types.items() if t == "categorical"]
        numeric = [c for c in types if c not in categorical]
        state: dict[str, Any] = {
            "categorical_encoding": encoding,
            "missing_values": missing,
            "task": task,
            "n_classes": n_classes,
            "numeric": numeric,
            "categorical": categorical,
            "categories": {c: sorted(frame[c].dropna().unique().tolist()) for c in categorical},
            "fill": {},
            "indicators": [],
            "target_encoding": None,
        }
        if missing != "native":
            for column in numeric:
                median = frame[column].median()
                state["fill"][column] = 0.0 if pd.isna(median) else float(median)
            for column in categorical:
                counts = frame[column].value_counts()
                state["fill"][column] = str(counts.index[0]) if len(counts) else MISSING_KEY
            if missing == "impute_indicator":
                state["indicators"] = [c for c in types if frame[c].isna().any()]
        if encoding == "target" and categorical:
            filled = cls(state)._filled(frame)
            state["target_encoding"] = _target_maps(
                filled, categorical, _target_matrix(target, task, n_classes), smoothing
            )
        return cls(state)

    # -- applying ---------------------------------------------------------------------------------------------

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model matrix for new rows (validation, test, or rows to predict)."""
        filled = self._filled(frame)
        return self._assemble(frame, filled, self._encode_target(filled))

    def transform_train(self, frame: pd.DataFrame, target: np.ndarray, *, seed: int) -> pd.DataFrame:
        """The model matrix for the rows it was fitted on; target encoding is computed out of fold."""
        filled = self._filled(frame)
        encoding = self.state["target_encoding"]
        if encoding is None:
            return self._assemble(frame, filled, None)
        categorical = self.state["categorical"]
        matrix = _target_matrix(target, self.state["task"], self.state["n_classes"])
        encoded = pd.DataFrame(index=frame.index, columns=self._target_columns(), dtype="float64")
        folds = np.random.default_rng(seed).integers(0, TARGET_FOLDS, size=len(frame))
        for fold in range(TARGET_FOLDS):
            inside = folds == fold
            if not inside.any() or inside.all():
                continue
            maps = _target_maps(filled[~inside], categorical, matrix[~inside], encoding["smoothing"])
            encoded.loc[inside] = self._encode_with(filled[inside], maps).to_numpy()
        return self._assemble(frame, filled, encoded)

    @property
    def feature_names(self) -> list[str]:
        return list(self.state.get("feature_names") or [])

    # -- persistence ------------------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.state, indent=1, default=_json_default), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Preprocessor:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    # -- internals --------------------------------------------------------------------------------------------

    def _filled(self, frame: pd.DataFrame) -> pd.DataFrame:
        state = self.state
        columns = state["numeric"] + state["categorical"]
        filled = frame[columns].copy()
        for column, value in state["fill"].items():
            filled[column] = filled[column].where(filled[column].notna(), value)
        return filled

    def _target_columns(self) -> list[str]:
        width = self.state["target_encoding"]["width"]
        return [_target_name(c, k, width) for c in self.state["categorical"] for k in range(width)]

    def _encode_target(self, filled: pd.DataFrame) -> pd.DataFrame | None:
        encoding = self.state["target_encoding"]
        return None if encoding is None else self._encode_with(filled, encoding)

    def _encode_with(self, filled: pd.DataFrame, encoding: dict[str, Any]) -> pd.DataFrame:
        width, prior = encoding["width"], encoding["prior"]
        out = {}
        for column in self.state["categorical"]:
            table = encoding["maps"][column]
            keys = filled[column].map(lambda v: MISSING_KEY if v is None or v != v else v)
            for k in range(width):
                lookup = {key: values[k] for key, values in table.items()}
                out[_target_name(column, k, width)] = keys.map(lookup).astype("float64").fillna(prior[k])
        return pd.DataFrame(out, index=filled.index)

    def _assemble(self, frame: pd.DataFrame, filled: pd.DataFrame, target_encoded: pd.DataFrame | None) -> pd.DataFrame:
        state = self.state
        parts: dict[str, pd.Series] = {c: filled[c].astype("float64") for c in state["numeric"]}
        encoding = state["categorical_encoding"]
        for column in state["categorical"]:
            values = filled[column]
            categories = state["categories"][column]
            if encoding == "native":
                known = values.where(values.isin(categories), None)  # unseen categories become missing
                parts[column] = pd.Series(pd.Categorical(known, categories=categories), index=frame.index)
            elif encoding == "onehot":
                for category in categories:
                    parts[f"{column}={category}"] = (values == category).astype("float64")
        if target_encoded is not None:
            for name in target_encoded.columns:
                parts[name] = target_encoded[name]
        for column in state["indicators"]:
            parts[f"{column}__missing"] = frame[column].isna().astype("float64")
        matrix = pd.DataFrame(parts, index=frame.index)
        matrix.columns = _safe_names(list(matrix.columns))
        state["feature_names"] = list(matrix.columns)
        return matrix


def _target_matrix(target: np.ndarray, task: str, n_classes: int) -> np.ndarray:
    if task == "multiclass":
        return np.eye(n_classes)[target.astype("int64")]
    return target.astype("float64").reshape(-1, 1)


def _target_maps(filled: pd.DataFrame, categorical: list[str], matrix: np.ndarray, smoothing: float) -> dict[str, Any]:
    prior = matrix.mean(axis=0)
    maps: dict[str, dict[str, list[float]]] = {}
    for column in categorical:
        keys = filled[column].map(lambda v: MISSING_KEY if v is None or v != v else v).to_numpy()
        stats = pd.DataFrame(matrix, columns=range(matrix.shape[1])).groupby(keys)
        sums, counts = stats.sum(), stats.size()
        encoded = (sums.to_numpy() + smoothing * prior) / (counts.to_numpy()[:, None] + smoothing)
        maps[column] = {str(key): row.tolist() for key, row in zip(sums.index, encoded, strict=True)}
    return {"width": int(matrix.shape[1]), "prior": prior.tolist(), "smoothing": smoothing, "maps": maps}


def _target_name(column: str, k: int, width: int) -> str:
    return f"{column}__target" if width == 1 else f"{column}__target{k}"


def _safe_names(names: list[str]) -> list[str]:
    """XGBoost refuses feature names with '[', ']' or '<'; keep names readable and unique."""
    seen: set[str] = set()
    out = []
    for name in names:
        safe = re.sub(r"[\[\]<,]", "_", name)
        while safe in seen:
            safe += "_"
        seen.add(safe)
        out.append(safe)
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot save {type(value).__name__} in preprocessor.json")
