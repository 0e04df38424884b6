"""The transformers-qa backend for real: conformance, a CPU fine-tune that must learn, and clean failures."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.testing import BackendConformance, train
from automl_gpt.training import TrialState
from automl_gpt_backend_nlp.backend import TransformersQABackend
from automl_gpt_backend_nlp.inference import answer_questions
from automl_gpt_backend_nlp.metrics import squad_scores
from automl_gpt_backend_nlp.squad import QAExample
from automl_gpt_backend_nlp.trainer import is_out_of_memory

from .conftest import MakeCard, answer_sentence

pytestmark = pytest.mark.slow

TINY = {"max_train_examples": 8, "max_eval_examples": 4, "max_steps": 1, "evaluations": 1}


def _card_with(model_card: ModelCard, **changes: Any) -> ModelCard:
    """The card with some search-space bounds or options changed (a user's own card for tiny data)."""
    data = model_card.model_dump()
    for key, value in changes.items():
        if key == "options":
            data["options"].update(value)
        else:
            data["search_space"][key].update(value)
    return card_from_mapping(ModelCard, data)


def _minilm(backend: TransformersQABackend) -> ModelCard:
    """The card whose backbone ships with a package: trains offline on a CPU."""
    return next(card for card in backend.model_cards() if card.name == "minilm-l6-qa")


class TestTransformersQAConformance(BackendConformance):
    @pytest.fixture
    def backend(self) -> TransformersQABackend:
        return TransformersQABackend()

    @pytest.fixture
    def data_card(self, example_card: DataCard) -> DataCard:
        return example_card

    @pytest.fixture
    def limits(self) -> dict[str, Any]:
        return dict(TINY)

    @pytest.fixture
    def prediction_data(self, make_card: MakeCard, example_questions: list[QAExample]) -> Path:
        card = make_card(example_questions[:3])  # three questions keep the CPU prediction short
        return Path(str(card.split_path("train")))


def test_fine_tuning_learns_the_questions_it_is_trained_on(
    make_card: MakeCard, example_questions: list[QAExample], tmp_path: Path
) -> None:
    """A few questions (answer sentences as contexts), trained on repeatedly, must be answered word for word."""
    examples = [answer_sentence(e) for e in example_questions[:8]]
    data_card = make_card(examples, examples)
    backend = TransformersQABackend()
    model_card = _card_with(_minilm(backend), num_epochs={"high": 50})
    config = dict(
        model_card.defaults(), max_seq_length=128, batch_size=8, num_epochs=50, learning_rate=4e-4, warmup_ratio=0.1
    )
    result, _ = train(
        backend, data_card, model_card, tmp_path / "trial", config=config, limits={"max_steps": 18, "evaluations": 2}
    )
    assert result.state == TrialState.COMPLETE, result.error

    losses = [v for _, v in result.log.curve("train", "loss")]
    assert len(losses) == 18
    assert sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3, f"the loss did not fall: {losses}"

    # The reported EM/F1 are the official scores of the answers the post-processing read out.
    predictions = json.loads(Path(result.artifacts["predictions"]).read_text(encoding="utf-8"))
    assert set(predictions) == {e.id for e in examples}
    official = squad_scores(examples, predictions)
    assert result.metrics["valid/exact_match"] == pytest.approx(official["exact_match"])
    assert result.metrics["valid/f1"] == pytest.approx(official["f1"])
    assert result.log.final("valid", "f1") == pytest.approx(official["f1"])
    assert result.metrics["valid/f1"] >= 75.0
    assert result.log.curve("valid", "f1")[0][1] < result.metrics["valid/f1"] or result.metrics["valid/f1"] == 100

    # The saved model answers a known question from its context.
    known = examples[0]
    assert answer_questions(result.artifacts["model"], [(known.question, known.context)]) == [known.answers[0].text]
    saved = json.loads(Path(result.artifacts["config"]).read_text(encoding="utf-8"))
    assert saved["config"] == config and saved["steps"] == 18 and saved["device"] == "cpu"


def test_same_seed_same_log(example_card: DataCard, tmp_path: Path) -> None:
    backend = TransformersQABackend()
    model_card = _minilm(backend)
    config = dict(model_card.defaults(), max_seq_length=128, batch_size=8)
    limits = dict(TINY, max_steps=4)  # 8 questions make 19 windows, 3 batches: step 4 is in a reshuffled epoch
    first, _ = train(backend, example_card, model_card, tmp_path / "a", config=config, seed=3, limits=limits)
    second, _ = train(backend, example_card, model_card, tmp_path / "b", config=config, seed=3, limits=limits)
    assert first.state == second.state == TrialState.COMPLETE
    assert len(first.log.curve("train", "loss")) == 4
    assert first.log == second.log


def test_a_model_that_cannot_do_qa_fails_the_trial(example_card: DataCard, tmp_path: Path) -> None:
    from transformers import ViTConfig

    vision = tmp_path / "vit"
    ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37).save_pretrained(vision)
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    backend = TransformersQABackend()
    cases = {
        str(vision): "model_type 'vit'.* is not a question-answering capable model",
        str(not_a_model): "has no config.json",
    }
    for backbone, reason in cases.items():
        model_card = _card_with(_minilm(backend), options={"backbone": backbone})
        result, _ = train(backend, example_card, model_card, tmp_path / "trial", limits=TINY)
        assert result.state == TrialState.FAIL
        assert result.error and "\n" not in result.error
        assert re.search(reason, result.error), result.error


def test_bad_data_fails_the_trial_with_its_reason(
    make_card: MakeCard, example_questions: list[QAExample], tmp_path: Path
) -> None:
    from automl_gpt_backend_nlp.squad import to_squad_json

    payload = to_squad_json(example_questions[:4])
    payload["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] += 1
    backend = TransformersQABackend()
    result, _ = train(backend, make_card(payload), backend.model_cards()[0], tmp_path / "trial", limits=TINY)
    assert result.state == TrialState.FAIL
    assert result.error is not None and "does not match the context" in result.error


def test_out_of_memory_is_recognised() -> None:
    import torch

    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate "
            "memory: you tried to allocate 68719476736 bytes."
        )
    )
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
