"""Answering questions with a trial's saved QA model: the same answers the trial scored, clear input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from automl_gpt.cards import DataCard
from automl_gpt.errors import DataError
from automl_gpt.testing import train
from automl_gpt.training import TrialState
from automl_gpt_backend_nlp.backend import TransformersQABackend

from .test_nlp_backend import TINY

pytestmark = pytest.mark.slow


def test_saved_model_answers_as_the_trial_scored(example_card: DataCard, tmp_path: Path) -> None:
    backend = TransformersQABackend()
    result, _ = train(backend, example_card, backend.model_cards()[0], tmp_path / "trial", limits=TINY)
    assert result.state == TrialState.COMPLETE, result.error
    scored = json.loads(Path(result.artifacts["predictions"]).read_text(encoding="utf-8"))
    valid = json.loads(Path(str(example_card.split_path("valid"))).read_text(encoding="utf-8"))
    for article in valid["data"]:  # questions to answer: the scored ones, without their answers
        for paragraph in article["paragraphs"]:
            paragraph["qas"] = [{"id": q["id"], "question": q["question"]} for q in paragraph["qas"]
                                if q["id"] in scored]
    questions = tmp_path / "questions.json"
    questions.write_text(json.dumps(valid), encoding="utf-8")
    predictor = backend.load_model(Path(result.artifacts["model"]).parent)  # the trial folder works too
    report = predictor.predict_file(questions, tmp_path / "answers.json")
    assert report.count == len(scored) == TINY["max_eval_examples"]
    assert json.loads(report.path.read_text(encoding="utf-8")) == scored
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [{"paragraphs": [{"context": "", "qas": [{"id": "1", "question": "Who?"}]}]}]}')
    with pytest.raises(DataError, match="empty context"):
        predictor.predict_file(broken, tmp_path / "x.json")
