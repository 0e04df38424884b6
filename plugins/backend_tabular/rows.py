"""Which rows a trial trains on and which it is scored on, the same for every learner of the tabular backend.

Imported only when a trial runs. Every learner (XGBoost, histogram gradient boosting, the linear model) takes its
class labels, its ``limits['max_rows']`` subset and its validation pairs from here, so trials of different model
cards are scored on the same validation rows and compare like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from automl_gpt.cards import DataCard
from automl_gpt.errors import DataError
from automl_gpt_backend_tabular import data


@dataclass
class RowSplit:
    """One training/validation pair: ``fit_rows`` of ``fit`` train, ``valid_rows`` of ``valid`` score."""

    fit: data.Table
    valid: data.Table
    fit_rows: np.ndarray
    valid_rows: np.ndarray


def class_labels(card: DataCard) -> list[str] | None:
    """The class labels of a classification card, in probability-column order (None for regression)."""
    if card.task not in data.CLASSIFICATION:
        return None
    raw = data.read_split(card, "train")[card.target]
    labels = data.label_space(card, data.clean_labels(card, raw))
    if len(labels) < 2:
        raise DataError(f"target '{card.target}' has one class only; a classifier needs two")
    return labels


def subsample(table: data.Table, max_rows: Any, seed: int) -> data.Table:
    """A seeded random subset of ``max_rows`` rows in file order (the whole table when it is small enough)."""
    if not max_rows or len(table.target) <= int(max_rows):
        return table
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(table.target), size=int(max_rows), replace=False))
    return data.Table(table.features.iloc[keep].reset_index(drop=True), table.target[keep], table.column_types)


def validation_splits(card: DataCard, train: data.Table, labels: list[str] | None, config: dict[str, Any],
                      options: dict[str, Any]) -> list[RowSplit]:
    """``kfold``: ``folds`` stratified folds of the training rows; ``holdout``: the card's valid file, else a fixed
    stratified ``valid_fraction`` of the training rows (``split_seed`` from the model card options)."""
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    split_seed = int(options.get("split_seed", 0))
    stratify = train.target if card.task in data.CLASSIFICATION else None
    if stratify is not None and np.unique(stratify, return_counts=True)[1].min() < 2:
        stratify = None  # a class with one row cannot be split both ways
    indices = np.arange(len(train.target))
    if config["validation"] == "kfold":
        k = int(config.get("folds", 3))
        splitter = (StratifiedKFold if stratify is not None else KFold)(k, shuffle=True, random_state=split_seed)
        pairs = splitter.split(indices, stratify)
        return [RowSplit(train, train, fit_rows, valid_rows) for fit_rows, valid_rows in pairs]
    if card.valid is not None:
        valid = data.load_split(card, "valid", labels)
        return [RowSplit(train, valid, indices, np.arange(len(valid.target)))]
    fraction = float(options.get("valid_fraction", 0.2))
    fit_rows, valid_rows = train_test_split(indices, test_size=fraction, random_state=split_seed, stratify=stratify)
    return [RowSplit(train, train, np.sort(fit_rows), np.sort(valid_rows))]


def refit_rounds(best_rounds: int, splits: list[RowSplit], refit_rows: int) -> int:
    """Boosting rounds for the refit on all ``refit_rows`` training rows: the best number of rounds on validation
    scaled by the rows gained, ``refit_rows / mean(len(fit_rows))`` (1 / (1 - valid_fraction) for the holdout of
    the training rows, k / (k - 1) for k folds, 1 with the card's valid file, whose fit already saw every training
    row), rounded. More rows support more rounds at the same learning rate; scaling by the data ratio is the
    usual refit rule (fixed in advance, not tuned; see docs/benchmarks.md, "Ensembles of a run's trials")."""
    seen = float(np.mean([len(s.fit_rows) for s in splits]))
    return max(1, round(best_rounds * refit_rows / seen)) if seen > 0 else best_rounds
