"""Reading the tables a data card describes, and checking them against the card.

Files are CSV (any delimiter, compressed or not; pandas infers gzip/bz2/xz/zip/zstd from the suffix) or Parquet
(``.parquet``/``.pq``). How CSV files are read comes from the card's ``read_options``:

``sep``
    field separator (default ``,``).
``header``
    ``true`` when the first line names the columns (default), ``false`` when it does not (then give ``names``).
``names``
    column names, in file order (needed when ``header`` is false).
``na_values``
    extra strings that mean "missing" (e.g. ``["?"]``).
``skipinitialspace``
    skip spaces after the separator (``", "``-separated files such as UCI Adult).
``skiprows`` / ``test_skiprows``
    lines to skip at the top of every file / of the test file only (``adult.test`` starts with a junk line).
``label_suffix``
    a suffix to strip from target labels (``adult.test`` writes ``>50K.`` where ``adult.data`` writes ``>50K``).

Every problem is a :class:`~automl_gpt.errors.DataError` or :class:`~automl_gpt.errors.CardError` that names the
file or card field and says how to fix it.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from automl_gpt.cards import DataCard
from automl_gpt.cards.draft import small_data_warning
from automl_gpt.cards.table import is_parquet, pandas_read_options, read_table
from automl_gpt.errors import CardError, DataError

logger = logging.getLogger("automl_gpt_backend_tabular.data")
SplitName = Literal["train", "valid", "test"]
READ_OPTIONS = ("sep", "header", "names", "na_values", "skipinitialspace", "skiprows", "test_skiprows", "label_suffix")
CLASSIFICATION = ("binary", "multiclass")
_CACHE_SIZE = 4
_WHOLE_NUMBER = re.compile(r"^[+-]?\d+\.0*$")  # "1.0", "2.00": a whole number written as a float
_cache: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()


@dataclass
class Table:
    """One split as the trainer needs it: feature columns, encoded target, and the column types used."""

    features: pd.DataFrame
    target: np.ndarray
    column_types: dict[str, str]


def read_split(card: DataCard, split: SplitName) -> pd.DataFrame:
    """Read one split's file as the card says (cached per file, modification time and options)."""
    path = card.split_path(split)
    if path is None:
        raise CardError(card.source, f"the card has no {split} file", field=split, fix=f"add '{split}: <file>'")
    options = _read_options(card)
    if not path.exists():
        raise DataError(f"{path}: {split} file not found (fix the '{split}' path in the card)")
    if not path.is_file():
        raise DataError(f"{path}: {split} path is not a file (point '{split}' at a CSV or Parquet file)")
    key = (str(path), path.stat().st_mtime_ns, split, repr(sorted(options.items())))
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key].copy()
    frame = read_table(path, options, split=split, fix=f"fix the file, or '{split}' and 'read_options' in the card")
    _cache[key] = frame
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return frame.copy()


def column_types(card: DataCard, frame: pd.DataFrame, path: Path | None = None) -> dict[str, str]:
    """The type of every feature column: from the card where it says, else inferred from the file.

    Text columns are read as categorical (the tree model splits on their values, it does not read words).
    """
    target = card.target
    declared = card.columns or {}
    unknown = [name for name in declared if name not in frame.columns]
    if unknown:
        raise DataError(
            f"{path or card.name}: unknown column(s) {', '.join(map(repr, unknown))} in the card's "
            f"'columns' (the file has: {', '.join(frame.columns)}); fix the names or the read_options"
        )
    types: dict[str, str] = {}
    for name in frame.columns:
        if name == target:
            continue
        if name in declared:
            kind = declared[name].type
            types[name] = "categorical" if kind == "text" else kind
        else:
            types[name] = "numeric" if pd.api.types.is_numeric_dtype(frame[name]) else "categorical"
    return types


def prepare_features(frame: pd.DataFrame, types: dict[str, str], path: Path | str) -> pd.DataFrame:
    """Cast each feature column to its type: numbers to float, categories to strings (missing stays NaN)."""
    out = {}
    for name, kind in types.items():
        column = frame[name]
        if kind == "numeric":
            values = pd.to_numeric(column, errors="coerce")
            bad = values.isna() & column.notna()
            if bad.any():
                example = column[bad].iloc[0]
                raise DataError(
                    f"{path}: column '{name}' is numeric in the card but holds {example!r} "
                    f"({int(bad.sum())} such values); mark it categorical or add the marker to na_values"
                )
            out[name] = values.astype("float64")
        elif kind == "boolean":
            out[name] = _booleans(column, name, path)
        elif kind == "datetime":
            stamps = pd.to_datetime(column, errors="coerce")
            out[name] = (stamps - pd.Timestamp(0)).dt.total_seconds()
        else:
            text = column.astype("string").str.strip()
            out[name] = text.astype("object").where(text.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def label_space(card: DataCard, train_labels: pd.Series) -> list[str]:
    """The class labels, as strings, in the card's order (or sorted as found in the training file)."""
    if card.label_space:
        return [label_text(v) for v in card.label_space]
    found = train_labels.dropna().unique().tolist()
    try:
        return [str(v) for v in sorted(found, key=float)]
    except ValueError:
        return sorted(str(v) for v in found)


def load_split(card: DataCard, split: SplitName, labels: list[str] | None = None) -> Table:
    """Read one split and encode its target: class indices (classification) or floats (regression)."""
    frame = read_split(card, split)
    path = card.split_path(split)
    target = _target_column(card, frame, path)
    types = column_types(card, frame, path)
    features = prepare_features(frame, types, path or split)
    raw = frame[target]
    if raw.isna().any():
        raise DataError(
            f"{path}: target '{target}' is missing in {int(raw.isna().sum())} rows (remove those rows or fix na_values)"
        )
    if card.task in CLASSIFICATION:
        text = clean_labels(card, raw)
        labels = labels or label_space(card, text)
        index = {label: i for i, label in enumerate(labels)}
        unknown = sorted(set(text.unique()) - set(index))
        if unknown:
            raise DataError(
                f"{path}: target '{target}' has label(s) {unknown[:5]} outside the label space "
                f"{labels} (fix label_space in the card, or label_suffix in read_options)"
            )
        encoded = text.map(index).to_numpy(dtype="int64")
    else:
        numbers = pd.to_numeric(raw, errors="coerce")
        if numbers.isna().any():
            example = raw[numbers.isna()].iloc[0]
            raise DataError(
                f"{path}: regression target '{target}' holds non-numeric values such as {example!r} "
                "(use a numeric target, or task binary/multiclass)"
            )
        encoded = numbers.to_numpy(dtype="float64")
    return Table(features, encoded, types)


def check_card(card: DataCard) -> None:
    """Check the data against the card: files, columns, target and labels. Raises DataError or CardError."""
    if card.modality != "tabular":
        raise CardError(
            card.source,
            f"modality '{card.modality}' is not tabular",
            field="modality",
            fix="the xgboost backend reads tables; use another backend",
        )
    if not card.target:
        raise CardError(
            card.source, "is required by the xgboost backend", field="target", fix="name the column to predict"
        )
    options = _read_options(card)
    train = load_split(card, "train")
    _warn_duplicated_names(card.split_path("train"), options)
    if card.task in CLASSIFICATION:
        labels = label_space(card, clean_labels(card, read_split(card, "train")[card.target]))
        present = np.unique(train.target)
        if len(present) < 2:
            only = labels[int(present[0])] if len(present) else "none"
            raise DataError(
                f"{card.split_path('train')}: target '{card.target}' has one class only ({only!r}); "
                "a classifier needs at least two"
            )
        if card.task == "binary" and len(labels) != 2:
            raise DataError(
                f"{card.split_path('train')}: task is binary but target '{card.target}' has "
                f"{len(labels)} classes {labels[:10]} (use task multiclass or fix label_space)"
            )
    else:
        labels = None
    counts = None
    if labels:
        counts = dict(zip(labels, np.bincount(train.target, minlength=len(labels)).tolist(), strict=True))
    warning = small_data_warning(len(train.target), counts)
    if warning:
        logger.warning("warning: %s: %s", card.split_path("train"), warning)
    for split in ("valid", "test"):
        if getattr(card, split) is None:
            continue
        other = load_split(card, split, labels)
        missing = sorted(set(train.features.columns) - set(other.features.columns))
        if missing:
            raise DataError(
                f"{card.split_path(split)}: {split} file lacks column(s) {missing} that the training file has"
            )


def clean_labels(card: DataCard, raw: pd.Series) -> pd.Series:
    """Target labels as stripped strings, with the card's ``label_suffix`` removed."""
    suffix = card.read_options.get("label_suffix")
    text = raw.map(label_text) if pd.api.types.is_numeric_dtype(raw) else raw.astype(str).str.strip()
    if suffix:
        text = text.str.removesuffix(str(suffix))
    return text.map(label_text)


def label_text(value: Any) -> str:
    """A label as text, compared by value: a whole number reads the same written ``1``, ``1.0`` or ``1.00``."""
    text = str(value).strip()
    if (isinstance(value, (int, float, np.number)) and not isinstance(value, bool)) or _WHOLE_NUMBER.match(text):
        number = float(text)
        if number.is_integer():
            return str(int(number))
    return text


def _target_column(card: DataCard, frame: pd.DataFrame, path: Path | None) -> str:
    target = card.target
    if not target:
        raise CardError(
            card.source, "is required by the xgboost backend", field="target", fix="name the column to predict"
        )
    if target not in frame.columns:
        raise DataError(
            f"{path}: unknown target column '{target}' (the file has: {', '.join(frame.columns)}); "
            "fix 'target', or 'names'/'header' in read_options"
        )
    return target


def _read_options(card: DataCard) -> dict[str, Any]:
    options = dict(card.read_options)
    unknown = [key for key in options if key not in READ_OPTIONS]
    if unknown:
        raise CardError(
            card.source,
            "is not a read option of the xgboost backend",
            field=f"read_options.{unknown[0]}",
            fix=f"use one of: {', '.join(READ_OPTIONS)}",
        )
    return options


def _warn_duplicated_names(path: Path | None, options: dict[str, Any]) -> None:
    """Warn when the header of a card's CSV file names a column twice (see :func:`warn_repeated_names`)."""
    if path is None or is_parquet(path) or not options.get("header", True):
        return
    first_row = pandas_read_options({**options, "header": False, "names": None})  # the header line, read as data
    try:
        header = pd.read_csv(path, nrows=1, dtype=str, **first_row)
    except (ValueError, OSError, EOFError, pd.errors.ParserError):
        return  # the file was read a moment ago; a header that cannot be re-read only costs the warning
    warn_repeated_names(path, [str(name) for name in header.iloc[0].tolist()] if len(header) else [])


def warn_repeated_names(path: Path, names: list[str]) -> None:
    """Warn when a header names a column twice: pandas reads the repeat as ``name.1`` without a word."""
    stripped = [name.strip() for name in names]
    duplicated = sorted({name for name in stripped if stripped.count(name) > 1})
    if duplicated:
        logger.warning("warning: %s: column name(s) %s appear more than once; the repeats are read as '%s.1', ... "
                       "(give each column its own name in the file)", path, ", ".join(map(repr, duplicated[:5])),
                       duplicated[0])


def _booleans(column: pd.Series, name: str, path: Path | str) -> pd.Series:
    mapping = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "1": 1.0, "0": 0.0, "t": 1.0, "f": 0.0}
    text = column.astype("object").map(lambda v: None if pd.isna(v) else label_text(v).lower())
    values = text.map(lambda v: mapping.get(v, -1.0) if isinstance(v, str) else np.nan).astype("float64")
    if (values == -1.0).any():
        example = column[values == -1.0].iloc[0]
        raise DataError(f"{path}: boolean column '{name}' holds {example!r} (use true/false, yes/no or 1/0)")
    return values
