"""Drafting data cards from CSV/Parquet tables (the tabular plugin's ``draft_card``)."""

from __future__ import annotations

import gzip
from pathlib import Path

import automl_gpt_backend_tabular
import numpy as np
import pandas as pd
import pytest
from automl_gpt import hookimpl
from automl_gpt.cards import DataCard, card_from_mapping, load_data_card
from automl_gpt.cards.draft import draft_card
from automl_gpt.errors import DataError, UsageError
from automl_gpt.requirements import Requirements
from automl_gpt.testing import plugins_loaded
from automl_gpt_backend_tabular.draft import draft_data_card
from automl_gpt_backend_tabular.sniff import sniff_csv


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours": rng.normal(40, 5, n).round(2),
            "job": rng.choice(["clerk", "nurse", "?"], n, p=[0.5, 0.4, 0.1]),
            "member": rng.choice(["yes", "no"], n),
            "flag": rng.choice([0, 1], n),
            "joined": pd.date_range("2021-01-01", periods=n).strftime("%Y-%m-%d"),
            "review": [f"the service was fine and quick number {i}" for i in range(n)],
            "grade": rng.choice([1, 2, 3], n),
            "income": rng.choice(["<=50K", ">50K"], n, p=[0.75, 0.25]),
        }
    )


def test_binary_card_from_csv(tmp_path: Path, table: pd.DataFrame) -> None:
    path = tmp_path / "people.csv"
    table.to_csv(path, index=False)
    card = draft_data_card(path, target="income")
    assert (card.name, card.task, card.target, card.n_rows, card.n_features) == ("people", "binary", "income", 120, 8)
    assert card.label_space == ["<=50K", ">50K"]
    counts = table["income"].value_counts(normalize=True)
    assert card.class_balance == {k: round(float(counts[k]), 4) for k in ("<=50K", ">50K")}
    assert card.columns is not None
    types = {name: info.type for name, info in card.columns.items()}
    assert types == {
        "age": "numeric",
        "hours": "numeric",
        "job": "categorical",
        "member": "boolean",
        "flag": "boolean",
        "joined": "datetime",
        "review": "text",
        "grade": "numeric",
        "income": "categorical",
    }
    assert card.columns["job"].missing == int((table["job"] == "?").sum()) > 0
    assert card.read_options == {"na_values": ["?"]}  # the "?" marker is found and declared
    assert card.description == ""


@pytest.mark.parametrize(
    ("target", "task", "labels"),
    [
        ("grade", "multiclass", [1, 2, 3]),
        ("hours", "regression", None),
        ("age", "regression", None),  # integer target with more than 20 values
        ("member", "binary", ["no", "yes"]),
    ],
)
def test_task_inferred_from_target(
    tmp_path: Path, table: pd.DataFrame, target: str, task: str, labels: list[object] | None
) -> None:
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    card = draft_data_card(path, target=target)
    assert card.task == task
    assert card.label_space == labels
    assert card.read_options == {}


def test_task_override_is_checked(tmp_path: Path, table: pd.DataFrame) -> None:
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    assert draft_data_card(path, target="grade", task="regression").task == "regression"
    with pytest.raises(DataError, match="--task binary but target 'grade' has 3 classes"):
        draft_data_card(path, target="grade", task="binary")
    with pytest.raises(DataError, match="not numeric"):
        draft_data_card(path, target="income", task="regression")
    with pytest.raises(UsageError, match="drafts tabular cards"):
        draft_data_card(path, target="income", task="object_detection")


def test_bad_target_suggests_the_closest_column(tmp_path: Path, table: pd.DataFrame) -> None:
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"--target 'incme' is not a column \(did you mean 'income'\?"):
        draft_data_card(path, target="incme")
    table.assign(const=1).to_csv(path, index=False)
    with pytest.raises(DataError, match="'const' has 1 distinct value"):
        draft_data_card(path, target="const")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "file not found"),
        ("empty.csv", "", "the file is empty"),
        ("header_only.csv", "a,b\n", "has no rows"),
        ("coco.json", '{"images": [], "annotations": []}', "JSON annotation file"),
    ],
)
def test_unreadable_inputs(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=message):
        draft_data_card(path, target="a")


def test_sniffs_separator_spacing_and_missing_header(tmp_path: Path) -> None:
    path = tmp_path / "raw.data.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("39; State-gov; 77516; <=50K\n50; ?; 83311; >50K\n38; Private; 215646; <=50K\n")
    layout = sniff_csv(path)
    assert (layout.sep, layout.header, layout.skipinitialspace) == (";", False, True)
    card = draft_data_card(path, target="column_4")
    assert card.name == "raw"
    assert card.read_options == {
        "sep": ";",
        "header": False,
        "names": ["column_1", "column_2", "column_3", "column_4"],
        "skipinitialspace": True,
        "na_values": ["?"],
    }
    assert card.columns is not None and card.columns["column_2"].missing == 1


def test_adult_draft_matches_the_published_card(repo: Path) -> None:
    """The drafter, run on the raw UCI files, measures what the hand-written example card states."""
    folder = repo / "examples" / "adult"
    published = load_data_card(folder / "card.yaml")
    draft = draft_data_card(folder / "adult.data.gz", target="column_15", test=folder / "adult.test.gz")
    assert draft.task == published.task
    assert draft.n_rows == published.n_rows and draft.n_features == published.n_features
    assert draft.label_space == published.label_space
    assert draft.class_balance == published.class_balance
    for key in ("header", "skipinitialspace", "na_values", "test_skiprows", "label_suffix"):
        assert draft.read_options[key] == published.read_options[key], key
    assert draft.columns is not None and published.columns is not None
    names = published.read_options["names"]
    for index, name in enumerate(names[:-1]):
        ours, theirs = draft.columns[f"column_{index + 1}"], published.columns[name]
        assert (ours.type, ours.missing, ours.unique) == (theirs.type, theirs.missing, theirs.unique), name


def test_test_file_must_have_the_training_columns(tmp_path: Path, table: pd.DataFrame) -> None:
    table.to_csv(tmp_path / "train.csv", index=False)
    table.drop(columns=["age"]).to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(DataError, match=r"test.csv: test file lacks column\(s\) \['age'\]"):
        draft_data_card(tmp_path / "train.csv", target="income", test=tmp_path / "test.csv")
    table.assign(income="other").to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(DataError, match=r"test labels \['other'\] are not in the training labels"):
        draft_data_card(tmp_path / "train.csv", target="income", test=tmp_path / "test.csv")


class QuestionsPlugin:
    """A third-party plugin that drafts ``.jsonl`` files."""

    @hookimpl
    def draft_card(self, path: Path) -> DataCard | None:
        if path.suffix != ".jsonl":
            return None
        return card_from_mapping(DataCard, {"name": "qa", "task": "extractive_qa", "modality": "text",
                                            "train": str(path)})


def test_the_plugin_drafts_every_file_no_other_plugin_claims(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("x,y\n1,a\n2,b\n3,a\n")
    jsonl = tmp_path / "questions.jsonl"
    jsonl.write_text('{"question": "?"}\n')
    coco = tmp_path / "instances.json"
    coco.write_text('{"images": [], "annotations": [], "categories": []}')
    with plugins_loaded(automl_gpt_backend_tabular):
        drafted = draft_card(table, target="y")
        assert (drafted.task, drafted.target, drafted.n_rows) == ("binary", "y", 3)
        with pytest.raises(DataError, match=r"questions\.jsonl: the file has no rows"):  # read as a table
            draft_card(jsonl, target="question")
        with pytest.raises(DataError, match=r"a JSON annotation file \(e\.g\. COCO\) is drafted by the backend plugin"):
            draft_card(coco, target="y")
        with pytest.raises(UsageError, match=r"t\.csv: --target is required to draft a card for a table"):
            draft_card(table)
    with plugins_loaded(automl_gpt_backend_tabular, QuestionsPlugin()):  # the tabular plugin answers last
        assert draft_card(jsonl).task == "extractive_qa"
        assert draft_card(table, target="y").task == "binary"


def test_without_the_extra_the_plugin_lists_unavailable_and_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "t.csv"
    table.write_text("x,y\n1,a\n2,b\n3,a\n")
    missing = Requirements(extra="tabular", modules=("automl_gpt_surely_not_installed",))
    monkeypatch.setattr(automl_gpt_backend_tabular, "requirements", missing)
    with plugins_loaded(automl_gpt_backend_tabular) as manager:
        record = next(r for r in manager.plugin_records() if r.module == "automl_gpt_backend_tabular")
        assert record.status == "unavailable"
        with pytest.raises(UsageError) as raised:
            draft_card(table, target="y")
    assert str(raised.value) == (
        f"{table}: drafting a card for a table needs the tabular plugin, which is unavailable "
        "(missing automl_gpt_surely_not_installed: pip install 'automl-gpt[tabular]')"
    )
