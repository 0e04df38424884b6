"""One XGBoost trial, for real: data, folds, a round-by-round training loop that streams its log, refit, save.

Imported only when a trial runs (it imports XGBoost). Policy, in order:

1. Rows: the card's training file (``limits['max_rows']`` keeps a seeded random subset, for quick runs).
2. Validation: ``holdout`` scores on the card's valid file, else on a fixed stratified ``valid_fraction`` of the
   training rows (``split_seed`` from the model card, the same for every trial, so trials are comparable);
   ``kfold`` trains ``folds`` boosters in lock-step and scores out of fold. Preprocessing is fitted per fold on
   its training rows only.
3. Rounds: up to ``n_estimators`` (capped by ``limits['max_rounds']``), stopping after ``early_stopping_rounds``
   rounds without a better validation loss; the best round is kept. Every round streams train and validation
   loss and metrics through ``request.report``; when it returns True the trial stops and is ``PRUNED``.
4. Refit: when the card has a test file (or validation was k-fold), a final model is trained on all training
   rows for the best number of rounds scaled by the rows gained (:func:`.rows.refit_rounds`: x 1.25 for the
   default 20% holdout or 5 folds; capped by ``limits['max_rounds']``) and scored on the test file (``test/...``
   metrics). Otherwise the saved model is the holdout model cut at its best round.
5. Saved in the trial folder: ``model.json`` (XGBoost), ``preprocessor.json``, ``config.json`` (the exact
   configuration, XGBoost parameters, rounds (``n_rounds`` the best on validation, ``refit_rounds`` the saved
   refit's), labels, column types, read options, threads, versions),
   ``metrics.json`` and ``valid_predictions.npz`` (the validation or out-of-fold predictions, for ensembles).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from automl_gpt.errors import AutomlGptError
from automl_gpt.training import LogRecord, Split, TrainingLog, TrainingRequest, TrialResult, TrialState
from automl_gpt_backend_tabular import data, rows
from automl_gpt_backend_tabular.features import Preprocessor
from automl_gpt_backend_tabular.saved_model import write_trial_files
from automl_gpt_backend_tabular.valid_predictions import ValidPredictions, rows_source

# XGBoost's per-round metrics (AUC only at the end: per round it costs as much as the boosting itself).
# Streamed as logloss / accuracy (1 - error) / rmse / mae.
EVAL_METRICS = {
    "binary": ("logloss", "error"),
    "multiclass": ("mlogloss", "merror"),
    "regression": ("rmse", "mae"),
}
RENAME = {"mlogloss": "logloss", "error": "accuracy", "merror": "accuracy"}
EVAL_SPLITS: dict[str, Split] = {"train": "train", "valid": "valid"}  # XGBoost's evaluation names -> log splits
OBJECTIVE_METRIC = {"binary": "logloss", "multiclass": "logloss", "regression": "rmse"}


@dataclass
class Fold:
    """One training/validation pair, preprocessed, as XGBoost matrices."""

    train: Any
    valid: Any
    valid_rows: np.ndarray


def threads(limits: dict[str, Any]) -> int:
    """Threads for XGBoost: ``limits['threads']`` when set, else every core this process may use."""
    if limits.get("threads"):
        return max(1, int(limits["threads"]))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_trial(request: TrainingRequest, trial: Callable[[TrainingRequest], Any] | None = None) -> TrialResult:
    """Train one configuration; any trial-level problem becomes a FAIL result with a one-line reason.

    ``trial`` builds the trial object whose ``run()`` trains (another learner's; XGBoost's by default).
    """
    started = time.monotonic()
    try:
        result = (trial or _Trial)(request).run()
    except MemoryError:
        result = TrialResult(TrialState.FAIL, error="out of memory (lower limits.max_rows, max_bin or max_depth)")
    except AutomlGptError as exc:
        result = TrialResult(TrialState.FAIL, error=_one_line(str(exc)))
    except Exception as exc:  # a crash inside XGBoost or pandas fails this trial, never the run
        result = TrialResult(TrialState.FAIL, error=f"{type(exc).__name__}: {_one_line(str(exc))}")
    result.duration_s = time.monotonic() - started
    return result


class TrialBase:
    """What every tabular learner's trial takes from its request: the card and task, the model card's options, the
    checked configuration, the limits and threads, an empty log and the folder to save into. ``labels`` and
    ``column_types`` are set once the training data is read."""

    labels: list[str] | None
    column_types: dict[str, str]

    def __init__(self, request: TrainingRequest) -> None:
        self.request = request
        self.card = request.data_card
        self.task = self.card.task
        self.options = dict(request.model_card.options)
        self.config = request.model_card.space().check(dict(request.config))
        self.limits = dict(request.limits)
        self.nthread = threads(self.limits)
        self.log = TrainingLog()
        self.workdir = Path(request.workdir)


class _Trial(TrialBase):

    def run(self) -> TrialResult:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # effective when XGBoost's OpenMP is not yet loaded
        import xgboost as xgb

        labels = self._labels()
        self.n_classes = len(labels) if labels else 0
        self.labels = labels
        train = self._subsample(data.load_split(self.card, "train", labels))
        self.column_types = train.column_types
        folds, splits = self._folds(xgb, train)
        params = self._params()
        boosters = [xgb.Booster(params, [f.train, f.valid]) for f in folds]
        rounds = int(self.config["n_estimators"])
        if self.limits.get("max_rounds"):
            rounds = min(rounds, int(self.limits["max_rounds"]))
        patience = int(self.options.get("early_stopping_rounds", 50))
        objective = OBJECTIVE_METRIC[self.task]
        best_value, best_round = math.inf, 0
        for round_index in range(rounds):
            values = self._round(boosters, folds, round_index)
            for (split, metric), value in values.items():
                record = LogRecord(round_index + 1, split, metric, value)
                self.log.append(record)
                if self.request.report(record):
                    return self._pruned()
            current = values[("valid", objective)]
            if current < best_value:
                best_value, best_round = current, round_index
            elif round_index - best_round >= patience:
                break
        n_rounds = best_round + 1
        metrics = self._valid_metrics(boosters, folds, train, n_rounds)
        metrics[f"train/{objective}"] = self.log.curve("train", objective)[best_round][1]
        extra: dict[str, Any] = {}
        if self.card.test is not None or self.config["validation"] == "kfold":
            extra["refit_rounds"] = rows.refit_rounds(n_rounds, splits, len(train.target))
            if self.limits.get("max_rounds"):
                extra["refit_rounds"] = min(extra["refit_rounds"], int(self.limits["max_rounds"]))
            booster, preprocessor = self._refit(xgb, params, train, extra["refit_rounds"])
            if self.card.test is not None:
                metrics.update(self._test_metrics(xgb, booster, preprocessor, labels))
            refit = True
        else:
            booster, preprocessor, refit = boosters[0][:n_rounds], self._holdout_preprocessor, False
        artifacts = self._save(booster, preprocessor, params, n_rounds, refit, metrics, extra)
        artifacts["valid_predictions"] = str(self.valid_predictions.save(self.workdir))
        return TrialResult(TrialState.COMPLETE, metrics=metrics, log=self.log, artifacts=artifacts)

    # -- data -------------------------------------------------------------------------------------------------

    def _labels(self) -> list[str] | None:
        return rows.class_labels(self.card)

    def _subsample(self, table: data.Table) -> data.Table:
        return rows.subsample(table, self.limits.get("max_rows"), int(self.options.get("split_seed", 0)))

    def _folds(self, xgb: Any, train: data.Table) -> tuple[list[Fold], list[rows.RowSplit]]:
        splits = rows.validation_splits(self.card, train, self.labels, self.config, self.options)
        return [self._fold(xgb, s.fit, s.valid, s.fit_rows, s.valid_rows) for s in splits], splits

    def _fold(self, xgb: Any, fit: data.Table, valid: data.Table, fit_rows: np.ndarray, valid_rows: np.ndarray) -> Fold:
        fit_x, fit_y = fit.features.iloc[fit_rows], fit.target[fit_rows]
        preprocessor = self._preprocessor(fit_x, fit.column_types, fit_y)
        train_matrix = preprocessor.transform_train(fit_x, fit_y, seed=int(self.options.get("split_seed", 0)))
        valid_matrix = preprocessor.transform(valid.features.iloc[valid_rows])
        self._holdout_preprocessor = preprocessor
        return Fold(
            self._dmatrix(xgb, train_matrix, fit_y),
            self._dmatrix(xgb, valid_matrix, valid.target[valid_rows]),
            valid_rows,
        )

    def _preprocessor(self, frame: pd.DataFrame, types: dict[str, str], target: np.ndarray) -> Preprocessor:
        return Preprocessor.fit(
            frame,
            types,
            target,
            task=self.task,
            n_classes=self.n_classes,
            encoding=str(self.config["categorical_encoding"]),
            missing=str(self.config["missing_values"]),
            smoothing=float(self.options.get("target_smoothing", 20)),
        )

    def _dmatrix(self, xgb: Any, matrix: pd.DataFrame, target: np.ndarray) -> Any:
        return xgb.DMatrix(matrix, label=target, enable_categorical=True, nthread=self.nthread)

    # -- training ---------------------------------------------------------------------------------------------

    def _params(self) -> dict[str, Any]:
        c = self.config
        params: dict[str, Any] = {
            "tree_method": "hist",
            "eta": c["learning_rate"],
            "max_depth": c["max_depth"],
            "min_child_weight": c["min_child_weight"],
            "subsample": c["subsample"],
            "colsample_bytree": c["colsample_bytree"],
            "alpha": c["reg_alpha"],
            "lambda": c["reg_lambda"],
            "gamma": c["gamma"],
            "max_bin": c["max_bin"],
            "grow_policy": c["grow_policy"],
            "max_leaves": c.get("max_leaves", 0) if c["grow_policy"] == "lossguide" else 0,
            "seed": self.request.seed,
            "nthread": self.nthread,
            "verbosity": 0,
            "eval_metric": list(EVAL_METRICS[self.task]),
        }
        if self.task == "binary":
            weight = c.get("scale_pos_weight", 1.0) if c.get("reweight_classes") else 1.0
            params.update(objective="binary:logistic", scale_pos_weight=weight)
        elif self.task == "multiclass":
            params.update(objective="multi:softprob", num_class=self.n_classes)
        else:
            params.update(objective="reg:squarederror")
        return params

    def _round(self, boosters: list[Any], folds: list[Fold], index: int) -> dict[tuple[Split, str], float]:
        sums: dict[tuple[Split, str], float] = {}
        for booster, fold in zip(boosters, folds, strict=True):
            booster.update(fold.train, index)
            text = booster.eval_set([(fold.train, "train"), (fold.valid, "valid")], index)
            for item in text.split("\t")[1:]:
                name, value = item.rsplit(":", 1)
                eval_name, metric = name.split("-", 1)
                number = float(value)
                if metric in ("error", "merror"):
                    number = 1.0 - number
                key = (EVAL_SPLITS[eval_name], RENAME.get(metric, metric))
                sums[key] = sums.get(key, 0.0) + number
        return {key: total / len(folds) for key, total in sums.items()}

    def _pruned(self) -> TrialResult:
        objective = OBJECTIVE_METRIC[self.task]
        metrics = {}
        best = self.log.best("valid", objective, "minimize")
        if best is not None:
            metrics[f"valid/{objective}"] = best
        return TrialResult(TrialState.PRUNED, metrics=metrics, log=self.log)

    # -- scoring and refit ------------------------------------------------------------------------------------

    def _valid_metrics(
        self, boosters: list[Any], folds: list[Fold], train: data.Table, n_rounds: int
    ) -> dict[str, float]:
        truth, predictions = [], []
        for booster, fold in zip(boosters, folds, strict=True):
            predictions.append(booster.predict(fold.valid, iteration_range=(0, n_rounds)))
            truth.append(fold.valid.get_label())
        self.valid_predictions = ValidPredictions.from_folds(  # kept for ensembles
            rows_source(self.card, self.config), [f.valid_rows for f in folds], truth, predictions)
        return {
            f"valid/{k}": v
            for k, v in score(self.task, np.concatenate(truth), np.concatenate(predictions), self.n_classes).items()
        }

    def _refit(self, xgb: Any, params: dict[str, Any], train: data.Table, n_rounds: int) -> tuple[Any, Preprocessor]:
        preprocessor = self._preprocessor(train.features, train.column_types, train.target)
        matrix = preprocessor.transform_train(train.features, train.target, seed=int(self.options.get("split_seed", 0)))
        refit_params = {k: v for k, v in params.items() if k != "eval_metric"}
        booster = xgb.train(refit_params, self._dmatrix(xgb, matrix, train.target), num_boost_round=n_rounds)
        return booster, preprocessor

    def _test_metrics(
        self, xgb: Any, booster: Any, preprocessor: Preprocessor, labels: list[str] | None
    ) -> dict[str, float]:
        test = data.load_split(self.card, "test", labels)
        matrix = self._dmatrix(xgb, preprocessor.transform(test.features), test.target)
        predictions = booster.predict(matrix)
        return {f"test/{k}": v for k, v in score(self.task, test.target, predictions, self.n_classes).items()}

    def _save(
        self,
        booster: Any,
        preprocessor: Preprocessor,
        params: dict[str, Any],
        n_rounds: int,
        refit: bool,
        metrics: dict[str, float],
        extra: dict[str, Any],
    ) -> dict[str, str]:
        import xgboost as xgb

        self.workdir.mkdir(parents=True, exist_ok=True)
        paths = {name: self.workdir / f"{name}.json" for name in ("model", "preprocessor", "config", "metrics")}
        booster.save_model(paths["model"])
        preprocessor.save(paths["preprocessor"])
        return write_trial_files(
            self, paths, preprocessor, n_rounds=n_rounds, refit=refit, metrics=metrics, backend="xgboost",
            xgboost_params=params,
            **extra,
            versions={"xgboost": xgb.__version__, "pandas": pd.__version__, "numpy": np.__version__},
        )


def score(task: str, truth: np.ndarray, predictions: np.ndarray, n_classes: int) -> dict[str, float]:
    """Loss and metrics of predictions (probabilities, or values for regression) against the truth."""
    from sklearn.metrics import log_loss, mean_absolute_error, roc_auc_score

    if task == "regression":
        error = predictions - truth
        return {"rmse": float(np.sqrt(np.mean(error**2))), "mae": float(mean_absolute_error(truth, predictions))}
    truth = truth.astype("int64")
    if task == "binary":
        result = {
            "logloss": float(log_loss(truth, predictions, labels=[0, 1])),
            "accuracy": float(np.mean((predictions >= 0.5) == truth)),
        }
        if len(np.unique(truth)) == 2:
            result["auc"] = float(roc_auc_score(truth, predictions))
        return result
    return {
        "logloss": float(log_loss(truth, predictions, labels=list(range(n_classes)))),
        "accuracy": float(np.mean(np.argmax(predictions, axis=1) == truth)),
    }


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else "unknown error")[:300]
