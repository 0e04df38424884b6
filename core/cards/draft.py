"""Drafting a data card from a CSV or Parquet table (``automl-gpt cards init``).

The draft records what can be measured: task type (from the target column), label space, class balance, column
types, missing values and size, plus how the file must be read (``read_options``: separator, header, missing-value
markers, spaces after separators) in the form the tabular backend understands. The description is left as an
empty slot for the user. pandas is imported only when a draft is made.
"""

from __future__ import annotations

import bz2
import csv
import difflib
import gzip
import io
import logging
import lzma
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_gpt.cards import DataCard, card_from_mapping, table
from automl_gpt.cards.table import class_balance, column_info, is_parquet, label_space
from automl_gpt.errors import DataError, UsageError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("automl_gpt.cards.draft")
READ_FIX = "pass a CSV or Parquet table with a header and rows"
TABULAR_TASKS = ("binary", "multiclass", "regression")
MISSING_MARKERS = ("?",)
MAX_CLASSES = 20
SNIFF_BYTES = 64 * 1024
_OPENERS: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_MISSING_WORDS = frozenset({"", "?", "na", "n/a", "nan", "null", "none", "-"})


@dataclass
class CsvLayout:
    """How a CSV file is laid out, as the card's ``read_options`` will say."""

    sep: str = ","
    header: bool = True
    n_fields: int = 0
    skipinitialspace: bool = False
    options: dict[str, Any] = field(default_factory=dict)


def draft_data_card(
    path: str | Path, *, target: str, task: str | None = None, name: str | None = None, test: str | Path | None = None
) -> DataCard:
    """Draft a data card for the table at ``path`` with ``target`` as the column to predict.

    ``task`` (binary, multiclass, regression) is inferred from the target when not given; ``test`` adds a test
    file read the same way. Paths are written as given (see :func:`relocate`). Raises
    :class:`~automl_gpt.errors.DataError` naming the file and the fix.
    """
    path = Path(path)
    if task is not None and task not in TABULAR_TASKS:
        raise UsageError(
            f"--task {task}: cards init drafts tabular cards ({', '.join(TABULAR_TASKS)}) from "
            "CSV/Parquet; write other cards by hand (see docs/cards.md)"
        )
    frame, options = read_table(path, target=target)
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


def read_table(
    path: Path, options: dict[str, Any] | None = None, *, target: str | None = None, split: str = "train"
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a CSV or Parquet file; returns the frame and the read options that reproduce it.

    With ``options`` the file is read with them (a test file read like its training file, ``split`` "test"); else
    the layout is sniffed (a first row that holds ``target`` is the header).
    """
    check_data_file(path)
    if path.suffix.lower() == ".json":
        raise DataError(
            f"{path}: cards init reads CSV or Parquet tables; a JSON annotation file (e.g. COCO) is "
            "drafted by the backend plugin of its task (install it: pip install 'automl-gpt[vision]')"
        )
    if is_parquet(path):
        return table.read_table(path), {}
    if options is None:
        options = dict(sniff_csv(path, target).options)
    frame = table.read_table(path, options, split=split, fix=READ_FIX)
    markers = [m for m in MISSING_MARKERS if _holds(frame, m)]
    if markers and "na_values" not in options:
        return read_table(path, {**options, "na_values": markers}, split=split)
    return frame, options


def check_data_file(path: Path) -> None:
    """Raise a one-line DataError when ``path`` is missing or not a file."""
    if not path.exists():
        raise DataError(f"{path}: file not found (check the path)")
    if not path.is_file():
        raise DataError(f"{path}: not a file (pass a CSV or Parquet file)")


def sniff_csv(path: Path, target: str | None = None) -> CsvLayout:
    """Guess the separator, header and spacing of a (possibly compressed) CSV file from its first bytes.

    A first row that names ``target``, or has a name above a column of numbers, is a header, even when its other
    names are numbers (``0,1,2,...,target``); warns about duplicated column names.
    """
    sample = _head(path)
    lines = [line for line in sample.splitlines() if line.strip()][:50]
    if not lines:
        raise DataError(f"{path}: the file is empty (pass a table with a header and rows)")
    default = "\t" if ".tsv" in path.name.lower() else ","
    try:
        sep = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        sep = default
    rows = list(csv.reader(lines, delimiter=sep))
    layout = CsvLayout(sep=sep, n_fields=len(rows[0]))
    body = [cell for row in rows[1:] for cell in row[1:]]
    layout.skipinitialspace = bool(body) and sum(cell.startswith(" ") for cell in body) > len(body) / 2
    layout.header = _first_row_is_header(rows, target)
    if layout.header:
        _warn_duplicates(path, rows[0])
    if sep != ",":
        layout.options["sep"] = sep
    if not layout.header:
        layout.options["header"] = False
        layout.options["names"] = [f"column_{i + 1}" for i in range(layout.n_fields)]
    if layout.skipinitialspace:
        layout.options["skipinitialspace"] = True
    return layout


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


def draft_notes(card: DataCard) -> list[str]:
    """Why a drafted tabular card says what it says (the task guessed from the target, too little data), one
    sentence each, for the comment above the card; empty for a card without a target column."""
    target = card.target
    info = (card.columns or {}).get(target or "")
    if not target or info is None:
        return []
    values = info.unique
    if card.task == "regression":
        notes = [f"task regression: target '{target}' is numeric with {values} distinct values "
                 "(for classes write task: multiclass)."]
    elif card.task == "binary":
        notes = [f"task binary: target '{target}' has 2 distinct values."]
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in card.label_space or []):
        notes = [f"task multiclass: target '{target}' holds {values} distinct whole numbers; if they are amounts "
                 "on a scale rather than classes, write task: regression and delete label_space and class_balance."]
    else:
        notes = [f"task {card.task}: target '{target}' has {values} distinct labels."]
    counts = {label: round(share * card.n_rows) for label, share in (card.class_balance or {}).items()}
    warning = small_data_warning(card.n_rows or 0, counts if card.task != "regression" else None)
    return notes + ([f"warning: {warning}."] if warning else [])


MIN_ROWS = 30  # below this a validation split (20 %) holds a handful of rows
MIN_ROWS_PER_CLASS = 10  # about 2 rows of the class in a 20 % validation split


def small_data_warning(n_rows: int, class_counts: dict[str, int] | None = None) -> str | None:
    """A sentence when a table is too small to validate a model on (None when it is large enough):
    fewer than ``MIN_ROWS`` rows, or a class with fewer than ``MIN_ROWS_PER_CLASS``."""
    if n_rows < MIN_ROWS:
        return f"only {n_rows} rows: too few to validate a model on, so validation scores will be noise (add rows)"
    rare = {label: count for label, count in (class_counts or {}).items() if count < MIN_ROWS_PER_CLASS}
    if rare:
        label, count = min(rare.items(), key=lambda item: item[1])
        return (f"class '{label}' has only {count} rows: too few to validate on, so scores on it will be noise "
                "(add rows, or merge rare classes)")
    return None


def relocate(card: DataCard, folder: str | Path) -> DataCard:
    """The card with its relative file paths (relative to the working folder) rewritten relative to ``folder``.

    ``cards init --out DIR/card.yaml`` uses it so that the card finds its files from where it is saved.
    """
    data = card.model_dump(exclude_none=True)
    for split in ("train", "valid", "test"):
        entry = data.get(split)
        if not entry:
            continue
        for key in ("path", "images"):
            if entry.get(key) and not Path(entry[key]).is_absolute():
                entry[key] = os.path.relpath(Path(entry[key]).resolve(), Path(folder).resolve())
    return card_from_mapping(DataCard, data)


def looks_like_coco(path: Path) -> bool:
    """True for a JSON file whose top level has COCO's ``images``/``annotations``/``categories`` keys."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    head = _head(path)
    return head.lstrip().startswith("{") and any(f'"{key}"' in head for key in ("images", "annotations", "categories"))


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
        first = _first_fields(test, options.get("sep", ","))
        if (
            first
            and first < len(train.columns)
            and _first_fields(test, options.get("sep", ","), line=1) == len(train.columns)
        ):
            extra["test_skiprows"] = 1
    frame, _ = read_table(test, {**options, **extra}, split="test")
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


def _first_row_is_header(rows: list[list[str]], target: str | None = None) -> bool:
    """Is the first row a header? Yes when it holds the target's name, or a name (not a number, not a missing
    marker) above a column of numbers; else no when one of its numbers heads a column of numbers; else yes."""
    first = [cell.strip() for cell in rows[0]]
    if len(rows) < 2 or (target is not None and target.strip() in first):
        return True
    numeric_below = []
    for index, cell in enumerate(first):
        column = [row[index] for row in rows[1:] if index < len(row)]
        numbers = bool(column) and all(_is_number(value) or value.strip().lower() in _MISSING_WORDS
                                       for value in column)
        if numbers and cell.lower() not in _MISSING_WORDS and not _is_number(cell):
            return True
        numeric_below.append(numbers and _is_number(cell))
    return not any(numeric_below)


def _warn_duplicates(path: Path, names: list[str]) -> None:
    counts = Counter(name.strip() for name in names)
    duplicated = [name for name, count in counts.items() if count > 1]
    if duplicated:
        shown = ", ".join(repr(name) for name in duplicated[:5])
        logger.warning("warning: %s: column name(s) %s appear more than once; the repeats are read as '%s.1', ... "
                       "(give each column its own name in the file)", path, shown, duplicated[0])


def _is_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return bool(text.strip())


def _first_fields(path: Path, sep: str, line: int = 0) -> int:
    lines = [text for text in _head(path).splitlines() if text.strip()]
    return len(next(csv.reader([lines[line]], delimiter=sep))) if len(lines) > line else 0


def _head(path: Path) -> str:
    opener = _OPENERS.get(path.suffix.lower())
    try:
        if opener is not None:
            with opener(path, "rb") as handle:
                raw = handle.read(SNIFF_BYTES)
        else:
            with path.open("rb") as handle:
                raw = handle.read(SNIFF_BYTES)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise DataError(f"{path}: cannot read: {exc} (pass a CSV or Parquet file)") from None
    text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="replace").read()
    return text if len(raw) < SNIFF_BYTES else text.rsplit("\n", 1)[0]


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
