"""The README's first command, run part: the main job on the embedded default (local model, bundled Adult).

Taken from the README itself, so the README cannot drift from the product: the command must be there, run, and end
with the closing lines a newcomer reads (best vs the defaults, test figures, where the gain came from, the model,
the report, the next command).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.llm]


def readme_run_command() -> list[str]:
    """The ``automl-gpt run ...`` part of the README's first set-up command."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(python3 -m venv[^\n]*)\n```", text)
    assert block, "the README starts with the set-up command in a code block"
    run_part = block.group(1).split("&&")[-1].strip()
    assert run_part.startswith("automl-gpt run "), run_part
    return shlex.split(run_part)


def test_the_readme_main_job_runs_and_tells_its_story(tmp_path: Path) -> None:
    command = readme_run_command()
    env = dict(os.environ, AUTOML_GPT_HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1")
    cli = [sys.executable, "-m", "automl_gpt", *command[1:], "--out", str(tmp_path / "runs")]
    done = subprocess.run(cli, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"^run \S+: 10 trials in ", out, re.M), out
    assert re.search(r"^best: trial #\d+ \(\w[\w-]*\) valid logloss [\d.]+ (vs the defaults' [\d.]+|= the defaults)",
                     out, re.M), out
    assert re.search(r"^test: .*accuracy \d+\.\d+%", out, re.M), out
    assert re.search(r"^the best came from \S+; trials by source: ", out, re.M), out
    assert re.search(r"^model: .+", out, re.M) and re.search(r"^report: .+report\.html$", out, re.M), out
    assert re.search(r"^next: automl-gpt predict ", out, re.M), out
    assert "knowledge: a portfolio of" in done.stderr, "the shipped knowledge is used"
