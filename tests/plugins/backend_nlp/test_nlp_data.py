"""Reading and validating SQuAD-format data: clear errors for every kind of bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from automl_gpt.cards import DataCard, card_from_mapping
from automl_gpt.errors import CardError, DataError
from automl_gpt_backend_nlp.backend import TransformersQABackend
from automl_gpt_backend_nlp.squad import QAExample, check_card, load_split, split_by_context, subset, to_squad_json

from .conftest import MakeCard


def _payload(examples: list[QAExample]) -> dict[str, Any]:
    return copy.deepcopy(to_squad_json(examples))


def test_the_shipped_slice_is_valid(example_card: DataCard) -> None:
    TransformersQABackend().check_data(example_card)
    assert len(load_split(example_card, "train")) == 300
    dev = load_split(example_card, "valid")
    assert len(dev) == 100 and any(len(e.answers) > 1 for e in dev)


def test_malformed_json_names_file_and_line(make_card: MakeCard) -> None:
    card = make_card('{"data": [{"title": "x", "paragraphs": [}')
    with pytest.raises(DataError, match=r"train\.json: not valid JSON at line 1"):
        check_card(card)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"version": "1.1"}, "top level must be an object with a 'data' list"),
        ({"data": [{"title": "x"}]}, r"data\[0\]: an article must be an object with a 'paragraphs' list"),
        ({"data": [{"paragraphs": [{"context": "c", "qas": {}}]}]}, "'qas' must be a list"),
    ],
)
def test_wrong_structure_is_named(make_card: MakeCard, payload: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        check_card(make_card(payload))


def test_answer_offsets_must_match_the_context(make_card: MakeCard, example_questions: list[QAExample]) -> None:
    payload = _payload(example_questions[:3])
    qa = payload["data"][0]["paragraphs"][0]["qas"][0]
    right = qa["answers"][0]["answer_start"]
    qa["answers"][0]["answer_start"] = right + 3
    with pytest.raises(DataError) as caught:
        check_card(make_card(payload))
    message = str(caught.value)
    assert qa["id"] in message and "does not match the context" in message
    assert f"answer_start should be {right}" in message
    assert "\n" not in message


def test_empty_context_is_refused(make_card: MakeCard, example_questions: list[QAExample]) -> None:
    payload = _payload(example_questions[:2])
    payload["data"][0]["paragraphs"][0]["context"] = "   "
    with pytest.raises(DataError, match="empty context"):
        check_card(make_card(payload))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda qa: qa.update(is_impossible=True, answers=[]), "SQuAD v2.0"),
        (lambda qa: qa.update(answers=[]), "no answers"),
        (lambda qa: qa.pop("id"), "has no 'id'"),
        (lambda qa: qa["answers"][0].update(answer_start="12"), "non-negative integer 'answer_start'"),
    ],
)
def test_bad_questions_are_refused(
    make_card: MakeCard, example_questions: list[QAExample], change: Any, message: str
) -> None:
    payload = _payload(example_questions[:2])
    change(payload["data"][0]["paragraphs"][0]["qas"][0])
    with pytest.raises(DataError, match=message):
        check_card(make_card(payload))


def test_duplicate_ids_are_refused(make_card: MakeCard, example_questions: list[QAExample]) -> None:
    payload = _payload(example_questions[:2])
    qas = payload["data"][0]["paragraphs"][0]["qas"]
    qas.append(dict(qas[0]))
    with pytest.raises(DataError, match="duplicate question id"):
        check_card(make_card(payload))


def test_card_must_be_text_extractive_qa(
    tmp_path: Path, make_card: MakeCard, example_questions: list[QAExample]
) -> None:
    with pytest.raises(CardError, match="modality"):
        check_card(make_card(example_questions[:2], modality="tabular"))
    with pytest.raises(CardError, match="task"):
        check_card(make_card(example_questions[:2], task="binary"))
    card = make_card(example_questions[:2])
    missing = card_from_mapping(DataCard, {**card.model_dump(), "valid": str(tmp_path / "missing.json")})
    with pytest.raises(DataError, match=r"missing\.json: file not found"):
        check_card(missing)


def test_subsets_are_seeded_and_held_out_contexts_do_not_leak(example_questions: list[QAExample]) -> None:
    first, again = subset(example_questions, 20, seed=0), subset(example_questions, 20, seed=0)
    assert first == again and len(first) == 20
    assert subset(example_questions, 20, seed=1) != first
    assert [e.id for e in first] == [e.id for e in example_questions if e in first]  # file order kept
    train, valid = split_by_context(example_questions, 0.1, seed=0)
    assert len(train) + len(valid) == len(example_questions)
    assert not {e.context for e in train} & {e.context for e in valid}


def _folder_card(train: Path, valid: Path | None = None) -> DataCard:
    mapping = {"name": "ds", "task": "extractive_qa", "modality": "text", "train": str(train)}
    if valid is not None:
        mapping["valid"] = str(valid)
    return card_from_mapping(DataCard, mapping)


def test_reads_a_saved_datasets_folder(tmp_path: Path, example_questions: list[QAExample]) -> None:
    datasets = pytest.importorskip("datasets")

    def rows(examples: list[QAExample]) -> list[dict[str, Any]]:
        return [
            {
                "id": e.id,
                "title": e.title,
                "context": e.context,
                "question": e.question,
                "answers": {"text": [a.text for a in e.answers], "answer_start": [a.start for a in e.answers]},
            }
            for e in examples
        ]

    folder = tmp_path / "squad_ds"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(rows(example_questions[:6])),
            "validation": datasets.Dataset.from_list(rows(example_questions[6:9])),
        }
    ).save_to_disk(str(folder))
    card = _folder_card(folder, folder)
    check_card(card)
    assert load_split(card, "train") == example_questions[:6]
    assert load_split(card, "valid") == example_questions[6:9]

    broken = rows(example_questions[:2])
    broken[1]["answers"]["answer_start"][0] += 1
    datasets.Dataset.from_list(broken).save_to_disk(str(tmp_path / "broken"))
    with pytest.raises(DataError, match=r"row 1 \(id .*\): answer 0 .* does not match"):
        check_card(_folder_card(tmp_path / "broken"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a dataset saved with save_to_disk"):
        check_card(_folder_card(tmp_path / "empty"))


def test_round_trip_to_squad_json(tmp_path: Path, example_questions: list[QAExample]) -> None:
    from automl_gpt_backend_nlp.squad import load_examples

    path = tmp_path / "out.json"
    path.write_text(json.dumps(to_squad_json(example_questions[:30])), encoding="utf-8")
    assert load_examples(path) == example_questions[:30]
