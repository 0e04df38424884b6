"""Every hook spec, exercised through the real plugin manager: the built-in answer and a plugin's override.

Each hook has a ``test_hook_<name>`` test here; ``test_hookspecs_meta.py`` fails when a hook lacks one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from automl_gpt import hookimpl
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping, load_data_card
from automl_gpt.errors import CardError, DataError, PluginError, UnknownNameError, UsageError
from automl_gpt.llm import LLMProvider
from automl_gpt.planners import PlannerInfo
from automl_gpt.planners.base import Candidate, PastTrial, Planner, PlanningContext, Prediction
from automl_gpt.requirements import Requirements
from automl_gpt.testing import plugins_loaded
from automl_gpt.training import Backend, LogRecord, Objective, TrainingLog, TrainingRequest, TrialResult, TrialState

DATA = {"name": "toy", "task": "binary", "train": "train.csv", "target": "y", "label_space": [0, 1]}
MODEL = {
    "name": "toy-model",
    "backend": "toy",
    "tasks": ["binary"],
    "search_space": {
        "lr": {"type": "float", "low": 0.01, "high": 1.0, "log": True, "default": 0.1},
        "depth": {"type": "int", "low": 1, "high": 6, "default": 3},
    },
}


def plugin(**hooks: Callable[..., Any]) -> SimpleNamespace:
    """An in-process plugin object from hook implementations."""
    return SimpleNamespace(**hooks)


class ToyBackend(Backend):
    """Trains nothing heavy: the 'loss' is a function of the config, logged over three steps."""

    name = "toy"
    tasks = frozenset({"binary"})

    def train(self, request: TrainingRequest) -> TrialResult:
        loss = abs(request.config["lr"] - 0.3) + request.config["depth"] / 10
        log = TrainingLog()
        for step in (1, 2, 3):
            record = LogRecord(step, "valid", "logloss", loss + 1 / step)
            log.append(record)
            request.report(record)
        return TrialResult(TrialState.COMPLETE, {"valid/logloss": loss + 1 / 3}, log)


def context(history: list[PastTrial] | None = None) -> PlanningContext:
    model = card_from_mapping(ModelCard, MODEL)
    return PlanningContext(
        data_card=card_from_mapping(DataCard, DATA),
        model_card=model,
        space=model.space(),
        objective=Objective("logloss", "minimize"),
        history=history or [],
    )


def request(tmp_path: Path, config: dict[str, Any]) -> TrainingRequest:
    ctx = context()
    return TrainingRequest(config, ctx.data_card, ctx.model_card, tmp_path)


def test_hook_register_llm_providers() -> None:
    class Echo(LLMProvider):
        name = "echo"
        default_model = "echo-1"
        requirements = Requirements(extra="echo", modules=("json",))

    @hookimpl
    def register_llm_providers(register: Callable[[LLMProvider], None]) -> None:
        register(Echo())

    with plugins_loaded(plugin(register_llm_providers=register_llm_providers)) as manager:
        assert manager.provider("echo").default_model == "echo-1"
        record = next(r for r in manager.plugin_records() if r.hooks == ["register_llm_providers"])
        assert record.provides["llm_providers"] == [Echo().describe()]


def test_hook_register_backends() -> None:
    @hookimpl
    def register_backends(register: Callable[[Backend], None]) -> None:
        register(ToyBackend())

    with plugins_loaded(plugin(register_backends=register_backends)) as manager:
        assert isinstance(manager.backend("toy"), ToyBackend)
        record = next(r for r in manager.plugin_records() if r.hooks == ["register_backends"])
        assert record.provides["backends"][0] == {
            "name": "toy",
            "tasks": ["binary"],
            "available": True,
            "unavailable_reason": None,
        }


class Fixed(Planner):
    """Always proposes the same configuration."""

    name = "fixed"

    def ask(self, n: int) -> list[Candidate]:
        return [Candidate({"lr": 0.5, "depth": 1}, source="fixed")][:n]


@hookimpl
def build_fixed(name: str, context: PlanningContext) -> Planner | None:
    return Fixed() if name == "fixed" else None


def test_hook_register_planners() -> None:
    @hookimpl
    def register_planners(register: Callable[[PlannerInfo], None]) -> None:
        register(PlannerInfo("fixed", "always lr 0.5"))

    with plugins_loaded(plugin(register_planners=register_planners, plan_trials=build_fixed)) as manager:
        assert set(manager.planners()) == {"llm", "tpe", "random", "default", "transfer", "fixed"}
        record = next(r for r in manager.plugin_records() if "register_planners" in r.hooks and r.source != "builtin")
        assert record.provides["planners"] == [
            {"name": "fixed", "description": "always lr 0.5", "available": True, "unavailable_reason": None}
        ]
        assert isinstance(manager.planner("fixed", context()), Fixed)
        assert manager.planner("tpe", context()).name == "tpe"
        with pytest.raises(UnknownNameError, match=r"unknown planner 'fixd' \(known: default, fixed, llm, random, "
                                                   r"tpe, transfer; see 'automl-gpt plugins list --all'\)"):
            manager.check_planner("fixd")

    announced_only = plugins_loaded(plugin(register_planners=register_planners))  # announced, never built
    with announced_only as manager, pytest.raises(PluginError, match="'fixed' is registered, but no plan_trials"):
        manager.planner("fixed", context())


def test_hook_parse_card(tmp_path: Path) -> None:
    """A plugin reads a card format of its own (a ``dataset:`` wrapper); other cards fall through to the schema."""

    @hookimpl(tryfirst=True)
    def parse_card(path: Path, data: dict[str, Any], kind: str) -> DataCard | None:
        if kind != "data" or "dataset" not in data:
            return None
        if not isinstance(data["dataset"], dict):
            raise CardError(path, "must be a mapping", field="dataset")
        return card_from_mapping(DataCard, data["dataset"], path)

    wrapped = tmp_path / "wrapped.yaml"
    wrapped.write_text(yaml.safe_dump({"dataset": DATA}))
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump(DATA))
    broken = tmp_path / "broken.yaml"
    broken.write_text("dataset: 3\n")
    with plugins_loaded(), pytest.raises(CardError, match="field 'name': is required but missing"):
        load_data_card(wrapped)  # the built-in schema alone rejects it
    with plugins_loaded(plugin(parse_card=parse_card)):
        assert load_data_card(wrapped).name == "toy"
        assert load_data_card(plain).name == "toy"
        with pytest.raises(CardError, match="field 'dataset': must be a mapping"):
            load_data_card(broken)


def test_hook_draft_card(tmp_path: Path) -> None:
    from automl_gpt.cards.draft import draft_card as draft

    table = tmp_path / "t.csv"
    table.write_text("x,y\n1,a\n2,b\n3,a\n")
    jsonl = tmp_path / "questions.jsonl"
    jsonl.write_text('{"question": "?"}\n')

    @hookimpl
    def draft_card(path: Path, name: str | None) -> DataCard | None:
        if path.suffix != ".jsonl":
            return None
        return card_from_mapping(
            DataCard, {"name": name or "qa", "task": "extractive_qa", "modality": "text", "train": str(path)}
        )

    args = {"target": "y", "task": None, "name": None, "test": None, "images": None}
    with plugins_loaded() as manager:  # the core drafts nothing itself: reading data formats is the plugins' job
        assert manager.hook.draft_card(path=table, **args) is None
        with pytest.raises(UsageError, match=r"t\.csv: no installed plugin drafts a card from this file \(a CSV "
                                             r"or Parquet table is drafted by the tabular plugin: pip install "
                                             r"'automl-gpt\[tabular\]'; a COCO annotation file by the vision "
                                             r"plugin: pip install 'automl-gpt\[vision\]'"):
            draft(table, target="y")
        with pytest.raises(DataError, match=r"nope\.csv: file not found \(check the path\)"):
            draft(tmp_path / "nope.csv", target="y")
    with plugins_loaded(plugin(draft_card=draft_card)) as manager:
        assert manager.hook.draft_card(path=jsonl, **args).task == "extractive_qa"
        assert draft(jsonl, name="squad").name == "squad"
        assert manager.hook.draft_card(path=table, **args) is None


def test_hook_build_prompt() -> None:
    done = TrialResult(
        TrialState.COMPLETE, {"valid/logloss": 0.25}, TrainingLog([LogRecord(50, "valid", "logloss", 0.25)])
    )
    failed = TrialResult(TrialState.FAIL, error="out of memory")
    history = [
        PastTrial(0, {"lr": 0.1, "depth": 3}, failed),
        PastTrial(1, {"lr": 0.2, "depth": 2}, done, [Prediction("llm", 0.3)]),
    ]
    with plugins_loaded() as manager:
        text = manager.hook.build_prompt(context=context(history), n_candidates=2)
    assert text.startswith('Assume we have the dataset "toy" for binary classification')
    assert 'We adopt the model "toy-model", trained by the toy backend.' in text
    assert "- trial 1: {lr: 0.2, depth: 2} -> real validation logloss 0.25 (predicted 0.3) after 50 steps" in text
    assert "- trial 0: {lr: 0.1, depth: 3} -> FAILED: out of memory" in text
    assert text.endswith(
        "Please give 2 new plans, each with the data processing, the model architecture, the "
        "hyper-parameters and the training log you predict (validation logloss at a few training "
        "steps), as JSON."
    )

    @hookimpl(tryfirst=True)
    def build_prompt(context: PlanningContext, n_candidates: int) -> str | None:
        return f"{n_candidates} plans for {context.data_card.name}, please" if context.history else None

    with plugins_loaded(plugin(build_prompt=build_prompt)) as manager:
        assert manager.hook.build_prompt(context=context(history), n_candidates=4) == "4 plans for toy, please"
        assert manager.hook.build_prompt(context=context(), n_candidates=4).startswith("Assume we have")

    @hookimpl(wrapper=True)
    def wrap_prompt(context: PlanningContext, n_candidates: int) -> Any:
        text = yield
        return text + "\nPrefer shallow trees."

    with plugins_loaded(plugin(build_prompt=wrap_prompt)) as manager:  # the docs/plugins.md example
        wrapped = manager.hook.build_prompt(context=context(), n_candidates=1)
        assert wrapped.startswith("Assume we have") and wrapped.endswith("as JSON.\nPrefer shallow trees.")


def test_hook_plan_trials() -> None:
    with plugins_loaded(plugin(plan_trials=build_fixed)) as manager:
        ctx = context()
        default = manager.hook.plan_trials(name="default", context=ctx)
        assert [c.config for c in default.ask(3)] == [{"lr": 0.1, "depth": 3}]
        randoms = manager.hook.plan_trials(name="random", context=ctx).ask(4)
        assert len(randoms) == 4 and all(ctx.space.contains(c.config) for c in randoms)
        assert manager.hook.plan_trials(name="fixed", context=ctx).ask(2)[0].source == "fixed"
        assert manager.hook.plan_trials(name="nobody", context=ctx) is None
        # a plugin that only builds planners (written before register_planners) still works by name
        manager.check_planner("fixed")
        assert isinstance(manager.planner("fixed", ctx), Fixed)
        with pytest.raises(UnknownNameError, match=r"unknown planner 'nobody' \(known: default, llm, random, tpe, "
                                                   r"transfer;"):
            manager.planner("nobody", ctx)


def test_hook_run_training(tmp_path: Path) -> None:
    with plugins_loaded() as manager:
        result = manager.hook.run_training(backend=ToyBackend(), request=request(tmp_path, {"lr": 0.3, "depth": 2}))
    assert result.state == TrialState.COMPLETE
    assert result.metrics["valid/logloss"] == pytest.approx(0.2 + 1 / 3)
    assert len(result.log) == 3

    @hookimpl(tryfirst=True)
    def run_training(backend: Backend, request: TrainingRequest) -> TrialResult | None:
        if request.limits.get("where") != "elsewhere":
            return None
        return TrialResult(TrialState.FAIL, error=f"{backend.name}: no cluster in tests")

    with plugins_loaded(plugin(run_training=run_training)) as manager:
        remote = request(tmp_path, {"lr": 0.3, "depth": 2})
        remote.limits["where"] = "elsewhere"
        assert manager.hook.run_training(backend=ToyBackend(), request=remote).error == "toy: no cluster in tests"
        local = manager.hook.run_training(backend=ToyBackend(), request=request(tmp_path, {"lr": 0.3, "depth": 2}))
        assert local.state == TrialState.COMPLETE


def test_hook_predict_training_log(tmp_path: Path) -> None:
    backend = ToyBackend()
    history = []
    for number, config in enumerate([{"lr": 0.1, "depth": 1}, {"lr": 0.3, "depth": 3}, {"lr": 0.9, "depth": 6}]):
        history.append(PastTrial(number, config, backend.train(request(tmp_path, config))))
    candidate = Candidate({"lr": 0.3, "depth": 3}, source="test")
    with plugins_loaded() as manager:
        assert manager.hook.predict_training_log(candidate=candidate, context=context()) == []  # too few trials
        [surrogate] = manager.hook.predict_training_log(candidate=candidate, context=context(history))
    assert surrogate.predictor == "surrogate"
    assert min(h.result.metrics["valid/logloss"] for h in history) <= surrogate.final
    assert surrogate.final <= max(h.result.metrics["valid/logloss"] for h in history)

    @hookimpl
    def predict_training_log(candidate: Candidate, context: PlanningContext) -> Prediction | None:
        return Prediction("constant", 0.5, TrainingLog([LogRecord(1, "valid", "logloss", 0.5)]))

    with plugins_loaded(plugin(predict_training_log=predict_training_log)) as manager:
        predictions = manager.hook.predict_training_log(candidate=candidate, context=context(history))
    assert sorted(p.predictor for p in predictions) == ["constant", "surrogate"]


def test_a_third_party_backend_never_becomes_the_default_over_a_first_party_one(tmp_path) -> None:
    pytest.importorskip("xgboost")
    from automl_gpt.cards import DataCard
    from automl_gpt.cards.resolve import preferred_backends
    from automl_gpt.training import Backend

    class TableBackend(Backend):
        name = "acme-tables"
        tasks = frozenset({"binary", "multiclass", "regression"})

    class Plugin:
        @hookimpl(tryfirst=True)
        def register_backends(self, register) -> None:
            register(TableBackend())

    card = DataCard(name="t", task="binary", train=str(tmp_path / "t.csv"), target="y")
    with plugins_loaded(Plugin(), entry_points=True) as manager:
        assert preferred_backends(manager.backends().values(), card)[0].name == "xgboost"
    with plugins_loaded(Plugin()) as manager:  # without a first-party one for the task, the third party's answers
        assert preferred_backends(manager.backends().values(), card)[0].name == "acme-tables"
