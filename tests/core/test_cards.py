"""Card parsing: YAML, JSON and README front-matter cards, good and bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from automl_gpt.cards import (
    DataCard,
    ModelCard,
    card_from_mapping,
    card_kind,
    load_card,
    load_data_card,
    load_model_card,
    read_card_file,
)
from automl_gpt.cards.search_space import FloatParam, IntParam
from automl_gpt.errors import CardError

DATA = {
    "name": "toy",
    "task": "binary",
    "train": "train.csv",
    "target": "y",
    "label_space": ["no", "yes"],
    "columns": {"x": {"type": "numeric", "missing": 2}},
}
MODEL = {
    "name": "toy-model",
    "backend": "toy",
    "tasks": ["binary"],
    "search_space": {
        "lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True, "default": 0.1},
        "depth": {"type": "int", "low": 1, "high": 8},
        "kind": {"type": "categorical", "choices": ["a", "b"], "stage": "model"},
        "extra": {"type": "int", "low": 1, "high": 3, "condition": {"kind": ["b"]}},
    },
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_data_card(tmp_path: Path) -> None:
    card = load_data_card(write(tmp_path / "card.yaml", yaml.safe_dump(DATA)))
    assert card.name == "toy" and card.task == "binary"
    assert card.train.path == "train.csv"
    assert card.split_path("train") == (tmp_path / "train.csv").resolve()
    assert card.split_path("test") is None
    assert card.columns is not None and card.columns["x"].missing == 2
    assert card.source == (tmp_path / "card.yaml").resolve()


def test_json_model_card(tmp_path: Path) -> None:
    card = load_model_card(write(tmp_path / "model.json", json.dumps(MODEL)))
    space = card.space()
    assert isinstance(space["lr"], FloatParam) and space["lr"].log
    assert isinstance(space["depth"], IntParam)
    assert card.defaults() == {"lr": 0.1, "depth": 4, "kind": "a"}


def test_readme_front_matter_and_folder(tmp_path: Path) -> None:
    text = "---\n" + yaml.safe_dump(DATA) + "---\n\n# Toy dataset\n\nProse the card parser ignores.\n"
    write(tmp_path / "toy" / "README.md", text)
    assert load_data_card(tmp_path / "toy" / "README.md").name == "toy"
    assert load_data_card(tmp_path / "toy").name == "toy"  # a Hugging Face style folder


def test_load_card_tells_kinds_apart(tmp_path: Path) -> None:
    assert isinstance(load_card(write(tmp_path / "d.yaml", yaml.safe_dump(DATA))), DataCard)
    assert isinstance(load_card(write(tmp_path / "m.yaml", yaml.safe_dump(MODEL))), ModelCard)
    assert card_kind({"name": "x", "backend": "y"}) == "model" and card_kind(DATA) == "data"
    with pytest.raises(CardError, match="is a model card, not a data card"):
        load_data_card(tmp_path / "m.yaml")


def test_normalised_yaml_round_trips(tmp_path: Path) -> None:
    card = load_model_card(write(tmp_path / "m.yaml", yaml.safe_dump(MODEL)))
    again = card_from_mapping(ModelCard, yaml.safe_load(card.to_yaml()))
    assert again.model_dump() == card.model_dump()
    assert "stage: hyperparameters" in card.to_yaml()  # defaults are filled in


def error_of(path: Path) -> CardError:
    with pytest.raises(CardError) as info:
        load_card(path)
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    error = error_of(tmp_path / "nope.yaml")
    assert str(error) == f"{tmp_path / 'nope.yaml'}: file not found (check the path)"


def test_unknown_field_names_line_and_known_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "card.yaml", "name: toy\ntask: binary\ntrain: t.csv\ntargte: y\n")
    error = error_of(path)
    assert (error.field, error.line) == ("targte", 4)
    assert str(error).startswith(f"{path}:4: field 'targte': is not a known field (remove it or use one of: name,")


def test_wrong_type_and_bad_value(tmp_path: Path) -> None:
    error = error_of(write(tmp_path / "a.yaml", "name: toy\ntask: binary\ntrain: t.csv\nn_rows: many\n"))
    assert (error.field, error.line) == ("n_rows", 4)
    assert "valid integer" in str(error)
    error = error_of(write(tmp_path / "b.yaml", "name: toy\ntask: clustering\ntrain: t.csv\n"))
    assert (error.field, error.line) == ("task", 2)
    assert "use one of the allowed values" in str(error)


def test_missing_required_field(tmp_path: Path) -> None:
    error = error_of(write(tmp_path / "card.yaml", "name: toy\ntrain: t.csv\n"))
    assert error.field == "task"
    assert str(error).endswith("field 'task': is required but missing (add it)")


def test_nested_search_space_error_has_line(tmp_path: Path) -> None:
    bad = dict(MODEL, search_space={"lr": {"type": "float", "low": 1.0, "high": 0.1}})
    text = yaml.safe_dump(bad, sort_keys=False)
    error = error_of(write(tmp_path / "m.yaml", text))
    assert error.field is not None and error.field.startswith("search_space.lr")
    assert error.line == text.splitlines().index("  lr:") + 1
    assert "low 1.0 is above high 0.1" in str(error)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    error = error_of(write(tmp_path / "card.yaml", "name: toy\ntask: binary\ntrain: [t.csv\nx: 1\n"))
    assert error.line == 4
    assert "not valid YAML" in str(error) and "(fix the YAML syntax)" in str(error)


def test_front_matter_errors_count_lines_from_the_file_top(tmp_path: Path) -> None:
    error = error_of(write(tmp_path / "README.md", "---\nname: toy\ntask: binary\ntrain: t.csv\nbogus: 1\n---\n"))
    assert (error.field, error.line) == ("bogus", 5)
    error = error_of(write(tmp_path / "x" / "README.md", "# no front matter\n"))
    assert "no YAML front-matter" in str(error)
    error = error_of(write(tmp_path / "y" / "README.md", "---\nname: toy\n"))
    assert "front-matter is not closed" in str(error)


def test_json_syntax_error_has_line(tmp_path: Path) -> None:
    error = error_of(write(tmp_path / "card.json", '{\n  "name": "toy",\n  "task": binary\n}\n'))
    assert error.line == 3 and "not valid JSON" in str(error)


def test_not_a_mapping_and_not_text(tmp_path: Path) -> None:
    assert "must be a mapping" in str(error_of(write(tmp_path / "list.yaml", "- a\n- b\n")))
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert "cannot be read" in str(error_of(binary))
    with pytest.raises(CardError, match=r"folder without a README\.md"):
        read_card_file(tmp_path)
