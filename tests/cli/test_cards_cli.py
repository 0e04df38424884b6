"""``automl-gpt cards init|show`` and ``automl-gpt prompt`` through the real command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .cli_support import cli as run_cli
from .cli_support import one_line_error

GOLDEN = Path(__file__).parents[1] / "core" / "golden" / "adult_prompt.txt"


def cli(*args: str | Path, **options: Any) -> subprocess.CompletedProcess[str]:
    """The command line with only the plugin these commands may need (the one that owns ``xgboost``)."""
    options.setdefault("plugins", "backend_tabular")
    return run_cli(*args, **options)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "income.csv"
    rows = ["age,job,income"] + [
        f"{20 + i},{'clerk' if i % 3 else '?'},{'>50K' if i % 4 == 0 else '<=50K'}" for i in range(40)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_cards_init_prints_a_valid_card(table: Path, tmp_path: Path) -> None:
    result = cli("cards", "init", table.name, "--target", "income", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Data card drafted by 'automl-gpt cards init' from income.csv.")
    card = yaml.safe_load(result.stdout)
    assert card["train"] == {"path": "income.csv"}
    assert (card["task"], card["target"], card["n_rows"], card["description"]) == ("binary", "income", 40, "")
    assert card["class_balance"] == {"<=50K": 0.75, ">50K": 0.25}
    assert card["columns"]["job"] == {"type": "categorical", "missing": 14, "unique": 1}
    assert card["read_options"] == {"na_values": ["?"]}
    (tmp_path / "income.card.yaml").write_text(result.stdout)
    shown = cli("cards", "show", "income.card.yaml", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    payload = json.loads(shown.stdout)
    assert payload["kind"] == "data" and payload["card"]["target"] == "income"


def test_cards_init_out_writes_paths_relative_to_the_card(table: Path, tmp_path: Path) -> None:
    result = cli(
        "cards",
        "init",
        table.name,
        "--target",
        "income",
        "--name",
        "income",
        "--task",
        "multiclass",
        "--out",
        "cards/income.yaml",
        cwd=tmp_path,
    )
    assert result.returncode == 0 and result.stderr.strip() == "wrote cards/income.yaml"
    card = yaml.safe_load((tmp_path / "cards" / "income.yaml").read_text())
    assert (card["train"]["path"], card["name"], card["task"]) == ("../income.csv", "income", "multiclass")
    again = cli("cards", "init", table.name, "--target", "income", "--out", "cards/income.yaml", cwd=tmp_path)
    assert "already exists (pass --force" in one_line_error(again)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["missing.csv", "--target", "y"], "error: missing.csv: file not found (check the path)"),
        (["."], "error: .: not a file (pass a CSV or Parquet file)"),
        (
            ["income.csv", "--target", "incme"],
            "error: income.csv: --target 'incme' is not a column (did you mean 'income'? columns: age, job, income)",
        ),
        (["income.csv"], "error: income.csv: --target is required to draft a card for a table"),
        (["income.csv", "--target", "age", "--task", "binary"], "error: income.csv: --task binary but target 'age'"),
    ],
)
def test_cards_init_bad_input(table: Path, tmp_path: Path, args: list[str], expected: str) -> None:
    assert one_line_error(cli("cards", "init", *args, cwd=tmp_path)).startswith(expected)


def test_cards_init_out_a_folder_is_one_error(table: Path, tmp_path: Path) -> None:
    result = cli("cards", "init", table.name, "--target", "income", "--out", ".", "--force", cwd=tmp_path)
    assert one_line_error(result) == "error: .: is a folder (pass a file name for the card, e.g. --out card.yaml)"


def test_cards_init_explains_its_task_guess(tmp_path: Path) -> None:
    rows = ["0,1,2,target"] + [f"{i % 7}.0,{(i * 3) % 11}.5,{i % 2}.0,{(i * 7) % 9 + 1}.0" for i in range(60)]
    (tmp_path / "scores.csv").write_text("\n".join(rows) + "\n")
    result = cli("cards", "init", "scores.csv", "--target", "target", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    comments = [line for line in result.stdout.splitlines() if line.startswith("#")]
    assert comments[2] == (
        "# task multiclass: target 'target' holds 9 distinct whole numbers; if they are amounts on a scale rather "
        "than classes, write task: regression and delete label_space and class_balance."
    )
    card = yaml.safe_load(result.stdout)
    assert list(card["columns"]) == ["0", "1", "2", "target"] and "read_options" not in card
    assert card["columns"]["2"]["type"] == "boolean"


def test_cards_init_without_a_plugin_for_the_file_names_the_extras(table: Path, tmp_path: Path) -> None:
    coco = tmp_path / "instances.json"
    coco.write_text('{"images": [], "annotations": [], "categories": []}')
    for data in (coco.name, table.name):  # the core reads no data format: the plugins that would are blocked
        assert one_line_error(cli("cards", "init", data, "--target", "income", plugins="", cwd=tmp_path)) == (
            f"error: {data}: no installed plugin drafts a card from this file (a CSV or Parquet table is drafted by "
            "the tabular plugin: pip install 'automl-gpt[tabular]'; a COCO annotation file by the vision plugin: "
            "pip install 'automl-gpt[vision]'; 'automl-gpt plugins list' shows blocked or broken plugins)"
        )


def test_cards_show_model_card_yaml(tmp_path: Path) -> None:
    model = tmp_path / "model.yaml"
    model.write_text(
        "name: m\nbackend: xgboost\ntasks: [binary]\nsearch_space:\n"
        "  lr: {type: float, low: 0.01, high: 1, log: true}\n"
    )
    result = cli("cards", "show", model)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"# model card read from {model.resolve()}")
    assert yaml.safe_load(result.stdout)["search_space"]["lr"]["stage"] == "hyperparameters"
    assert "#   [hyperparameters] lr: float in [0.01, 1], log scale, default 0.1" in result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: toy\ntask: binary\ntrain: t.csv\ncolour: red\n", "card.yaml:4: field 'colour': is not a known field"),
        ("name: toy\ntask: binary\ntrain: t.csv\nn_rows: lots\n", "card.yaml:4: field 'n_rows': Input should be"),
        ("name: toy\ntask: [binary\n", "card.yaml:3: not valid YAML"),
        (
            "name: toy\ntask: binary\ntrain: t.csv\nread_options:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"  {b}: &{b} [*{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}]\n"
                      for a, b in zip("abcdefgh", "bcdefghi", strict=True)),
            "card.yaml: YAML aliases expand to more than 100,000 values (write the values out",
        ),
    ],
)
def test_cards_show_bad_cards_fail_with_one_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "card.yaml").write_text(text)
    assert expected in one_line_error(cli("cards", "show", "card.yaml", cwd=tmp_path))


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    for args, env in (
        (["--debug", "cards", "show", "nope.yaml"], {}),
        (["cards", "show", "nope.yaml"], {"AUTOML_GPT_DEBUG": "1"}),
    ):
        result = cli(*args, cwd=tmp_path, env=env)
        assert result.returncode != 0 and "Traceback" in result.stderr and "CardError" in result.stderr


def test_prompt_for_the_adult_card_is_the_golden_paragraph(repo: Path) -> None:
    model = GOLDEN.parent / "xgboost_model_card.yaml"  # a model card file; its backend comes from the registry
    result = cli("prompt", repo / "examples" / "adult" / "card.yaml", "--model", model)
    assert result.returncode == 0, result.stderr
    assert result.stdout == GOLDEN.read_text(encoding="utf-8")


def test_prompt_options_and_errors(repo: Path, tmp_path: Path) -> None:
    card = repo / "examples" / "adult" / "card.yaml"
    result = cli("prompt", card, "--model", "xgboost", "--n", "1", "--constraint", "budget=5 training runs")
    assert "Constraints: We minimize the validation logloss; budget 5 training runs." in result.stdout
    assert result.stdout.rstrip().endswith(
        "Please give 1 new plan, each with the data processing, the model "
        "architecture, the hyper-parameters and the training log you predict "
        "(validation logloss at a few training steps), as JSON."
    )
    unknown = one_line_error(cli("prompt", card, "--model", "xgbost"))
    assert (
        unknown == "error: --model 'xgbost': no model card 'xgbost' for task 'binary' (known: "
        "hist_gradient_boosting, linear, xgboost; or a model card file, auto, or a,b,c)"
    )
    several = cli("prompt", card, "--model", "auto", "--n", "1")
    assert several.returncode == 0, several.stderr
    assert 'We adopt one of 3 candidate models ("xgboost", "hist_gradient_boosting", "linear")' in several.stdout
    assert 'Candidate model "linear"' in several.stdout and "- [model] model: one of" not in several.stdout
    model = tmp_path / "m.yaml"
    model.write_text("name: m\nbackend: nowhere\ntasks: [binary]\n")
    assert "names backend 'nowhere', which no installed plugin provides" in one_line_error(
        cli("prompt", card, "--model", model)
    )
    assert "is a model card, not a data card" in one_line_error(cli("prompt", model, "--model", "xgboost"))
    assert "write NAME=VALUE" in one_line_error(cli("prompt", card, "--model", "xgboost", "--constraint", "x"))
