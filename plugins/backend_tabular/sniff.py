"""Guessing how a CSV file is laid out from its first bytes: separator, header, spaces after separators.

The guess becomes the ``read_options`` of a drafted card (see :mod:`automl_gpt_backend_tabular.draft`). Compressed
files (``.gz``, ``.bz2``, ``.xz``) are read through their decompressor; nothing here needs pandas.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_gpt.errors import DataError

SNIFF_BYTES = 64 * 1024
MISSING_WORDS = frozenset({"", "?", "na", "n/a", "nan", "null", "none", "-"})
_OPENERS: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


@dataclass
class CsvLayout:
    """How a CSV file is laid out, as the card's ``read_options`` will say."""

    sep: str = ","
    header: bool = True
    n_fields: int = 0
    skipinitialspace: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # the header's names, when the first row is a header


def sniff_csv(path: Path, target: str | None = None) -> CsvLayout:
    """Guess the separator, header and spacing of a (possibly compressed) CSV file from its first bytes.

    A first row that names ``target``, or has a name above a column of numbers, is a header, even when its other
    names are numbers (``0,1,2,...,target``).
    """
    lines = [line for line in head_text(path).splitlines() if line.strip()][:50]
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
        layout.names = rows[0]
    if sep != ",":
        layout.options["sep"] = sep
    if not layout.header:
        layout.options["header"] = False
        layout.options["names"] = [f"column_{i + 1}" for i in range(layout.n_fields)]
    if layout.skipinitialspace:
        layout.options["skipinitialspace"] = True
    return layout


def field_count(path: Path, sep: str, line: int = 0) -> int:
    """How many fields the ``line``-th non-blank line of the file has (0 when it has fewer lines)."""
    lines = [text for text in head_text(path).splitlines() if text.strip()]
    return len(next(csv.reader([lines[line]], delimiter=sep))) if len(lines) > line else 0


def head_text(path: Path) -> str:
    """The first :data:`SNIFF_BYTES` of the (decompressed) file as text, cut after its last whole line."""
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


def _first_row_is_header(rows: list[list[str]], target: str | None = None) -> bool:
    """Is the first row a header? Yes when it holds the target's name, or a name (not a number, not a missing
    marker) above a column of numbers; else no when one of its numbers heads a column of numbers; else yes."""
    first = [cell.strip() for cell in rows[0]]
    if len(rows) < 2 or (target is not None and target.strip() in first):
        return True
    numeric_below = []
    for index, cell in enumerate(first):
        column = [row[index] for row in rows[1:] if index < len(row)]
        numbers = bool(column) and all(_is_number(value) or value.strip().lower() in MISSING_WORDS
                                       for value in column)
        if numbers and cell.lower() not in MISSING_WORDS and not _is_number(cell):
            return True
        numeric_below.append(numbers and _is_number(cell))
    return not any(numeric_below)


def _is_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return bool(text.strip())
