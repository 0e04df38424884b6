"""Reading tables as the card says, and clear errors when the data does not match the card."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from automl_gpt.cards import DataCard, load_data_card
from automl_gpt.errors import CardError, DataError
from automl_gpt_backend_tabular import data
from automl_gpt_backend_tabular.backend import XGBoostBackend

from .conftest import pmlb_card


def test_adult_is_read_exactly_as_published(adult_card: DataCard) -> None:
    train = data.read_split(adult_card, "train")
    test = data.read_split(adult_card, "test")
    assert len(train) == 32561 and len(test) == 16281
    assert list(train.columns) == list(adult_card.read_options["names"])
    assert train["workclass"].isna().sum() == 1836
    assert train["occupation"].isna().sum() == 1843
    assert train["native-country"].isna().sum() == 583
    assert "?" not in set(train["workclass"].dropna()) | set(test["workclass"].dropna())
    assert train["workclass"].dropna().str.startswith(" ").sum() == 0, "whitespace after commas is skipped"
    assert test["age"].iloc[0] == 25, "the junk first line of adult.test is skipped"


def test_the_meta_features_read_the_training_file_as_the_backend_does(adult_card: DataCard) -> None:
    from automl_gpt.cards.similarity import read_train_table

    pd.testing.assert_frame_equal(read_train_table(adult_card), data.read_split(adult_card, "train"))


def test_adult_labels_lose_the_trailing_dot(adult_card: DataCard) -> None:
    train = data.load_split(adult_card, "train")
    test = data.load_split(adult_card, "test")
    assert int(train.target.sum()) == 7841  # >50K in adult.data
    assert int(test.target.sum()) == 3846  # >50K. in adult.test
    raw = data.clean_labels(adult_card, data.read_split(adult_card, "test")["income"])
    assert set(raw) == {"<=50K", ">50K"}
    assert train.column_types["workclass"] == "categorical" and train.column_types["age"] == "numeric"
    assert train.features["workclass"].isna().sum() == 1836


def test_adult_card_passes_check(backend: XGBoostBackend, adult_card: DataCard) -> None:
    backend.check_data(adult_card)


def test_parquet_and_compressed_csv(tmp_path: Path, backend: XGBoostBackend) -> None:
    frame = pd.DataFrame({"x": np.arange(40.0), "colour": ["red", "blue"] * 20, "y": [0, 1, 1, 0] * 10})
    frame.to_parquet(tmp_path / "t.parquet")
    with gzip.open(tmp_path / "t.csv.gz", "wt") as handle:
        frame.to_csv(handle, index=False)
    for name in ("t.parquet", "t.csv.gz"):
        card = DataCard(name="t", task="binary", train=str(tmp_path / name), target="y")
        backend.check_data(card)
        table = data.load_split(card, "train")
        assert table.column_types == {"x": "numeric", "colour": "categorical"}
        assert table.target.tolist() == frame["y"].tolist()


def _write(tmp_path: Path, text: str, name: str = "d.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_unknown_target_column(tmp_path: Path, backend: XGBoostBackend) -> None:
    card = DataCard(name="t", task="binary", train=_write(tmp_path, "a,b\n1,0\n2,1\n"), target="label")
    with pytest.raises(DataError, match=r"unknown target column 'label'.*a, b"):
        backend.check_data(card)


def test_unknown_column_in_card(tmp_path: Path, backend: XGBoostBackend) -> None:
    card = DataCard(
        name="t",
        task="binary",
        train=_write(tmp_path, "a,b\n1,0\n2,1\n"),
        target="b",
        columns={"ghost": {"type": "numeric"}},
    )
    with pytest.raises(DataError, match=r"unknown column.*'ghost'"):
        backend.check_data(card)


def test_target_with_one_class(tmp_path: Path, backend: XGBoostBackend) -> None:
    card = DataCard(name="t", task="binary", train=_write(tmp_path, "a,b\n1,yes\n2,yes\n"), target="b")
    with pytest.raises(DataError, match="one class only"):
        backend.check_data(card)


def test_non_numeric_regression_target(tmp_path: Path, backend: XGBoostBackend) -> None:
    card = DataCard(name="t", task="regression", train=_write(tmp_path, "a,b\n1,2.5\n2,lots\n"), target="b")
    with pytest.raises(DataError, match="non-numeric values such as 'lots'"):
        backend.check_data(card)


def test_empty_file(tmp_path: Path, backend: XGBoostBackend) -> None:
    card = DataCard(name="t", task="binary", train=_write(tmp_path, ""), target="b")
    with pytest.raises(DataError, match="empty"):
        backend.check_data(card)
    header_only = DataCard(name="t", task="binary", train=_write(tmp_path, "a,b\n", "h.csv"), target="b")
    with pytest.raises(DataError, match="no rows"):
        backend.check_data(header_only)


def test_missing_file(tmp_path: Path, backend: XGBoostBackend) -> None:
    card = DataCard(name="t", task="binary", train=str(tmp_path / "nowhere.csv"), target="b")
    with pytest.raises(DataError, match=r"nowhere.csv: train file not found"):
        backend.check_data(card)


def test_labels_outside_the_label_space(tmp_path: Path, backend: XGBoostBackend) -> None:
    card = DataCard(
        name="t",
        task="binary",
        train=_write(tmp_path, "a,b\n1,yes\n2,no\n3,maybe\n"),
        target="b",
        label_space=["yes", "no"],
    )
    with pytest.raises(DataError, match="outside the label space"):
        backend.check_data(card)


def test_unknown_read_option_and_missing_target(tmp_path: Path, backend: XGBoostBackend) -> None:
    path = _write(tmp_path, "a,b\n1,0\n2,1\n")
    with pytest.raises(CardError, match=r"read_options.delimiter"):
        backend.check_data(DataCard(name="t", task="binary", train=path, target="b", read_options={"delimiter": ";"}))
    with pytest.raises(CardError, match="field 'target'"):
        backend.check_data(DataCard(name="t", task="binary", train=path))


def test_numeric_column_with_text(tmp_path: Path, backend: XGBoostBackend) -> None:
    card = DataCard(
        name="t",
        task="binary",
        train=_write(tmp_path, "a,b\n1,0\nlots,1\n"),
        target="b",
        columns={"a": {"type": "numeric"}},
    )
    with pytest.raises(DataError, match="column 'a' is numeric in the card but holds 'lots'"):
        backend.check_data(card)


def test_card_file_relative_paths(tmp_path: Path, backend: XGBoostBackend) -> None:
    _write(tmp_path, "a;b\n1;x\n2;y\n3;x\n", "semi.csv")
    (tmp_path / "card.yaml").write_text("name: t\ntask: binary\ntrain: semi.csv\ntarget: b\nread_options: {sep: ';'}\n")
    card = load_data_card(tmp_path / "card.yaml")
    backend.check_data(card)
    assert data.load_split(card, "train").target.tolist() == [0, 1, 0]


def test_pmlb_multiclass_card(shared_data: Path, backend: XGBoostBackend) -> None:
    card = pmlb_card(shared_data, "wine_quality_red")
    backend.check_data(card)
    table = data.load_split(card, "train")
    assert data.label_space(card, data.read_split(card, "train")["target"].astype(str)) == [
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
    ]
    assert np.bincount(table.target).tolist() == [10, 53, 681, 638, 199, 18]
