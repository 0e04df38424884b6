"""Reloading a trained trial (``model.json`` + ``preprocessor.json`` + ``config.json``) to predict new rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from automl_gpt.errors import TrainingError
from automl_gpt_backend_tabular.features import Preprocessor


@dataclass
class SavedModel:
    """A trial's saved booster with the preprocessing it was trained with."""

    booster: Any
    preprocessor: Preprocessor
    config: dict[str, Any]

    @classmethod
    def load(cls, folder: str | Path) -> SavedModel:
        """Load the artifacts a trial wrote into ``folder`` (its workdir)."""
        import xgboost as xgb

        folder = Path(folder)
        missing = [n for n in ("model.json", "preprocessor.json", "config.json") if not (folder / n).exists()]
        if missing:
            raise TrainingError(f"{folder}: not a trained xgboost trial (missing {', '.join(missing)})")
        booster = xgb.Booster(model_file=str(folder / "model.json"))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        booster.set_param({"nthread": int(config.get("nthread", 1))})
        return cls(booster, Preprocessor.load(folder / "preprocessor.json"), config)

    @property
    def labels(self) -> list[str] | None:
        """Class labels in the order of the probability columns (None for regression)."""
        return self.config.get("labels")

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """P(second label) for binary, one column per label for multiclass, values for regression.

        ``features`` holds the typed feature columns, as :func:`automl_gpt_backend_tabular.data.load_split` reads them.
        """
        import xgboost as xgb

        matrix = xgb.DMatrix(self.preprocessor.transform(features), enable_categorical=True)
        return np.asarray(self.booster.predict(matrix))
