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
