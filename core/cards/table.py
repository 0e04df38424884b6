"""The table a data card describes: read as its ``read_options`` say, and its columns measured in the card's terms.

One reader for everything that opens a card's table: the meta-features of card similarity, the tabular backend's
data loading and its card drafting. A file is Parquet (``.parquet``/``.pq``) or CSV (any separator, compressed or
not; pandas infers gzip/bz2/xz/zip/zstd from the suffix). :func:`pandas_read_options` is the one translation of a
card's CSV read options into ``pandas.read_csv`` arguments. pandas is imported only when a table is read or measured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_gpt.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

PARQUET_SUFFIXES = (".parquet", ".pq")
_BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "t", "f"})
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?")


def is_parquet(path: Path) -> bool:
    """Whether ``path`` names a Parquet file (by its suffix)."""
    return path.name.lower().endswith(PARQUET_SUFFIXES)


def pandas_read_options(options: Mapping[str, Any], split: str = "train") -> dict[str, Any]:
    """A card's CSV read options as ``pandas.read_csv`` keyword arguments.

    ``sep`` (default ``,``), ``header`` (default true: the first line names the columns), ``names``, ``na_values``,
    ``skipinitialspace``, and ``skiprows`` plus, for the ``test`` split only, ``test_skiprows``. Other keys
    (``label_suffix``) are not about reading and are left out.
    """
    skiprows = int(options.get("skiprows", 0)) + (int(options.get("test_skiprows", 0)) if split == "test" else 0)
    return {
        "sep": options.get("sep", ","),
        "header": 0 if options.get("header", True) else None,
        "names": options.get("names"),
        "na_values": options.get("na_values"),
        "skipinitialspace": bool(options.get("skipinitialspace", False)),
        "skiprows": skiprows,
        "skip_blank_lines": True,
    }


def read_table(
    path: Path, options: Mapping[str, Any] | None = None, *, split: str = "train",
    fix: str = "check sep, header and names in read_options",
) -> pd.DataFrame:
    """Read the Parquet or CSV file at ``path`` with a card's read options; column names are stripped of spaces.

    Raises :class:`DataError`, one line naming the file and ending with ``fix``, for a file that is empty, does not
    parse, or has no rows; ``split`` says which rows to skip (see :func:`pandas_read_options`).
    """
    import pandas as pd

    options = options or {}
    if is_parquet(path):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:
            raise DataError(f"{path}: cannot read Parquet: {type(exc).__name__}: {exc}") from None
    else:
        if not options.get("header", True) and not options.get("names"):
            raise DataError(f"{path}: read_options say header: false but give no 'names' (list the column names)")
        try:
            frame = pd.read_csv(path, **pandas_read_options(options, split))
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: the file is empty ({fix})") from None
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"{path}: cannot read as CSV: {message} ({fix})") from None
    if frame.empty or len(frame.columns) == 0:
        raise DataError(f"{path}: the file has no rows ({fix})")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def column_info(column: pd.Series) -> dict[str, Any]:
    """Type, missing count and number of distinct values of one column (a data card's ``columns`` entry)."""
    return {"type": column_type(column), "missing": int(column.isna().sum()), "unique": int(column.nunique())}


def column_type(column: pd.Series) -> str:
    """numeric, boolean, datetime, text or categorical."""
    import pandas as pd

    values = column.dropna()
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    if pd.api.types.is_numeric_dtype(values):
        return (
            "boolean"
            if len(values) and set(values.unique().tolist()) <= {0, 1} and values.nunique() == 2
            else "numeric"
        )
    text = values.astype(str).str.strip()
    if text.empty:
        return "categorical"
    if set(text.str.lower().unique()) <= _BOOLEAN_WORDS and text.nunique() == 2:
        return "boolean"
    sample = text.head(200)
    if sample.str.match(_DATE_LIKE).mean() > 0.95:
        return "datetime"
    if sample.str.split().str.len().mean() > 3 and text.nunique() > 0.5 * len(text):
        return "text"
    return "categorical"


def label_space(target: pd.Series) -> list[Any]:
    """The distinct labels, as plain Python values, sorted numerically when they are numbers."""
    values = [plain_value(v) for v in target.dropna().unique().tolist()]
    try:
        return sorted(values, key=float)
    except (TypeError, ValueError):
        return sorted(values, key=str)


def class_balance(target: pd.Series, labels: list[Any]) -> dict[str, float]:
    """Share of each label among the non-missing target values, rounded to 4 digits."""
    counts = target.dropna().map(plain_value).value_counts()
    total = int(counts.sum())
    return {str(label): round(int(counts.get(label, 0)) / total, 4) for label in labels}


def plain_value(value: Any) -> Any:
    """A cell as a plain Python value for a card: numpy scalars unwrapped, whole floats as ints, text stripped."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip()
    return value
