"""The ``transformers-qa`` backend: extractive question answering on SQuAD-format data.

This module stays light (no torch or transformers at import); :mod:`.trainer` does the work.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend, Objective, TrainingRequest, TrialResult

if TYPE_CHECKING:  # card schemas (pydantic) load on first use, so listing plugins stays fast
    from automl_gpt.cards import DataCard, ModelCard
    from automl_gpt.prediction import Predictor

BACKEND_NAME = "transformers-qa"
REQUIREMENTS = Requirements(extra="nlp", modules=("torch", "transformers"))


class TransformersQABackend(Backend):
    """Fine-tunes a Hugging Face encoder with a span head; the search maximises validation F1 (SQuAD v1.1)."""

    name = BACKEND_NAME
    description = "Hugging Face transformers encoders fine-tuned for extractive QA on SQuAD-format data"
    tasks = frozenset({"extractive_qa"})
    requirements = REQUIREMENTS

    def model_cards(self) -> list[ModelCard]:
        """The shipped cards; the first, ``distilbert-squad-qa``, starts from a reader fine-tuned on SQuAD (offline,
        the packaged MiniLM of ``minilm-l6-qa`` stands in)."""
        from automl_gpt_backend_nlp.cards import shipped_model_cards

        return list(shipped_model_cards())

    def objective(self, data_card: DataCard) -> Objective:
        """Validation F1, or exact match when the data card asks for it (``metric: exact_match``)."""
        return Objective("exact_match" if data_card.metric == "exact_match" else "f1", "maximize")

    def check_data(self, data_card: DataCard) -> None:
        from automl_gpt_backend_nlp.squad import check_card

        check_card(data_card)

    def train(self, request: TrainingRequest) -> TrialResult:
        from automl_gpt_backend_nlp.trainer import run_trial

        return run_trial(request)

    def load_model(self, model_path: Path) -> Predictor:
        """A trial's fine-tuned model folder; it answers SQuAD-format questions into ``{id: answer}`` JSON."""
        from automl_gpt_backend_nlp.predictor import QAPredictor

        return QAPredictor(Path(model_path))
