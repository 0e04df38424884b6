"""One trial of a scikit-learn learner of the tabular backend (histogram gradient boosting, the linear model).

Imported only when a trial runs. The policy is XGBoost's (:mod:`.trainer`), on the same rows (:mod:`.rows`) and
with the same preprocessing (:mod:`.features`): each validation pair is preprocessed on its training rows, the
learner fits and gives its per-step train/valid curves, which stream through ``request.report`` (a True answer
stops the trial as ``PRUNED``); the best step is where the mean validation loss is lowest; validation metrics
are scored out of fold at that step; when the card has a test file or validation was k-fold, a final model is
refitted on all training rows for the best number of steps and tested, else the holdout pair is refitted on its
training rows for that many steps. Saved in the trial folder: ``model.joblib`` (a scikit-learn estimator that
takes the preprocessed matrix), ``preprocessor.json``, ``config.json`` and ``metrics.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from automl_gpt.training import LogRecord, Split, TrainingRequest, TrialResult, TrialState
from automl_gpt_backend_tabular import data, rows
from automl_gpt_backend_tabular.features import Preprocessor
from automl_gpt_backend_tabular.saved_model import write_trial_files
from automl_gpt_backend_tabular.trainer import OBJECTIVE_METRIC, TrialBase, score
from automl_gpt_backend_tabular.valid_predictions import ValidPredictions, rows_source

Curves = dict[tuple[Split, str], list[float]]


@dataclass
class Fitted:
    """A fitted estimator and its per-step curves (``(split, metric)`` -> one value per step, step 1 first)."""

    model: Any
    curves: Curves


class Learner:
    """What a scikit-learn learner supplies to :class:`SklearnTrial`. One instance serves one trial."""

    name = ""

    def __init__(self, task: str, n_classes: int, config: dict[str, Any], options: dict[str, Any], seed: int) -> None:
        self.task, self.n_classes, self.config, self.options, self.seed = task, n_classes, config, options, seed

    def preprocessing(self) -> tuple[str, str]:
        """The ``(categorical_encoding, missing_values)`` the :class:`Preprocessor` applies."""
        return str(self.config["categorical_encoding"]), str(self.config["missing_values"])

    def fit(self, x: pd.DataFrame, y: np.ndarray, valid: tuple[pd.DataFrame, np.ndarray] | None,
            steps: int | None) -> Fitted:
        """Fit on ``x, y``; with ``valid``, record curves on it (and stop early); ``steps`` fixes the step count."""
        raise NotImplementedError

    def predict_at(self, model: Any, x: pd.DataFrame, steps: int, n_classes: int) -> np.ndarray:
        """Predictions after ``steps`` steps: P(second class) for binary, one column per class, or values."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The estimator's parameters, as saved in ``config.json``."""
        raise NotImplementedError


def probabilities(model: Any, x: pd.DataFrame, n_classes: int) -> np.ndarray:
    """``predict_proba`` with one column per class of the label space (a class absent from the fitted rows gets 0);
    P(second class) alone for binary, values for regression."""
    if n_classes == 0:
        return np.asarray(model.predict(x), dtype="float64")
    return class_columns(model.predict_proba(x), model.classes_, n_classes)


def class_columns(proba: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over ``classes`` spread into all ``n_classes`` columns (binary: the second column only)."""
    full = np.zeros((len(proba), n_classes))
    full[:, np.asarray(classes, dtype="int64")] = proba
    return full[:, 1] if n_classes == 2 else full


class SklearnTrial(TrialBase):
    """Runs one :class:`Learner` through the tabular backend's trial policy."""

    def __init__(self, request: TrainingRequest, learner: type[Learner]) -> None:
        super().__init__(request)
        self.learner_class = learner
        self.objective = OBJECTIVE_METRIC[self.task]

    def run(self) -> TrialResult:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.nthread):
            return self._run()

    def _run(self) -> TrialResult:
        self.labels = rows.class_labels(self.card)
        self.n_classes = len(self.labels) if self.labels else 0
        self.learner = self.learner_class(self.task, self.n_classes, self.config, self.options, self.request.seed)
        seed = int(self.options.get("split_seed", 0))
        train = rows.subsample(data.load_split(self.card, "train", self.labels), self.limits.get("max_rows"), seed)
        self.column_types = train.column_types
        splits = rows.validation_splits(self.card, train, self.labels, self.config, self.options)
        fits = []
        for split in splits:
            preprocessor, x, y = self._prepared(split.fit, split.fit_rows)
            valid_x = preprocessor.transform(split.valid.features.iloc[split.valid_rows])
            fits.append((preprocessor, x, y, valid_x, self.learner.fit(
                x, y, (valid_x, split.valid.target[split.valid_rows]), self._max_steps())))
        curves = _mean_curves([f[-1].curves for f in fits])
        for step in range(len(curves[("valid", self.objective)])):
            for (split_name, metric), values in curves.items():
                record = LogRecord(step + 1, split_name, metric, values[step])
                self.log.append(record)
                if self.request.report(record):
                    return self._pruned()
        steps = int(np.argmin(curves[("valid", self.objective)])) + 1
        truth = np.concatenate([s.valid.target[s.valid_rows] for s in splits])
        predicted = np.concatenate([self.learner.predict_at(f[-1].model, f[3], steps, self.n_classes) for f in fits])
        kept = ValidPredictions.from_folds(rows_source(self.card, self.config),  # kept for ensembles
                                           [s.valid_rows for s in splits], [truth], [predicted])
        metrics = {f"valid/{k}": v for k, v in score(self.task, truth, predicted, self.n_classes).items()}
        metrics[f"train/{self.objective}"] = curves[("train", self.objective)][steps - 1]
        refit = self.card.test is not None or self.config["validation"] == "kfold"
        if refit:
            preprocessor, x, y = self._prepared(train, np.arange(len(train.target)))
        else:
            preprocessor, x, y = fits[0][:3]
        model = self.learner.fit(x, y, None, steps).model
        if self.card.test is not None:
            test = data.load_split(self.card, "test", self.labels)
            predicted = self.learner.predict_at(model, preprocessor.transform(test.features), steps, self.n_classes)
            tested = score(self.task, test.target, predicted, self.n_classes)
            metrics.update({f"test/{k}": v for k, v in tested.items()})
        artifacts = self._save(model, preprocessor, steps, refit, metrics)
        artifacts["valid_predictions"] = str(kept.save(self.workdir))
        return TrialResult(TrialState.COMPLETE, metrics=metrics, log=self.log, artifacts=artifacts)

    def _max_steps(self) -> int | None:
        cap = self.limits.get("max_rounds")
        return int(cap) if cap else None

    def _prepared(self, table: data.Table, fit_rows: np.ndarray) -> tuple[Preprocessor, pd.DataFrame, np.ndarray]:
        features, target = table.features.iloc[fit_rows], table.target[fit_rows]
        encoding, missing = self.learner.preprocessing()
        preprocessor = Preprocessor.fit(features, table.column_types, target, task=self.task,
                                        n_classes=self.n_classes, encoding=encoding, missing=missing,
                                        smoothing=float(self.options.get("target_smoothing", 20)))
        seed = int(self.options.get("split_seed", 0))
        return preprocessor, preprocessor.transform_train(features, target, seed=seed), target

    def _pruned(self) -> TrialResult:
        best = self.log.best("valid", self.objective, "minimize")
        metrics = {} if best is None else {f"valid/{self.objective}": best}
        return TrialResult(TrialState.PRUNED, metrics=metrics, log=self.log)

    def _save(self, model: Any, preprocessor: Preprocessor, steps: int, refit: bool,
              metrics: dict[str, float]) -> dict[str, str]:
        import joblib
        import sklearn

        self.workdir.mkdir(parents=True, exist_ok=True)
        paths = {"model": self.workdir / "model.joblib",
                 **{name: self.workdir / f"{name}.json" for name in ("preprocessor", "config", "metrics")}}
        joblib.dump(model, paths["model"])
        preprocessor.save(paths["preprocessor"])
        return write_trial_files(
            self, paths, preprocessor, n_rounds=steps, refit=refit, metrics=metrics,
            backend=self.request.model_card.backend, learner=self.learner.name,
            estimator_params=self.learner.params(),
            versions={"scikit-learn": sklearn.__version__, "pandas": pd.__version__, "numpy": np.__version__},
        )


def _mean_curves(per_fold: list[Curves]) -> Curves:
    """The mean of each curve over the folds, up to the shortest fold's length (folds may stop early apart)."""
    length = min(len(values) for curves in per_fold for values in curves.values())
    return {key: [float(np.mean([curves[key][i] for curves in per_fold])) for i in range(length)]
            for key in per_fold[0]}
