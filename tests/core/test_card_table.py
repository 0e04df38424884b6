"""The one reader of a card's table (``automl_gpt.cards.table``): read options as pandas arguments, and its errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from automl_gpt.cards import DataCard
from automl_gpt.cards.similarity import meta_features, read_train_table
from automl_gpt.cards.table import pandas_read_options, read_table
from automl_gpt.errors import DataError


def test_read_options_become_pandas_arguments() -> None:
    assert pandas_read_options({}) == {"sep": ",", "header": 0, "names": None, "na_values": None,
                                       "skipinitialspace": False, "skiprows": 0, "skip_blank_lines": True}
    options = {"sep": ";", "header": False, "names": ["a", "b"], "na_values": ["?"], "skipinitialspace": True,
               "skiprows": 1, "test_skiprows": 2, "label_suffix": "."}
    train = pandas_read_options(options)
    assert (train["sep"], train["header"], train["names"], train["na_values"]) == (";", None, ["a", "b"], ["?"])
    assert train["skipinitialspace"] and train["skiprows"] == 1 and "label_suffix" not in train
    assert pandas_read_options(options, "test")["skiprows"] == 3, "test_skiprows counts for the test file only"


def test_the_card_reader_and_the_meta_features_read_the_same_table(tmp_path: Path) -> None:
    path = tmp_path / "people.csv.gz"
    rows = [f"{20 + i}; {'?' if i % 5 == 0 else 'clerk'}; {i % 2}" for i in range(30)]
    pd.Series(["junk line", *rows]).to_csv(path, index=False, header=False)
    options = {"sep": ";", "header": False, "names": ["age ", "job", "y"], "na_values": ["?"],
               "skipinitialspace": True, "skiprows": 1}
    frame = read_table(path, options)
    assert list(frame.columns) == ["age", "job", "y"] and len(frame) == 30
    assert int(frame["job"].isna().sum()) == 6
    card = DataCard(name="people", task="binary", train=str(path), target="y", read_options=options)
    pd.testing.assert_frame_equal(read_train_table(card), frame)
    assert meta_features(card)["missing_share"] == pytest.approx(6 / 60)


def test_names_given_with_the_header_rename_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    frame = read_table(path, {"names": ["x", "y"]})
    assert list(frame.columns) == ["x", "y"] and frame["x"].tolist() == [1, 3], "the header line is not a row"


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        ("", {}, "t.csv: the file is empty (fix it)"),
        ("a,b\n", {}, "t.csv: the file has no rows (fix it)"),
        ("1,2\n", {"header": False}, "t.csv: read_options say header: false but give no 'names'"),
        ('a,b\n1,"2\n', {}, "t.csv: cannot read as CSV: "),
    ],
)
def test_unreadable_tables_are_one_line_errors(tmp_path: Path, content: str, options: dict[str, object],
                                               message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(DataError) as raised:
        read_table(path, options, fix="fix it")
    assert message in str(raised.value) and "\n" not in str(raised.value)
    card = DataCard(name="t", task="binary", train=str(path), target="a", read_options=options)
    assert read_train_table(card) is None


def test_parquet_is_read_whatever_the_options(tmp_path: Path) -> None:
    path = tmp_path / "t.PQ"
    pd.DataFrame({" a": [1, 2], "b": ["x", "y"]}).to_parquet(path)
    assert list(read_table(path, {"sep": ";"}).columns) == ["a", "b"]
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: cannot read Parquet"):
        read_table(tmp_path / "bad.parquet")
