"""The official SQuAD v1.1 exact match and F1, checked on worked examples."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from automl_gpt_backend_nlp.metrics import exact_match_score, f1_score, normalize_answer, squad_scores
from automl_gpt_backend_nlp.squad import Answer, QAExample, load_examples

# The first question of the official dev set (Super Bowl 50), with its three reference answers.
SUPER_BOWL = QAExample(
    "56be4db0acb8001400a502ec",
    "Super_Bowl_50",
    "Super Bowl 50 was an American football game to determine the champion of the National Football League (NFL) "
    "for the 2015 season. The American Football Conference (AFC) champion Denver Broncos defeated the National "
    "Football Conference (NFC) champion Carolina Panthers 24-10 to earn their third Super Bowl title.",
    "Which NFL team represented the AFC at Super Bowl 50?",
    (Answer("Denver Broncos", 177), Answer("Denver Broncos", 177), Answer("Denver Broncos", 177)),
)
SEASON = QAExample(
    "q2", "t", "It was for the 2015 season.", "Which season?", (Answer("2015", 15), Answer("the 2015 season", 11))
)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("The Denver Broncos!", "denver broncos"),
        ("  an apple a day  ", "apple day"),
        ("Saint   Bernadette\tSoubirous.", "saint bernadette soubirous"),
        ("theatre, anthem", "theatre anthem"),  # articles only as whole words
        ("U.S.-born", "usborn"),
    ],
)
def test_normalisation_matches_the_official_script(text: str, normalised: str) -> None:
    assert normalize_answer(text) == normalised


def test_exact_match_ignores_case_punctuation_and_articles() -> None:
    assert exact_match_score("the Denver Broncos.", "Denver Broncos") == 1.0
    assert exact_match_score("Broncos", "Denver Broncos") == 0.0


def test_f1_is_token_overlap() -> None:
    assert f1_score("Broncos", "Denver Broncos") == pytest.approx(2 / 3)  # precision 1, recall 1/2
    assert f1_score("Denver Broncos won", "Denver Broncos") == pytest.approx(0.8)  # precision 2/3, recall 1
    assert f1_score("Carolina Panthers", "Denver Broncos") == 0.0
    assert f1_score("", "Denver Broncos") == 0.0
    assert f1_score("the", "a") == 0.0  # both normalise to nothing: no common tokens


def test_scores_take_the_best_reference_and_count_missing_predictions_as_zero() -> None:
    assert squad_scores([SUPER_BOWL, SEASON], {SUPER_BOWL.id: "Denver Broncos", "q2": "2015 season"}) == {
        "exact_match": 100.0,
        "f1": 100.0,
    }
    partial = squad_scores([SUPER_BOWL, SEASON], {SUPER_BOWL.id: "Broncos"})
    assert partial["exact_match"] == 0.0
    assert partial["f1"] == pytest.approx(100 * (2 / 3) / 2)
    assert all(math.isnan(v) for v in squad_scores([], {}).values())


def test_reference_answers_score_perfectly_on_the_dev_slice(example_card_path: Path) -> None:
    dev = load_examples(example_card_path.parent / "dev-100.json")
    assert squad_scores(dev, {e.id: e.answers[-1].text for e in dev}) == {"exact_match": 100.0, "f1": 100.0}
    wrong = squad_scores(dev, {e.id: "" for e in dev})
    assert wrong == {"exact_match": 0.0, "f1": 0.0}
