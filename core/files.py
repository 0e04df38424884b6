"""Writing the files a run keeps (settings, summary, report) so that a crash never leaves half of one.

:func:`write_text_atomic` writes a sibling temporary file, flushes it to disk, and renames it over the target:
a reader sees the old file or the new one, never a truncated mix.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically: write, fsync, rename."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, path.stat().st_mode & 0o777 if path.exists() else 0o644)  # mkstemp's 0600 otherwise
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
