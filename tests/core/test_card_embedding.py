"""Data-card embeddings come from the real MiniLM model; meta-features come from the card or the data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from automl_gpt.cards import ColumnInfo, DataCard
from automl_gpt.cards.similarity import CardEmbedder, CardProfile, card_text, combined_similarity, meta_features
from automl_gpt.errors import UsageError

HEART = DataCard(
    name="heart_disease",
    task="binary",
    train="heart.csv",
    n_rows=303,
    n_features=13,
    description="Clinical measurements of hospital patients (age, blood pressure, cholesterol, chest "
    "pain type); predict whether the patient has heart disease.",
    class_balance={"0": 0.54, "1": 0.46},
)
DIABETES = DataCard(
    name="diabetes",
    task="binary",
    train="diabetes.csv",
    n_rows=768,
    n_features=8,
    description="Medical records of female patients (glucose, insulin, body mass index, age); "
    "predict the onset of diabetes.",
    class_balance={"0": 0.65, "1": 0.35},
)
DIGITS = DataCard(
    name="handwritten_digits",
    task="multiclass",
    train="digits.csv",
    n_rows=5620,
    n_features=64,
    description="Pixel counts of 8x8 blocks of scanned handwritten digits; recognise the digit 0-9.",
    class_balance={str(i): 0.1 for i in range(10)},
)


@pytest.fixture(scope="module")
def embedder() -> CardEmbedder:
    return CardEmbedder()


@pytest.mark.slow
def test_embedding_comes_from_the_model(embedder: CardEmbedder) -> None:
    vector = embedder.embed(HEART)
    assert vector.shape == (384,) and vector.dtype == np.float32
    assert math.isclose(float(np.linalg.norm(vector)), 1.0, rel_tol=1e-4)
    assert np.allclose(vector, embedder.embed(HEART))
    medical = float(embedder.embed(DIABETES) @ vector)
    unrelated = float(embedder.embed(DIGITS) @ vector)
    assert medical > unrelated + 0.1


@pytest.mark.slow
def test_similar_cards_are_closer_than_unrelated_ones(embedder: CardEmbedder) -> None:
    near = embedder.similarity(HEART, DIABETES)
    far = embedder.similarity(HEART, DIGITS)
    assert 0.0 <= far < near <= 1.0
    assert embedder.similarity(HEART, HEART) == pytest.approx(1.0, abs=1e-5)


def test_meta_features_from_the_card() -> None:
    card = DataCard(
        name="t",
        task="binary",
        train="x.csv",
        n_rows=1000,
        target="y",
        columns={
            "a": ColumnInfo(type="numeric", missing=100),
            "b": ColumnInfo(type="categorical"),
            "y": ColumnInfo(type="categorical"),
        },
        class_balance={"yes": 0.2, "no": 0.8},
    )
    meta = meta_features(card)
    assert meta["log10_rows"] == pytest.approx(3.0)
    assert meta["log10_features"] == pytest.approx(math.log10(2))
    assert meta["categorical_share"] == pytest.approx(0.5)
    assert meta["missing_share"] == pytest.approx(100 / 2000)
    assert meta["log2_classes"] == pytest.approx(1.0)
    assert meta["imbalance"] == pytest.approx(0.75)


def test_meta_features_computed_from_the_data_when_the_card_lacks_them(tmp_path: Path) -> None:
    rows = ["colour,size,code,label"] + [
        f"{c},{s},{k},{lab}"
        for c, s, k, lab in [("red", 1.5, 1, "a"), ("blue", "", 2, "a"), ("red", 2.5, 1, "a"), ("green", 3.5, 3, "b")]
    ]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    card = DataCard(name="t", task="binary", train="d.csv", target="label")
    card._source = tmp_path / "card.yaml"
    meta = meta_features(card)
    assert meta["log10_rows"] == pytest.approx(math.log10(4))
    assert meta["log10_features"] == pytest.approx(math.log10(3))
    assert meta["categorical_share"] == pytest.approx(2 / 3)  # colour (text) and code (integer codes)
    assert meta["missing_share"] == pytest.approx(1 / 12)
    assert meta["imbalance"] == pytest.approx(1 - 0.25 / 0.75)


def test_combined_similarity_blends_text_and_meta_features() -> None:
    e = np.array([1.0, 0.0], dtype=np.float32)
    same = CardProfile(e, {"log10_rows": 3.0}, "binary")
    far_rows = CardProfile(e, {"log10_rows": 5.0}, "binary")
    other_task = CardProfile(e, {"log10_rows": 3.0}, "regression")
    assert combined_similarity(same, same) == pytest.approx(1.0)
    assert combined_similarity(same, far_rows) == pytest.approx(0.5 + 0.5 * math.exp(-1.0))
    assert combined_similarity(same, other_task) == pytest.approx(0.5)
    assert combined_similarity(same, far_rows, text_weight=0.0) == pytest.approx(math.exp(-1.0))


def test_card_text_names_task_description_columns_and_labels() -> None:
    card = DataCard(
        name="adult_income",
        task="binary",
        train="a.csv",
        target="income",
        label_space=["<=50K", ">50K"],
        description="Census records.",
        columns={"age": ColumnInfo(type="numeric")},
    )
    text = card_text(card)
    for part in ("binary classification", "adult income", "Census records.", "age (numeric)", ">50K", "income"):
        assert part in text


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        CardEmbedder(str(tmp_path / "no-model")).embed(HEART)
