"""A trained trial's files (``model.json`` or ``model.joblib`` + ``preprocessor.json`` + ``config.json`` +
``metrics.json``): writing them after training, and reloading them to predict new rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from automl_gpt.errors import TrainingError
from automl_gpt_backend_tabular.features import Preprocessor

if TYPE_CHECKING:  # the trainer imports this module
    from automl_gpt_backend_tabular.trainer import TrialBase


def write_trial_files(trial: TrialBase, paths: dict[str, Path], preprocessor: Preprocessor, *, n_rounds: int,
                      refit: bool, metrics: dict[str, float], **specific: Any) -> dict[str, str]:
    """Write ``config.json`` (what every learner's trial saves to predict exactly as it trained, plus the learner's
    ``specific`` entries) and ``metrics.json`` beside the saved model; returns the artifact paths by name."""
    card = trial.card
    saved = {
        "model_card": trial.request.model_card.name,
        "data_card": card.name,
        "task": trial.task,
        "target": card.target,
        "labels": trial.labels,
        "config": trial.config,
        "n_rounds": n_rounds,
        "refit_on_full_train": refit,
        "seed": trial.request.seed,
        "nthread": trial.nthread,
        "limits": trial.limits,
        "model_card_options": trial.options,
        "features": preprocessor.feature_names,
        "column_types": trial.column_types,
        "read_options": card.read_options,
        "test_file": str(card.split_path("test")) if card.test is not None else None,
        **specific,
    }
    paths["config"].write_text(json.dumps(saved, indent=1, default=str), encoding="utf-8")
    paths["metrics"].write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    return {name: str(path) for name, path in paths.items()}


@dataclass
class SavedModel:
    """A trial's saved model (an XGBoost booster, or a scikit-learn estimator) with the preprocessing it was trained
    with."""

    booster: Any
    preprocessor: Preprocessor
    config: dict[str, Any]

    @classmethod
    def load(cls, folder: str | Path) -> SavedModel:
        """Load the artifacts a trial wrote into ``folder`` (its workdir)."""
        folder = Path(folder)
        model_file = "model.joblib" if (folder / "model.joblib").exists() else "model.json"
        missing = [n for n in (model_file, "preprocessor.json", "config.json") if not (folder / n).exists()]
        if missing:
            raise TrainingError(f"{folder}: not a trained tabular trial (missing {', '.join(missing)})")
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if model_file == "model.joblib":
            import joblib

            model = joblib.load(folder / model_file)  # a pickle the user's own trial wrote, like any sklearn model
        else:
            import xgboost as xgb

            model = xgb.Booster(model_file=str(folder / model_file))
            model.set_param({"nthread": int(config.get("nthread", 1))})
        return cls(model, Preprocessor.load(folder / "preprocessor.json"), config)

    @property
    def labels(self) -> list[str] | None:
        """Class labels in the order of the probability columns (None for regression)."""
        return self.config.get("labels")

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """P(second label) for binary, one column per label for multiclass, values for regression.

        ``features`` holds the typed feature columns, as :func:`automl_gpt_backend_tabular.data.load_split` reads them.
        """
        matrix = self.preprocessor.transform(features)
        if "learner" in self.config:
            from automl_gpt_backend_tabular.sklearn_trial import probabilities

            return probabilities(self.booster, matrix, len(self.labels or ()))
        import xgboost as xgb

        return np.asarray(self.booster.predict(xgb.DMatrix(matrix, enable_categorical=True)))
