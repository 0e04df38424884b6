"""The format-free part of drafting (``automl_gpt.cards.draft``): relocated paths, the commented YAML, the notes.

Dispatching through the ``draft_card`` hook is tested in tests/core/test_hooks.py; drafting tables in
tests/plugins/backend_tabular, COCO files in tests/plugins/backend_vision.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from automl_gpt.cards import DataCard, card_from_mapping
from automl_gpt.cards.draft import draft_yaml, relocate


def drafted(**fields: object) -> DataCard:
    card = {"name": "income", "task": "binary", "modality": "tabular", "description": "", "train": "train.csv",
            "target": "y", "n_rows": 40, "columns": {"a": {"type": "numeric", "unique": 40},
                                                      "y": {"type": "categorical", "unique": 2}},
            "label_space": ["no", "yes"], "class_balance": {"no": 0.9, "yes": 0.1}}
    return card_from_mapping(DataCard, {**card, **fields})


def test_relocate_rewrites_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    card = relocate(drafted(test=str(tmp_path / "test.csv")), tmp_path / "cards" / "sub")
    assert card.train.path == "../../train.csv"
    assert card.test is not None and card.test.path == str(tmp_path / "test.csv"), "absolute paths stay"


def test_draft_yaml_explains_the_draft_above_the_card(tmp_path: Path) -> None:
    text = draft_yaml(drafted(), tmp_path / "in\ncome.csv")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert comments == [
        "# Data card drafted by 'automl-gpt cards init' from in come.csv.",  # a newline in a name stays a comment
        "# Check task, target and label_space, and write a description: it goes into the LLM's prompt.",
        "# task binary: target 'y' has 2 distinct values.",
        "# warning: class 'yes' has only 4 rows: too few to validate on, so scores on it will be noise (add rows, "
        "or merge rare classes).",
    ]
    card = yaml.safe_load(text)
    assert card["columns"]["a"] == {"type": "numeric", "missing": 0, "unique": 40}, "no empty description slots"
    assert "read_options" not in card and card["name"] == "income"
