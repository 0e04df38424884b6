"""Running the real command line in a subprocess (``python -m automl_gpt``), as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SWITCHES = (
    "AUTOML_GPT_LOAD_PLUGINS",
    "AUTOML_GPT_BLOCK_PLUGINS",
    "AUTOML_GPT_STRICT_PLUGINS",
    "AUTOML_GPT_TRACE_PLUGINS",
    "AUTOML_GPT_DEBUG",
)


def cli(
    *args: str | Path,
    cwd: Path | None = None,
    path: Path | None = None,
    plugins: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m automl_gpt ARGS``.

    ``path`` goes on PYTHONPATH (a folder of test distributions); ``plugins`` limits the entry points loaded
    (``AUTOML_GPT_LOAD_PLUGINS``), which keeps commands that need none of them quick.
    """
    environment = {k: v for k, v in os.environ.items() if k not in SWITCHES}
    if plugins is not None:
        environment["AUTOML_GPT_LOAD_PLUGINS"] = plugins
    if path is not None:
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), environment.get("PYTHONPATH")]))
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "automl_gpt", *map(str, args)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """Assert the command failed with ``code`` and exactly one ``error: ...`` line; return that line."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]
