"""The backend and provider conformance suites fail with messages that say what was expected and what came back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.llm import LLMModel, LLMProvider, LLMResponse, Usage
from automl_gpt.testing import BackendConformance, ProviderConformance, train
from automl_gpt.training import TrainingRequest, TrialResult, TrialState

from .test_hooks import DATA, MODEL, ToyBackend


class Crashing(ToyBackend):
    def train(self, request: TrainingRequest) -> TrialResult:
        raise RuntimeError("CUDA out of memory")


class Unstoppable(ToyBackend):
    def train(self, request: TrainingRequest) -> TrialResult:
        result = super().train(request)
        return TrialResult(TrialState.COMPLETE, result.metrics, result.log)


class Misnamed(ToyBackend):
    def model_cards(self) -> list[ModelCard]:
        return [card_from_mapping(ModelCard, {**MODEL, "backend": "toy2"})]


@pytest.fixture
def cards() -> tuple[DataCard, ModelCard]:
    return card_from_mapping(DataCard, DATA), card_from_mapping(ModelCard, MODEL)


def test_a_train_that_raises_is_named_as_such(cards: tuple[DataCard, ModelCard], tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"^train must return a FAIL result, not raise: RuntimeError: CUDA out "
                                             r"of memory$"):
        train(Crashing(), *cards, tmp_path)


def test_backend_checks_show_expected_and_actual(cards: tuple[DataCard, ModelCard], tmp_path: Path) -> None:
    suite = BackendConformance()
    with pytest.raises(AssertionError, match="model card toy-model says backend 'toy2', expected 'toy'"):
        suite.test_model_cards_are_valid(Misnamed())
    with pytest.raises(AssertionError, match="report returned True after the first record: expected state PRUNED, "
                                             "got COMPLETE after 3 records"):
        suite.test_stops_when_asked(Unstoppable(), *cards, {}, tmp_path)
    with pytest.raises(AssertionError, match="train must return a FAIL result, not raise: TypeError: unsupported "):
        suite.test_bad_config_fails_cleanly(Unstoppable(), *cards, {}, tmp_path / "bad")  # 'not a value' - 0.3


class Parrot(LLMProvider):
    name = "parrot"
    default_model = "parrot-1"


class ParrotModel(LLMModel):
    def generate_json(self, prompt: str, schema: dict[str, Any], **options: Any) -> LLMResponse:
        return LLMResponse('{"learning_rate": 5}', Usage(3, 4), "parrot-1", data={"learning_rate": 5})


def test_provider_checks_show_expected_and_actual() -> None:
    with pytest.raises(AssertionError, match=r"generate_json data \{'learning_rate': 5\} does not match the schema: "
                                             "'booster' is a required property"):
        ProviderConformance().test_generate_json_matches_schema(ParrotModel())
    with pytest.raises(AssertionError, match="default model 'parrot-1' is not among models"):
        ProviderConformance().test_describe(type("Listless", (Parrot,), {"models": lambda self: ["other"]})())


UPSIDE_DOWN = '''
import pytest
from automl_gpt.cards import DataCard, card_from_mapping
from automl_gpt.testing import BackendConformance
from automl_gpt.training import Backend, Objective


class UpsideDown(Backend):
    name = "upside-down"
    tasks = frozenset({"binary"})

    def objective(self, data_card):
        return Objective("logloss", "up")

    def train(self, request):
        raise RuntimeError("boom")


class TestUpsideDown(BackendConformance):
    @pytest.fixture
    def backend(self):
        return UpsideDown()

    @pytest.fixture
    def data_card(self):
        return card_from_mapping(DataCard, {"name": "toy", "task": "binary", "train": "t.csv", "target": "y"})

    def test_objective(self, backend, data_card):
        super().test_objective(backend, data_card)

    def test_train_raises(self, backend, data_card, tmp_path):
        from automl_gpt.testing import train

        train(backend, data_card, None, tmp_path, config={})
'''


def test_the_suites_asserts_are_rewritten_by_pytest(tmp_path: Path) -> None:
    """Run as a plugin author would: the failure shows the compared values besides the suite's message."""
    (tmp_path / "test_upside_down.py").write_text(UPSIDE_DOWN, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "objective or raises",
                           str(tmp_path)], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 1, done.stdout
    assert "objective direction 'up', expected 'minimize' or 'maximize'" in done.stdout
    assert "assert 'up' in ('minimize', 'maximize')" in done.stdout  # pytest's rewriting of the suite's assert
    assert "AssertionError: train must return a FAIL result, not raise: RuntimeError: boom" in done.stdout
