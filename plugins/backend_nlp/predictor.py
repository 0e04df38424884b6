"""Answering SQuAD-format questions with a trial's saved model: ``{question id: answer text}``, SQuAD's own
prediction format (what the official evaluation script reads)."""

from __future__ import annotations

import json
from pathlib import Path

from automl_gpt.errors import DataError, UsageError
from automl_gpt.prediction import PredictionReport, Predictor, check_output
from automl_gpt_backend_nlp.inference import answer_questions
from automl_gpt_backend_nlp.squad import load_questions


class QAPredictor(Predictor):
    """A fine-tuned QA model folder (a trial's ``model`` artifact: weights, tokenizer, and ``../config.json``)."""

    output_suffix = ".json"

    def __init__(self, model_path: Path) -> None:
        folder = model_path / "model" if (model_path / "model" / "config.json").is_file() else model_path
        if not (folder / "config.json").is_file():
            raise UsageError(f"{model_path}: no saved QA model there (give a trial's 'model' folder)")
        super().__init__(folder)

    def predict_file(self, data: Path, out: Path) -> PredictionReport:
        """Answer every question of a SQuAD-format JSON file (answers in it, if any, are ignored)."""
        check_output(out, (".json",))
        questions = load_questions(data)
        if not questions:
            raise DataError(f"{data}: no questions to answer (its 'data' list holds none)")
        answers = answer_questions(self.model_path, [(q.question, q.context) for q in questions])
        out.parent.mkdir(parents=True, exist_ok=True)
        predictions = {q.id: answer for q, answer in zip(questions, answers, strict=True)}
        out.write_text(json.dumps(predictions, indent=1, ensure_ascii=False), encoding="utf-8")
        return PredictionReport(out, len(predictions))
