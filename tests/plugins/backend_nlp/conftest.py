"""Fixtures of the transformers-qa tests: the shipped SQuAD slice and small SQuAD files written on the fly."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from automl_gpt.cards import DataCard, card_from_mapping
from automl_gpt_backend_nlp.squad import Answer, QAExample, load_examples, to_squad_json

MakeCard = Callable[..., DataCard]


@pytest.fixture(scope="session")
def example_card_path(repo: Path) -> Path:
    return repo / "examples" / "squad" / "card.yaml"


@pytest.fixture
def example_card(example_card_path: Path) -> DataCard:
    """The shipped 300/100-question SQuAD slice."""
    data = yaml.safe_load(example_card_path.read_text(encoding="utf-8"))
    return card_from_mapping(DataCard, data, example_card_path)


@pytest.fixture(scope="session")
def example_questions(example_card_path: Path) -> list[QAExample]:
    return load_examples(example_card_path.parent / "train-300.json")


@pytest.fixture
def make_card(tmp_path: Path) -> MakeCard:
    """Write SQuAD JSON payloads (or example lists) to files and return a data card over them."""

    def make(train: Any, valid: Any = None, **fields: Any) -> DataCard:
        mapping: dict[str, Any] = {"name": "squad-test", "task": "extractive_qa", "modality": "text"}
        for split, payload in (("train", train), ("valid", valid)):
            if payload is None:
                continue
            path = tmp_path / f"{split}.json"
            if isinstance(payload, list):
                payload = to_squad_json(payload)
            path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
            mapping[split] = str(path)
        mapping.update(fields)
        return card_from_mapping(DataCard, mapping)

    return make


def answer_sentence(example: QAExample) -> QAExample:
    """The example with its context cut to the sentence holding the first answer (offsets moved with it)."""
    answer = example.answers[0]
    before = example.context.rfind(". ", 0, answer.start)
    start = before + 2 if before >= 0 else 0
    after = example.context.find(". ", answer.start + len(answer.text))
    end = len(example.context) if after < 0 else after + 1
    moved = Answer(answer.text, answer.start - start)
    return QAExample(example.id, example.title, example.context[start:end], example.question, (moved,))
