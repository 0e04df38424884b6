"""The tabular backend's ensembles: greedy selection over the trials' validation predictions, saved as
``ensemble.json``, which :meth:`XGBoostBackend.load_model` serves.

Imported only when an ensemble is built or loaded. Rules:

1. Candidates: the completed trials that kept ``valid_predictions.npz`` with out-of-sample predictions on every
   validation row of the best single trial: trials scored on the same rows, and k-fold trials (out-of-fold on all
   training rows) restricted to a holdout best trial's rows. Selection and scores use those rows only.
2. Selection: :func:`automl_gpt.runs.ensemble.greedy_selection` minimising the objective (log-loss of the averaged
   probabilities, RMSE of the averaged values), best trial first, so ties go to better trials. Validation
   predictions only: the test split plays no part. Measured alternatives (a minimum-improvement stop, shrinking
   the weights toward uniform, a top-3/top-5 library, uniform weights) were no better on test on UCI Adult, so the
   plain rule stays (docs/benchmarks.md, "Ensembles of a run's trials").
3. Members are reused as each trial saved them: refit on all training rows when the card has a test file or the
   trial was k-fold (for the best number of rounds scaled by the rows gained), else the holdout model (the
   trainer's refit policy). The ensemble's test scores, when the
   card has a test file, come from one pass over it after selection.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from automl_gpt.errors import DamagedFileError, UsageError
from automl_gpt.planners.base import PastTrial
from automl_gpt.runs.ensemble import Ensemble, EnsembleRequest, greedy_selection
from automl_gpt_backend_tabular import data
from automl_gpt_backend_tabular.saved_model import SavedModel
from automl_gpt_backend_tabular.trainer import score
from automl_gpt_backend_tabular.valid_predictions import ValidPredictions

KIND = "automl-gpt xgboost ensemble"
FILE_NAME = "ensemble.json"


@dataclass
class Candidate:
    """A completed trial and its validation predictions."""

    trial: PastTrial
    kept: ValidPredictions

    @property
    def folder(self) -> Path:
        return Path(self.trial.result.artifacts["valid_predictions"]).parent


def build(request: EnsembleRequest) -> Ensemble:
    """Select, save and score the ensemble of the request's trials (see the module's rules)."""
    objective = request.objective
    sign = 1.0 if objective.direction == "minimize" else -1.0
    library = sorted(_candidates(request.trials),
                     key=lambda c: sign * float(c.trial.result.metrics[objective.key]))
    if not library:
        raise UsageError("no completed trial of this run kept its validation predictions (valid_predictions.npz; "
                         "runs made before ensembles existed kept none): run again to build an ensemble")
    best = library[0]
    same = [Candidate(c.trial, kept) for c in library if (kept := c.kept.on_rows_of(best.kept)) is not None]
    task, truth = request.data_card.task, best.kept.truth
    loss = objective_loss(task, truth)
    selection = greedy_selection([c.kept.predictions for c in same], lambda p: sign * loss(p), request.rounds)
    members = [(c, w) for c, w in zip(same, selection.weights, strict=True) if w > 0]
    combined = _normalised(sum(w * c.kept.predictions.astype("float64") for c, w in members))
    n_classes = _n_classes(best.kept.predictions)
    metrics = _prefixed("valid", score(task, truth, combined, n_classes))
    best_metrics = _prefixed("valid", score(task, truth, _normalised(best.kept.predictions), n_classes))
    if request.data_card.test is not None:
        metrics.update(_prefixed("test", test_scores(request, members, n_classes)))
        best_metrics.update({k: v for k, v in best.trial.result.metrics.items() if k.startswith("test/")})
    path = _write(request.folder / FILE_NAME, task, members, best, metrics, best_metrics, selection.trajectory)
    return Ensemble(path, {c.trial.number: w for c, w in members}, metrics, best.trial.number, best_metrics,
                    len(same), selection.trajectory)


def objective_loss(task: str, truth: np.ndarray) -> Callable[[np.ndarray], float]:
    """The search objective of predictions on ``truth``: log-loss for classification, RMSE for regression."""
    eps = float(np.finfo("float64").eps)
    if task == "regression":
        values = truth.astype("float64")
        return lambda p: float(np.sqrt(np.mean((p - values) ** 2)))
    labels = truth.astype("int64")
    if task == "binary":
        positive = labels == 1
        return lambda p: float(-np.mean(np.log(np.clip(np.where(positive, p, 1.0 - p), eps, 1.0))))
    index = np.arange(len(labels))
    return lambda p: float(-np.mean(np.log(np.clip(p[index, labels], eps, 1.0))))


def test_scores(request: EnsembleRequest, members: list[tuple[Candidate, float]], n_classes: int) -> dict[str, float]:
    """The ensemble's scores on the card's test file: one weighted pass of the members' saved models."""
    saved = [(SavedModel.load(c.folder), w) for c, w in members]
    test = data.load_split(request.data_card, "test", saved[0][0].labels)
    combined = _normalised(sum(w * model.predict(test.features).astype("float64") for model, w in saved))
    return score(request.data_card.task, test.target, combined, n_classes)


def read(path: Path) -> dict[str, Any] | None:
    """The content of an ensemble file; None when ``path`` is not one (a trial's model.json, a folder)."""
    if not path.is_file() or path.suffix != ".json":
        return None
    with path.open("rb") as handle:
        if KIND.encode() not in handle.read(200):
            return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        members = [(path.parent / m["model"], float(m["weight"])) for m in saved["members"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise DamagedFileError(path, f"{type(exc).__name__}: {exc}",
                               "rebuild it with 'automl-gpt ensemble RUN'") from None
    return dict(saved, member_paths=members)


def _candidates(trials: list[PastTrial]) -> list[Candidate]:
    found = []
    for trial in trials:
        path = trial.result.artifacts.get("valid_predictions")
        if path and Path(path).exists() and "model" in trial.result.artifacts:
            found.append(Candidate(trial, ValidPredictions.load(Path(path))))
    return found


def _normalised(predictions: Any) -> np.ndarray:
    """float64 predictions; class probabilities (one column per class) rescaled to sum to 1 exactly, as float32
    storage leaves them off by ~1e-7, which scikit-learn's log-loss warns about at float64 precision."""
    values = np.asarray(predictions, dtype="float64")
    return values / values.sum(axis=1, keepdims=True) if values.ndim == 2 else values


def _n_classes(predictions: np.ndarray) -> int:
    return int(predictions.shape[1]) if predictions.ndim == 2 else (2 if predictions.ndim == 1 else 0)


def _prefixed(split: str, values: dict[str, float]) -> dict[str, float]:
    return {f"{split}/{k}": v for k, v in values.items()}


def _write(path: Path, task: str, members: list[tuple[Candidate, float]], best: Candidate,
           metrics: dict[str, float], best_metrics: dict[str, float], trajectory: list[float]) -> Path:
    """``ensemble.json``: the kind first (``read`` recognises it by its first bytes), members heaviest first,
    their model folders relative to the file so the run folder can move."""
    ordered = sorted(members, key=lambda m: -m[1])
    saved = {
        "kind": KIND,
        "task": task,
        "members": [{"trial": c.trial.number, "weight": w, "model": os.path.relpath(c.folder, path.parent)}
                    for c, w in ordered],
        "validation": {"source": best.kept.source, "rows": len(best.kept.rows)},
        "metrics": metrics,
        "best_trial": best.trial.number,
        "best_metrics": best_metrics,
        "trajectory": trajectory,
    }
    path.write_text(json.dumps(saved, indent=1), encoding="utf-8")
    return path
