"""Applying a saved model to new data: the contract behind ``automl-gpt predict`` and the estimator API.

A backend answers :meth:`automl_gpt.training.Backend.load_model` with a :class:`Predictor` for a *saved model
path*: what a trial's ``model`` artifact names, or any model file the backend wrote itself (an ensemble of
trials, say). The predictor applies exactly the processing the model was trained with and writes its predictions
with :meth:`Predictor.predict_file`. Table backends return a :class:`TablePredictor`, which also predicts a
DataFrame in memory (the estimator API uses it).

Inputs a user can fix (missing columns, wrong types, undecodable files) raise
:class:`~automl_gpt.errors.DataError` naming the file and the fix; inputs that are handled rather than refused
(unseen categories, for example) are logged and listed in :attr:`PredictionReport.warnings`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from automl_gpt.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("automl_gpt.prediction")


@dataclass
class PredictionReport:
    """What :meth:`Predictor.predict_file` wrote: the file, how many items it predicted (rows, questions,
    images), and the input problems it handled."""

    path: Path
    count: int
    warnings: list[str] = field(default_factory=list)


class Predictor:
    """A saved model, loaded, that predicts new data in the format its backend trains on.

    ``output_suffix`` is the default file type of predictions (``.csv``, ``.json``); ``model_path`` is the path
    the predictor was loaded from.
    """

    output_suffix: str = ".json"

    def __init__(self, model_path: Path) -> None:
        self.model_path = Path(model_path)

    def predict_file(self, data: Path, out: Path) -> PredictionReport:
        """Predict every item of ``data`` (a file or folder, as the backend's data cards name them) into ``out``."""
        raise NotImplementedError


class TablePredictor(Predictor):
    """A predictor for tables: ``predict_table`` maps feature rows to predictions in memory.

    ``task`` is ``binary``, ``multiclass`` or ``regression``; ``labels`` are the class labels (strings) in the
    order of the probability columns, None for regression; ``feature_columns`` are the columns a table must have.
    """

    output_suffix = ".csv"
    task: str = ""
    labels: list[str] | None = None
    feature_columns: list[str]

    def predict_table(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """Predictions for ``frame``'s rows and the handled problems (also logged).

        The result has one row per input row, in order: ``prediction`` (the label, or the value for
        regression) and, for classification, ``proba_<label>`` for each label.
        """
        raise NotImplementedError


def warn(messages: list[str], text: str) -> None:
    """Record a handled input problem: logged now, reported with the predictions."""
    logger.warning(text)
    messages.append(text)


def default_output(data: Path, folder: Path, label: str, suffix: str) -> Path:
    """Where predictions go unless ``--out`` says: ``<folder>/predictions/<data name>-<label><suffix>``."""
    stem = data.name.split(".")[0] or "data"
    return folder / "predictions" / f"{stem}-{label}{suffix}"


def check_output(out: Path, allowed: tuple[str, ...]) -> None:
    """Refuse an output path whose suffix the predictor cannot write."""
    if out.suffix.lower() not in allowed:
        raise UsageError(f"--out {out}: predictions are written as {' or '.join(allowed)}; change the file suffix")



@dataclass
class SavedModelRef:
    """Which saved model of a run predicts: the trial (None for the run's ensemble), its backend and its model
    path."""

    backend: str
    trial: int | None
    model_path: Path

    @property
    def label(self) -> str:
        """``trial<N>``, or ``ensemble``: names the predictions file."""
        return "ensemble" if self.trial is None else f"trial{self.trial}"


def saved_model_of(folder: Path, trial: int | None = None) -> SavedModelRef:
    """The saved model of trial ``trial`` of the run in ``folder``, or the run's best model.

    The best model is the run's ensemble when it beat the best single trial on validation (see
    :mod:`automl_gpt.ensemble`), else the COMPLETE trial with the best objective value in the run's study. Model
    paths recorded relative to where the run was started are found again inside the run folder.
    """
    import optuna
    from automl_gpt.ensemble import ENSEMBLE_ATTR, ENSEMBLE_FOLDER
    from automl_gpt.run_store import RESULT_ATTR, RunSettings, open_storage

    settings = RunSettings.load(folder)
    storage = open_storage(settings.storage_url(folder), heartbeat_s=None)
    study = optuna.load_study(study_name=settings.study_name, storage=storage)
    ensemble = study.user_attrs.get(ENSEMBLE_ATTR) or {}
    if trial is None and ensemble.get("served"):
        path = inside_run(Path(ensemble["model_path"]), folder, ENSEMBLE_FOLDER)
        if path.exists():
            return SavedModelRef(settings.backend, None, path)
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if trial is None:
        if not complete:
            raise UsageError(f"{folder}: no trial of this run completed, so there is no model to predict with")
        sign = 1 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1
        chosen = min(complete, key=lambda t: sign * float(t.value or 0.0))
    else:
        found = [t for t in complete if t.number == trial]
        if not found:
            numbers = ", ".join(str(t.number) for t in complete) or "none"
            raise UsageError(f"--trial {trial}: not a complete trial of {folder} (complete trials: {numbers})")
        chosen = found[0]
    artifacts = (chosen.user_attrs.get(RESULT_ATTR) or chosen.user_attrs).get("artifacts") or {}
    if "model" not in artifacts:
        raise UsageError(f"{folder}: trial {chosen.number} saved no model (its backend wrote: "
                         f"{', '.join(artifacts) or 'nothing'})")
    return SavedModelRef(settings.backend, chosen.number, inside_run(Path(artifacts["model"]), folder))


def inside_run(path: Path, folder: Path, anchor: str = "trials") -> Path:
    """A recorded path, re-rooted in the run ``folder`` (from its ``anchor`` folder on) when the run was started
    from another directory or has moved."""
    if path.exists() or anchor not in path.parts:
        return path
    parts = path.parts
    index = len(parts) - 1 - parts[::-1].index(anchor)
    return folder.joinpath(*parts[index:])
