"""Test helpers for plugin authors: in-process plugin loading and conformance suites.

Use in a plugin's tests::

    from automl_gpt.testing import BackendConformance

    class TestMyBackend(BackendConformance):
        @pytest.fixture
        def backend(self):
            return MyBackend()

        @pytest.fixture
        def data_card(self, tmp_path):
            return DataCard(...)   # a small dataset, trained in seconds

The first-party backends and providers pass the same suites. ``PlannerConformance`` checks a planner plugin
through its hooks. Suites in sub-modules are registered for pytest's assertion rewriting, so a failed check shows
the values it compared, as in your own tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import jsonschema
import pytest

pytest.register_assert_rewrite("automl_gpt.testing.planners")  # before it is imported

from automl_gpt.cards import DataCard, ModelCard
from automl_gpt.llm import GenerationSettings, LLMModel, LLMProvider
from automl_gpt.plugins import PluginManager, set_plugin_manager
from automl_gpt.testing.planners import PlannerConformance
from automl_gpt.training import Backend, LogRecord, TrainingRequest, TrialResult, TrialState

__all__ = ["BackendConformance", "PlannerConformance", "ProviderConformance", "plugins_loaded", "train"]


@contextmanager
def plugins_loaded(*plugins: ModuleType | object, entry_points: bool = False) -> Iterator[PluginManager]:
    """Make a fresh process-wide plugin manager with the built-ins plus ``plugins``, registered in-process."""
    manager = PluginManager(load_entry_points=entry_points)
    for plugin in plugins:
        manager.register_module(plugin)
    set_plugin_manager(manager)
    try:
        yield manager
    finally:
        set_plugin_manager(None)


def train(backend: Backend, data_card: DataCard, model_card: ModelCard, workdir: Path, *,
          config: dict[str, Any] | None = None, seed: int = 0, limits: dict[str, Any] | None = None,
          stop_after: int | None = None) -> tuple[TrialResult, list[LogRecord]]:
    """Train once and return the result with every record the backend streamed.

    ``stop_after`` makes ``report`` ask for a stop after that many records, as pruning would.
    """
    streamed: list[LogRecord] = []

    def report(record: LogRecord) -> bool:
        streamed.append(record)
        return stop_after is not None and len(streamed) >= stop_after

    request = TrainingRequest(
        config=config if config is not None else model_card.defaults(),
        data_card=data_card,
        model_card=model_card,
        workdir=workdir,
        seed=seed,
        report=report,
        limits=limits or {},
    )
    workdir.mkdir(parents=True, exist_ok=True)
    return backend.train(request), streamed


class BackendConformance:
    """What every backend must do. Subclass and provide ``backend`` and ``data_card`` fixtures.

    Optional fixtures: ``limits`` (budget caps that keep training short in tests) and ``model_card`` (defaults to
    the backend's first card that supports the data card's task).
    """

    @pytest.fixture
    def limits(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def model_card(self, backend: Backend, data_card: DataCard) -> ModelCard:
        cards = [c for c in backend.model_cards() if data_card.task in c.tasks]
        assert cards, f"backend {backend.name} has no model card for task {data_card.task}"
        return cards[0]

    def test_identity(self, backend: Backend) -> None:
        assert backend.name
        assert backend.tasks, "a backend declares the tasks it supports"
        assert backend.requirements.available, backend.requirements.reason

    def test_model_cards_are_valid(self, backend: Backend) -> None:
        cards = backend.model_cards()
        assert cards, "a backend offers at least one model card"
        for card in cards:
            assert card.backend == backend.name
            space = card.space()
            assert len(space) > 0, f"model card {card.name} declares no search space"
            defaults = card.defaults()
            assert space.contains(defaults), f"defaults of {card.name} are outside its space"

    def test_objective(self, backend: Backend, data_card: DataCard) -> None:
        objective = backend.objective(data_card)
        assert objective.direction in ("minimize", "maximize")
        assert objective.metric

    def test_check_data_accepts_card(self, backend: Backend, data_card: DataCard) -> None:
        assert backend.supports(data_card)
        backend.check_data(data_card)

    def test_trains_and_streams_a_real_log(self, backend: Backend, data_card: DataCard, model_card: ModelCard,
                                           limits: dict[str, Any], tmp_path: Path) -> None:
        result, streamed = train(backend, data_card, model_card, tmp_path / "trial", limits=limits)
        assert result.state == TrialState.COMPLETE, result.error
        objective = backend.objective(data_card)
        value = result.value(objective)
        assert value is not None and value == value, f"metrics lack {objective.key}: {result.metrics}"
        assert streamed, "the backend streams its log through request.report"
        assert list(result.log) == streamed, "the returned log is the streamed log"
        assert any(r.split == "valid" and r.metric == objective.metric for r in streamed)
        for name, path in result.artifacts.items():
            assert Path(path).exists(), f"artifact {name} missing at {path}"

    def test_stops_when_asked(self, backend: Backend, data_card: DataCard, model_card: ModelCard,
                              limits: dict[str, Any], tmp_path: Path) -> None:
        _, all_records = train(backend, data_card, model_card, tmp_path / "full", limits=limits)
        stopped, streamed = train(backend, data_card, model_card, tmp_path / "stopped", limits=limits,
                                  stop_after=1)
        assert stopped.state == TrialState.PRUNED
        assert len(streamed) < len(all_records) or len(all_records) == 1

    def test_bad_config_fails_cleanly(self, backend: Backend, data_card: DataCard, model_card: ModelCard,
                                      limits: dict[str, Any], tmp_path: Path) -> None:
        bad = {name: "not a value" for name in model_card.space()}
        result, _ = train(backend, data_card, model_card, tmp_path / "bad", config=bad, limits=limits)
        assert result.state == TrialState.FAIL
        assert result.error and "\n" not in result.error.strip()


class ProviderConformance:
    """What every LLM provider must do. Subclass and provide ``provider`` and ``model_options`` fixtures."""

    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "learning_rate": {"type": "number", "minimum": 0.001, "maximum": 1},
            "booster": {"enum": ["gbtree", "dart"]},
        },
        "required": ["learning_rate", "booster"],
        "additionalProperties": False,
    }

    @pytest.fixture
    def model_options(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def model(self, provider: LLMProvider, model_options: dict[str, Any]) -> LLMModel:
        return provider.get_model(None, model_options)

    def test_describe(self, provider: LLMProvider) -> None:
        info = provider.describe()
        assert info["name"] == provider.name
        assert provider.default_model in info["models"]
        assert info["available"], info["unavailable_reason"]

    def test_generate_text(self, model: LLMModel) -> None:
        response = model.generate("Say hello.", settings=GenerationSettings(max_tokens=16))
        assert isinstance(response.text, str) and response.text.strip()
        assert response.usage.completion_tokens > 0

    def test_generate_json_matches_schema(self, model: LLMModel) -> None:
        response = model.generate_json(
            "Propose an XGBoost learning rate and booster as JSON.", self.schema,
            settings=GenerationSettings(max_tokens=64),
        )
        jsonschema.validate(response.data, self.schema)
        assert response.usage.prompt_tokens > 0
