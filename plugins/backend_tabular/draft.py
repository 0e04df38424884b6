"""Drafting a data card from a CSV or Parquet table: the tabular plugin's answer to ``automl-gpt cards init``.

The draft records what can be measured: task type (from the target column), label space, class balance, column
types, missing values and size, plus how the file must be read (``read_options``: separator, header, missing-value
markers, spaces after separators, a junk first line or a label suffix in the test file) in the form
:mod:`automl_gpt_backend_tabular.data` reads. The description is left as an empty slot for the user. pandas is
imported only when a draft is made.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_gpt.cards import DataCard, card_from_mapping
from automl_gpt.cards.table import class_balance, column_info, is_parquet, label_space, read_table
from automl_gpt.errors import DataError, UsageError
from automl_gpt_backend_tabular.sniff import field_count, sniff_csv

if TYPE_CHECKING:
    import pandas as pd

TABULAR_TASKS = ("binary", "multiclass", "regression")
MISSING_MARKERS = ("?",)
MAX_CLASSES = 20
READ_FIX = "pass a CSV or Parquet table with a header and rows"


def draft_table_card(
    path: Path, *, target: str | None, task: str | None = None, name: str | None = None, test: Path | None = None
) -> DataCard:
    """The ``draft_card`` answer for a table: checks that ``path`` is a file and ``target`` is given, then drafts."""
    _check_file(path)
    if not target:
        raise UsageError(f"{path}: --target is required to draft a card for a table (name the column to predict)")
    return draft_data_card(path, target=target, task=task, name=name, test=test)


def draft_data_card(
    path: str | Path, *, target: str, task: str | None = None, name: str | None = None, test: str | Path | None = None
) -> DataCard:
    """Draft a data card for the table at ``path`` with ``target`` as the column to predict.

    ``task`` (binary, multiclass, regression) is inferred from the target when not given; ``test`` adds a test
    file read the same way. Paths are written as given (see :func:`automl_gpt.cards.draft.relocate`). Raises
    :class:`~automl_gpt.errors.DataError` naming the file and the fix.
    """
    path = Path(path)
    if task is not None and task not in TABULAR_TASKS:
        raise UsageError(
            f"--task {task}: cards init drafts tabular cards ({', '.join(TABULAR_TASKS)}) from "
            "CSV/Parquet; write other cards by hand (see docs/cards.md)"
        )
    frame, options = read_drafted_table(path, target=target)
    column = _target(frame, target, path)
    task = infer_task(frame[column], path, column, task)
    card: dict[str, Any] = {
        "name": name or _name_from(path),
        "task": task,
        "modality": "tabular",
        "description": "",
        "train": str(path),
        "target": column,
        "n_rows": len(frame),
        "n_features": len(frame.columns) - 1,
        "columns": {str(c): column_info(frame[c]) for c in frame.columns},
    }
    labels: list[Any] = []
    if task != "regression":
        labels = label_space(frame[column])
        card["label_space"] = labels
        card["class_balance"] = class_balance(frame[column], labels)
    if test is not None:
        test_path = Path(test)
        options.update(_test_options(test_path, frame, column, labels, options))
        card["test"] = str(test_path)
    if options:
        card["read_options"] = options
    return card_from_mapping(DataCard, card)


def read_drafted_table(
    path: Path, options: dict[str, Any] | None = None, *, target: str | None = None, split: str = "train"
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a CSV or Parquet file; returns the frame and the read options that reproduce it.

    With ``options`` the file is read with them (a test file read like its training file, ``split`` "test"); else
    the layout is sniffed (a first row that holds ``target`` is the header). A ``?`` marker found in the cells is
    declared in ``na_values``.
    """
    _check_file(path)
    if path.suffix.lower() == ".json":
        raise DataError(
            f"{path}: cards init reads CSV or Parquet tables; a JSON annotation file (e.g. COCO) is "
            "drafted by the backend plugin of its task (install it: pip install 'automl-gpt[vision]')"
        )
    if is_parquet(path):
        return read_table(path), {}
    if options is None:
        from automl_gpt_backend_tabular.data import warn_repeated_names

        layout = sniff_csv(path, target)
        warn_repeated_names(path, layout.names)
        options = dict(layout.options)
    frame = read_table(path, options, split=split, fix=READ_FIX)
    markers = [m for m in MISSING_MARKERS if _holds(frame, m)]
    if markers and "na_values" not in options:
        return read_drafted_table(path, {**options, "na_values": markers}, split=split)
    return frame, options


def infer_task(target: pd.Series, path: Path, column: str, task: str | None = None) -> str:
    """binary / multiclass / regression from the target's values; checks a task the user gave."""
    import pandas as pd

    values = target.dropna()
    n_classes = values.nunique()
    if n_classes < 2:
        raise DataError(
            f"{path}: target '{column}' has {n_classes} distinct value(s); a model needs at least two "
            "(pick another --target)"
        )
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if task == "regression":
        if not numeric:
            raise DataError(
                f"{path}: target '{column}' is not numeric (e.g. {values.iloc[0]!r}), so it cannot be "
                "a regression target (use --task binary or multiclass)"
            )
        return task
    if task == "binary" and n_classes != 2:
        raise DataError(f"{path}: --task binary but target '{column}' has {n_classes} classes (use --task multiclass)")
    if task is not None:
        return task
    if n_classes == 2:
        return "binary"
    if numeric and (not _integral(values) or n_classes > MAX_CLASSES):
        return "regression"
    return "multiclass"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: file not found (check the path)")
    if not path.is_file():
        raise DataError(f"{path}: not a file (pass a CSV or Parquet file)")


def _target(frame: pd.DataFrame, target: str, path: Path) -> str:
    if target in frame.columns:
        return target
    columns = [str(c) for c in frame.columns]
    close = difflib.get_close_matches(target, columns, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    shown = ", ".join(columns[:30]) + (", ..." if len(columns) > 30 else "")
    raise DataError(f"{path}: --target '{target}' is not a column ({hint}columns: {shown})")


def _test_options(
    test: Path, train: pd.DataFrame, target: str, labels: list[Any], options: dict[str, Any]
) -> dict[str, Any]:
    """Read the test file like the training file; returns read options it needs in addition."""
    extra: dict[str, Any] = {}
    if not is_parquet(test) and test.exists():
        sep = options.get("sep", ",")
        first = field_count(test, sep)
        if first and first < len(train.columns) and field_count(test, sep, line=1) == len(train.columns):
            extra["test_skiprows"] = 1
    frame, _ = read_drafted_table(test, {**options, **extra}, split="test")
    missing = [c for c in train.columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{test}: test file lacks column(s) {missing[:10]} that the training file has "
            "(pass a test file with the same columns)"
        )
    if labels:
        found = set(label_space(frame[target]))
        unknown = found - set(labels)
        if unknown:
            stripped = {str(v).rstrip(".") for v in unknown}
            if stripped <= {str(v) for v in labels}:
                extra["label_suffix"] = "."
            else:
                raise DataError(
                    f"{test}: test labels {sorted(map(str, unknown))[:5]} are not in the training "
                    f"labels {labels[:10]} (fix the test file, or write label_space by hand)"
                )
    return extra


def _holds(frame: pd.DataFrame, marker: str) -> bool:
    objects = frame.select_dtypes(include=["object", "string"])
    return any((objects[c].astype(str).str.strip() == marker).any() for c in objects.columns)


def _integral(values: pd.Series) -> bool:
    return bool(((values % 1) == 0).all())


def _name_from(path: Path) -> str:
    stem = path.name
    for suffix in (".gz", ".bz2", ".xz", ".zip", ".zst", ".csv", ".tsv", ".txt", ".data", ".parquet", ".pq"):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_") or "dataset"
