"""The backend and LLM provider conformance suites, and ``train``: one training run as the suites do it.

Imported through :mod:`automl_gpt.testing`, which registers this module for pytest's assertion rewriting, so a
failed check shows the values it compared besides its message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
from automl_gpt.cards import DataCard, ModelCard
from automl_gpt.cards.search_space import FloatParam, IntParam, SearchSpace
from automl_gpt.errors import ConfigError, UsageError
from automl_gpt.llm import GenerationSettings, LLMModel, LLMProvider
from automl_gpt.training import Backend, LogRecord, TrainingRequest, TrialResult, TrialState


def train(backend: Backend, data_card: DataCard, model_card: ModelCard, workdir: Path, *,
          config: dict[str, Any] | None = None, seed: int = 0, limits: dict[str, Any] | None = None,
          stop_after: int | None = None) -> tuple[TrialResult, list[LogRecord]]:
    """Train once and return the result with every record the backend streamed.

    ``stop_after`` makes ``report`` ask for a stop after that many records, as pruning would. A ``train`` that
    raises, or returns something else than a :class:`TrialResult`, fails with an AssertionError saying so.
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
    try:
        result = backend.train(request)
    except Exception as exc:
        raise AssertionError(f"train must return a FAIL result, not raise: {type(exc).__name__}: {exc}") from exc
    assert isinstance(result, TrialResult), f"train must return a TrialResult, returned {result!r}"
    return result, streamed


def outside_the_space(space: SearchSpace) -> tuple[dict[str, Any], str]:
    """The defaults with one value outside the space (the first number past its range, else the first choice that
    is none of the choices), and the line :meth:`SearchSpace.check` rejects it with."""
    config = space.defaults()
    numeric = [n for n in config if isinstance(space[n], (FloatParam, IntParam))]
    name = numeric[0] if numeric else next(iter(config))
    param = space[name]
    if isinstance(param, (FloatParam, IntParam)):
        config[name] = param.high + max(1, param.high - param.low)
    else:
        config[name] = "none of the choices"
    try:
        space.check(config)
    except ConfigError as exc:
        return config, str(exc)
    raise AssertionError(f"SearchSpace.check accepted {config}")


class BackendConformance:
    """What every backend must do. Subclass and provide ``backend`` and ``data_card`` fixtures.

    Optional fixtures: ``limits`` (budget caps that keep training short in tests), ``model_card`` (defaults to
    the backend's first card that supports the data card's task) and ``prediction_data`` (what a saved model
    predicts; defaults to the card's test, else valid, else train file).
    """

    @pytest.fixture
    def prediction_data(self, data_card: DataCard) -> Path:
        path = data_card.split_path("test") or data_card.split_path("valid") or data_card.split_path("train")
        assert path is not None, "a data card names its train file"
        return path

    @pytest.fixture
    def limits(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def model_card(self, backend: Backend, data_card: DataCard) -> ModelCard:
        cards = [c for c in backend.model_cards() if data_card.task in c.tasks]
        offered = {card.name: card.tasks for card in backend.model_cards()}
        assert cards, f"backend {backend.name} has no model card for task {data_card.task!r}; its cards: {offered}"
        return cards[0]

    def test_identity(self, backend: Backend) -> None:
        assert backend.name, f"{type(backend).__name__} sets no name (the --backend name users type)"
        assert backend.tasks, f"backend {backend.name} declares no tasks, e.g. tasks = frozenset({{'binary'}})"
        assert backend.requirements.available, f"backend {backend.name} is unavailable: {backend.requirements.reason}"

    def test_model_cards_are_valid(self, backend: Backend) -> None:
        cards = backend.model_cards()
        assert cards, f"backend {backend.name}: model_cards() returned {cards!r}, expected at least one ModelCard"
        for card in cards:
            assert card.backend == backend.name, (
                f"model card {card.name} says backend {card.backend!r}, expected {backend.name!r}"
            )
            space = card.space()
            assert len(space) > 0, f"model card {card.name} declares no search_space"
            defaults = card.defaults()
            assert space.contains(defaults), (
                f"defaults of {card.name} are outside its space: {space.repair(defaults).notes}"
            )

    def test_objective(self, backend: Backend, data_card: DataCard) -> None:
        objective = backend.objective(data_card)
        assert objective.direction in ("minimize", "maximize"), (
            f"objective direction {objective.direction!r}, expected 'minimize' or 'maximize'"
        )
        assert objective.metric, f"objective {objective!r} names no metric, e.g. Objective('logloss', 'minimize')"

    def test_check_data_accepts_card(self, backend: Backend, data_card: DataCard) -> None:
        assert backend.supports(data_card), (
            f"backend {backend.name} supports tasks {sorted(backend.tasks)}, not the data card's {data_card.task!r}"
        )
        backend.check_data(data_card)

    def test_trains_and_streams_a_real_log(self, backend: Backend, data_card: DataCard, model_card: ModelCard,
                                           limits: dict[str, Any], tmp_path: Path) -> None:
        result, streamed = train(backend, data_card, model_card, tmp_path / "trial", limits=limits)
        assert result.state == TrialState.COMPLETE, (
            f"the default configuration of {model_card.name} ended {result.state.value}, expected COMPLETE: "
            f"{result.error}"
        )
        objective = backend.objective(data_card)
        value = result.value(objective)
        assert value is not None and value == value, (
            f"metrics[{objective.key!r}] is {value!r}, expected a number; metrics: {result.metrics}"
        )
        assert streamed, "request.report received no record: stream LogRecord(step, split, metric, value) as you train"
        assert list(result.log) == streamed, (
            f"the returned log ({len(result.log)} records) differs from the streamed one ({len(streamed)} records)"
        )
        pairs = sorted({f"{r.split}/{r.metric}" for r in streamed})
        assert any(r.split == "valid" and r.metric == objective.metric for r in streamed), (
            f"no streamed record of {objective.key}; streamed: {pairs}"
        )
        for name, path in result.artifacts.items():
            assert Path(path).exists(), f"artifact {name} missing at {path}"

    def test_stops_when_asked(self, backend: Backend, data_card: DataCard, model_card: ModelCard,
                              limits: dict[str, Any], tmp_path: Path) -> None:
        _, all_records = train(backend, data_card, model_card, tmp_path / "full", limits=limits)
        stopped, streamed = train(backend, data_card, model_card, tmp_path / "stopped", limits=limits,
                                  stop_after=1)
        assert stopped.state == TrialState.PRUNED, (
            f"report returned True after the first record: expected state PRUNED, got {stopped.state.value} "
            f"after {len(streamed)} records"
        )
        assert len(streamed) < len(all_records) or len(all_records) == 1, (
            f"training went on after report returned True: {len(streamed)} records, as many as a full run"
        )

    def test_bad_config_fails_cleanly(self, backend: Backend, data_card: DataCard, model_card: ModelCard,
                                      limits: dict[str, Any], tmp_path: Path) -> None:
        bad = {name: "not a value" for name in model_card.space()}
        result, _ = train(backend, data_card, model_card, tmp_path / "bad", config=bad, limits=limits)
        assert result.state == TrialState.FAIL, f"config {bad} ended {result.state.value}, expected FAIL"
        assert result.error and "\n" not in result.error.strip(), (
            f"a FAIL result says why in one line; error was {result.error!r}"
        )

    def test_rejects_a_configuration_outside_the_space(self, backend: Backend, data_card: DataCard,
                                                       model_card: ModelCard, limits: dict[str, Any],
                                                       tmp_path: Path) -> None:
        bad, expected = outside_the_space(model_card.space())
        result, streamed = train(backend, data_card, model_card, tmp_path / "outside", config=bad, limits=limits)
        assert (result.state, result.error) == (TrialState.FAIL, expected), (
            f"config {bad} is outside the space: expected FAIL with {expected!r}, got {result.state.value} with "
            f"{result.error!r} (train model_card.space().check(request.config) and fail with its ConfigError's line)"
        )
        assert not streamed, f"a rejected configuration trains nothing; {len(streamed)} records were streamed"

    def test_saved_model_predicts_and_refuses_undecodable_input(
            self, backend: Backend, data_card: DataCard, model_card: ModelCard, limits: dict[str, Any],
            prediction_data: Path, tmp_path: Path) -> None:
        result, _ = train(backend, data_card, model_card, tmp_path / "trial", limits=limits)
        assert result.state == TrialState.COMPLETE, result.error
        predictor = backend.load_model(Path(result.artifacts["model"]))
        out = tmp_path / f"predictions{predictor.output_suffix}"
        report = predictor.predict_file(prediction_data, out)
        assert report.path == out and out.is_file() and out.stat().st_size > 0
        assert report.count > 0, "the saved model predicts the data it was trained for"
        garbage = tmp_path / "garbage.bin"
        garbage.write_bytes(b"\x00\xff\xfe not data \x00\x9c" * 20)
        with pytest.raises(UsageError):
            predictor.predict_file(garbage, tmp_path / f"garbage{predictor.output_suffix}")

    def test_load_model_refuses_a_path_without_a_model(self, backend: Backend, tmp_path: Path) -> None:
        with pytest.raises(UsageError):
            backend.load_model(tmp_path / "no-model-here")


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
        assert info["name"] == provider.name, f"describe() names {info['name']!r}, expected {provider.name!r}"
        assert provider.default_model in info["models"], (
            f"default model {provider.default_model!r} is not among models() {info['models']}"
        )
        assert info["available"], f"provider {provider.name} is unavailable: {info['unavailable_reason']}"

    def test_generate_text(self, model: LLMModel) -> None:
        response = model.generate("Say hello.", settings=GenerationSettings(max_tokens=16))
        assert isinstance(response.text, str) and response.text.strip(), f"generate returned text {response.text!r}"
        assert response.usage.completion_tokens > 0, f"usage counts no completion tokens: {response.usage}"

    def test_generate_json_matches_schema(self, model: LLMModel) -> None:
        response = model.generate_json(
            "Propose an XGBoost learning rate and booster as JSON.", self.schema,
            settings=GenerationSettings(max_tokens=64),
        )
        try:
            jsonschema.validate(response.data, self.schema)
        except jsonschema.ValidationError as exc:
            raise AssertionError(f"generate_json data {response.data!r} does not match the schema: {exc.message}") \
                from None
        assert response.usage.prompt_tokens > 0, f"usage counts no prompt tokens: {response.usage}"
