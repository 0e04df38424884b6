"""Every card that ``cards init`` drafts is accepted by the tabular backend on the same file: generated tables
(numeric header names, 0/1 columns written as floats, whole-number labels written as floats, many-valued numeric
targets) and, slow-marked, every table of the shared PMLB suite."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from automl_gpt.cards import DataCard, load_data_card
from automl_gpt.cards.draft import draft_notes
from automl_gpt_backend_tabular import data
from automl_gpt_backend_tabular.draft import draft_data_card
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FEATURE_KINDS = ("codes", "floats", "zero_one_floats", "zero_one_ints", "zero_one_missing", "yes_no", "words",
                 "with_missing")
TARGET_KINDS = ("text_binary", "float_classes", "int_classes", "many_floats", "zero_one_floats")


def feature(kind: str, rng: np.random.Generator, n: int) -> list[str]:
    if kind == "codes":
        return [str(v) for v in rng.integers(0, 5, n)]
    if kind == "floats":
        return [f"{v:.3f}" for v in rng.normal(size=n)]
    if kind == "zero_one_floats":
        return [f"{v:.1f}" for v in rng.integers(0, 2, n)]
    if kind == "zero_one_ints":
        return [str(v) for v in rng.integers(0, 2, n)]
    if kind == "zero_one_missing":
        return ["1.0", "0.0", ""] + [("0.0", "1.0", "")[v] for v in rng.integers(0, 3, n - 3)]
    if kind == "yes_no":
        return [("yes", "no")[v] for v in rng.integers(0, 2, n)]
    if kind == "words":
        return [("red", "green", "blue")[v] for v in rng.integers(0, 3, n)]
    return [("?" if v == 0 else str(v)) for v in rng.integers(0, 6, n)]


def target(kind: str, rng: np.random.Generator, n: int) -> list[str]:
    """A target column; its first rows hold distinct values, so the task is known from the kind."""
    if kind == "text_binary":
        return ["good", "bad"] + [("good", "bad")[v] for v in rng.integers(0, 2, n - 2)]
    if kind == "float_classes":
        return ["1.0", "2.0", "3.0"] + [f"{v:.1f}" for v in rng.integers(1, 6, n - 3)]
    if kind == "int_classes":
        return ["0", "1", "2"] + [str(v) for v in rng.integers(0, 4, n - 3)]
    if kind == "zero_one_floats":
        return ["0.0", "1.0"] + [f"{v:.1f}" for v in rng.integers(0, 2, n - 2)]
    return [f"{v:.4f}" for v in rng.normal(10, 3, n)]


def write_table(path: Path, columns: dict[str, list[str]]) -> None:
    names = list(columns)
    rows = zip(*columns.values(), strict=True)
    path.write_text(",".join(names) + "\n" + "\n".join(",".join(row) for row in rows) + "\n")


def accepted(card: DataCard, folder: Path) -> DataCard:
    """The draft as a user saves it (YAML), read back and checked by the backend's data loading."""
    path = folder / "card.yaml"
    path.write_text(card.to_yaml())
    saved = load_data_card(path)
    data.check_card(saved)
    return saved


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    features=st.lists(st.sampled_from(FEATURE_KINDS), min_size=1, max_size=5),
    target_kind=st.sampled_from(TARGET_KINDS),
    numeric_names=st.booleans(),
    rows=st.integers(min_value=12, max_value=120),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_every_drafted_card_is_accepted_by_the_backend(
    tmp_path: Path, features: list[str], target_kind: str, numeric_names: bool, rows: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    columns = {(str(i) if numeric_names else f"f_{kind}_{i}"): feature(kind, rng, rows)
               for i, kind in enumerate(features)}
    columns["target"] = target(target_kind, rng, rows)
    path = tmp_path / f"table_{seed}.csv"
    write_table(path, columns)
    card = accepted(draft_data_card(path, target="target"), tmp_path)
    assert list(card.columns or {}) == list(columns)
    expected = {"text_binary": "binary", "zero_one_floats": "binary", "many_floats": "regression"}
    assert card.task == expected.get(target_kind, "multiclass")
    assert draft_notes(card)[0].startswith(f"task {card.task}: target 'target'")


def test_numeric_header_names_are_a_header(tmp_path: Path) -> None:
    path = tmp_path / "spam.csv"
    write_table(path, {"0": ["0.1", "0.2", "0.0"] * 10, "1": ["1.5", "0.0", "2.0"] * 10,
                       "target": ["1", "0", "1"] * 10})
    card = draft_data_card(path, target="target")
    assert list(card.columns or {}) == ["0", "1", "target"] and not card.read_options


def test_zero_one_floats_are_booleans_compared_by_value(tmp_path: Path) -> None:
    path = tmp_path / "heart.csv"
    write_table(path, {"sex": ["1.0", "0.0", "1.0"] * 10, "age": [str(30 + i) for i in range(30)],
                       "target": ["2.0", "1.0", "3.0"] * 10})
    card = accepted(draft_data_card(path, target="target"), tmp_path)
    assert (card.columns or {})["sex"].type == "boolean" and card.label_space == [1, 2, 3]
    table = data.load_split(card, "train")
    assert table.features["sex"].tolist()[:3] == [1.0, 0.0, 1.0]
    assert table.target.tolist()[:3] == [1, 0, 2], "labels 2.0, 1.0, 3.0 are classes 2, 1, 3 of [1, 2, 3]"


def test_a_numeric_target_with_many_values_is_regression_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    write_table(path, {"rooms": [str(i % 5) for i in range(40)], "price": [f"{100 + i * 1.5}" for i in range(40)]})
    card = accepted(draft_data_card(path, target="price"), tmp_path)
    assert card.task == "regression"
    assert draft_notes(card) == ["task regression: target 'price' is numeric with 40 distinct values (for classes "
                                 "write task: multiclass)."]


def test_small_data_is_warned_in_the_draft_and_at_check(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "tiny.csv"
    write_table(path, {"a": [str(i) for i in range(40)], "y": ["a"] * 36 + ["b"] * 4})
    card = draft_data_card(path, target="y")
    assert draft_notes(card)[-1] == ("warning: class 'b' has only 4 rows: too few to validate on, so scores on it "
                                     "will be noise (add rows, or merge rare classes).")
    with caplog.at_level(logging.WARNING):
        accepted(card, tmp_path)
    assert f"warning: {path}: class 'b' has only 4 rows" in caplog.text


def test_duplicated_column_names_are_warned(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "dups.csv"
    path.write_text("a,b,a,y\n" + "".join(f"{i},{i * 2},{i * 3},{i % 2}\n" for i in range(30)))
    with caplog.at_level(logging.WARNING):
        card = draft_data_card(path, target="y")
    assert list(card.columns or {}) == ["a", "b", "a.1", "y"]
    warning = f"warning: {path}: column name(s) 'a' appear more than once; the repeats are read as 'a.1'"
    assert warning in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        accepted(card, tmp_path)  # a card written by hand is warned about at run time too
    assert warning in caplog.text


# -- the shared PMLB suite -----------------------------------------------------------------------------------

TRAINED = ("spambase", "heart_statlog", "1027_ESL", "penguins", "new_thyroid")


def suite(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "tabular").glob("*.csv.gz"))


@pytest.mark.slow
def test_every_shared_table_drafts_a_card_the_backend_accepts(shared_data: Path, tmp_path: Path) -> None:
    failures = []
    tables = suite(shared_data)
    for path in tables:
        try:
            accepted(draft_data_card(path, target="target"), tmp_path)
        except Exception as exc:  # collect every failure: the message lists them all
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
    assert len(tables) >= 200 and not failures, "\n".join(failures)


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINED)
def test_a_drafted_card_trains_one_trial(shared_data: Path, tmp_path: Path, name: str) -> None:
    from automl_gpt.runs.loop import run

    card = accepted(draft_data_card(shared_data / "tabular" / f"{name}.csv.gz", target="target"), tmp_path)
    result = run(card, planner="default", budget=1, out=tmp_path / "runs", experience=False,
                 limits={"max_rows": 1500, "max_rounds": 40, "threads": 2}, echo=lambda line: None)
    assert result.summary["trials"]["complete"] == 1, json.dumps(result.summary["trials"])
    assert result.best_value is not None and pd.notna(result.best_value)
