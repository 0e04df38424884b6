"""Every command that takes ``--model`` accepts the same names and refuses the same names with the same line,
through the real command line (the rule itself: ``tests/core/test_model_resolve.py``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .cli_support import cli as run_cli
from .cli_support import one_line_error
from .test_run_cli import write_card

pytestmark = pytest.mark.slow  # real XGBoost training and a subprocess per command and name

GOLDEN_MODEL = Path(__file__).parents[1] / "core" / "golden" / "xgboost_model_card.yaml"
COMMANDS = {  # each command that picks a model card, with options that keep it small and offline
    "run": ("run", "card.json", "--planner", "default", "--budget", "1", "--no-experience", "--no-ensemble",
            "--limit", "max_rounds=5"),
    "plan": ("plan", "card.json", "--planner", "default", "--n", "1", "--no-experience", "--json"),
    "prompt": ("prompt", "card.json", "--n", "1"),
    "experience similar": ("experience", "similar", "card.json", "--store", "store.db"),
}
OUT = {"run": ("--out", "runs")}
NAMES = {  # --model as typed -> the model card the command must use (None: --model left out)
    None: "xgboost",
    "linear": "linear",
    "xgboost": "xgboost",  # a card name and, for the tabular plugin, its backend's name too
    "linear,hist_gradient_boosting": "linear,hist_gradient_boosting",
    "my_card.yaml": "mine",
}


def cli(*args: str | Path, **options: Any) -> subprocess.CompletedProcess[str]:
    options.setdefault("plugins", "backend_tabular")
    return run_cli(*args, **options)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small binary table, its data card, and a model card file (XGBoost's card renamed ``mine``)."""
    base = tmp_path_factory.mktemp("names")
    write_card(base)
    card = yaml.safe_load(GOLDEN_MODEL.read_text(encoding="utf-8"))
    (base / "my_card.yaml").write_text(yaml.safe_dump({**card, "name": "mine"}))
    return base


@pytest.mark.parametrize("name", list(NAMES), ids=str)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_accepts_the_same_names(command: str, name: str | None, folder: Path, tmp_path: Path) -> None:
    args = [*COMMANDS[command], *(["--model", name] if name else []), *OUT.get(command, ())]
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)  # each command in a folder of its own
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    used = NAMES[name]
    if command == "prompt":
        members = used.split(",")
        assert (f'We adopt the model "{used}"' in result.stdout if len(members) == 1
                else f"We adopt one of {len(members)} candidate models" in result.stdout)
    if command == "plan":
        [plan] = json.loads(result.stdout)["plans"]
        assert plan["config"].get("model", used) == used.split(",")[0]  # a choice's first plan: its first card
    if command == "run":
        [summary] = (tmp_path / "runs").glob("*/summary.json")
        saved = json.loads(summary.read_text())["model"]
        assert saved == (str(tmp_path / name) if name and name.endswith(".yaml") else used)  # what resume resolves


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_refuses_an_unknown_name_with_one_line(command: str, folder: Path) -> None:
    result = cli(*COMMANDS[command], "--model", "xgbost", *OUT.get(command, ()), cwd=folder)
    assert one_line_error(result, code=2) == (
        "error: --model 'xgbost': no model card 'xgbost' for task 'binary' (known: hist_gradient_boosting, linear, "
        "xgboost; or a model card file, auto, or a,b,c)")
    assert not (folder / "runs").exists()
