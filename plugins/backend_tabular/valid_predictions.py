"""A trial's out-of-sample predictions on its validation rows, kept in its folder for ensembles.

A holdout trial keeps its predictions on the holdout rows (the card's valid file, or the fixed fraction of the
training rows); a k-fold trial keeps its out-of-fold predictions on every training row. One compact file per
trial, ``valid_predictions.npz``: the row indices (ascending), the encoded truth, the predictions as float32
(P(second label) for binary, one column per label for multiclass, values for regression) and where the rows come
from. Trials whose files agree on source, rows and truth were scored on the same validation rows, so their
predictions may be combined; so may a k-fold trial's out-of-fold predictions restricted to a holdout's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from automl_gpt.cards import DataCard
from automl_gpt.errors import DamagedFileError

FILE_NAME = "valid_predictions.npz"
VALID_FILE, TRAINING_ROWS = "valid file", "training rows"


def rows_source(card: DataCard, config: dict[str, Any]) -> str:
    """Where a trial's validation rows come from: the card's valid file (holdout with one), else training rows."""
    return VALID_FILE if card.valid is not None and config["validation"] != "kfold" else TRAINING_ROWS


@dataclass
class ValidPredictions:
    """One trial's validation predictions, rows ascending."""

    source: str
    rows: np.ndarray
    truth: np.ndarray
    predictions: np.ndarray

    @classmethod
    def from_folds(cls, source: str, rows: list[np.ndarray], truth: list[np.ndarray],
                   predictions: list[np.ndarray]) -> ValidPredictions:
        """Concatenate the folds' validation rows, truth and predictions, sorted by row."""
        all_rows = np.concatenate(rows).astype("int64")
        order = np.argsort(all_rows, kind="stable")
        return cls(source, all_rows[order], np.concatenate(truth)[order].astype("float32"),
                   np.concatenate(predictions)[order].astype("float32"))

    def on_rows_of(self, other: ValidPredictions) -> ValidPredictions | None:
        """These predictions on ``other``'s rows, when they cover every one of them (same source, same truth),
        else None. Out-of-fold predictions on all training rows cover a holdout's rows, and stay out of sample."""
        if self.source != other.source:
            return None
        at = np.searchsorted(self.rows, other.rows)
        if at.size and (at[-1] >= len(self.rows) or not np.array_equal(self.rows[at], other.rows)):
            return None
        if not np.array_equal(self.truth[at], other.truth):
            return None
        return ValidPredictions(self.source, other.rows, other.truth, self.predictions[at])

    def save(self, folder: Path) -> Path:
        """Write ``valid_predictions.npz`` into ``folder``; returns its path."""
        path = folder / FILE_NAME
        with path.open("wb") as handle:
            np.savez(handle, source=np.asarray(self.source), rows=self.rows.astype("int32"), truth=self.truth,
                     predictions=self.predictions.astype("float32"))
        return path

    @classmethod
    def load(cls, path: Path) -> ValidPredictions:
        """Read a file written by :meth:`save`; a damaged one is a :class:`DamagedFileError` naming it."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                return cls(str(saved["source"]), saved["rows"].astype("int64"), saved["truth"],
                           saved["predictions"])
        except (OSError, ValueError, KeyError) as exc:
            raise DamagedFileError(path, f"{type(exc).__name__}: {exc}",
                                   "delete the trial's valid_predictions.npz to leave it out of the ensemble") from None
