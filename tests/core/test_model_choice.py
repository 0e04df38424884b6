"""Runs over several model cards: the union space, resolving a trial back to its card, the prompt and the LLM's
schema over the candidates, transfer into the union, pruning like against like, and the per-card comparison."""

from __future__ import annotations

import random
from typing import Any

import pytest
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.cards.model_choice import (
    ModelChoice,
    choose,
    compare_models,
    is_choice_spec,
    resolve,
    same_model_pruner,
    trials_by_member,
)
from automl_gpt.errors import UsageError
from automl_gpt.planners.base import Candidate, Experience, PastTrial, PlanningContext
from automl_gpt.planners.knowledge import experience_by_member, portfolio_by_member
from automl_gpt.planners.llm_planner import LLMPlanner, plan_schema
from automl_gpt.planners.transfer import adapt_config
from automl_gpt.training import Objective, TrainingLog, TrialResult, TrialState

from .loop_support import ScriptedLLM

ENCODING = {"type": "categorical", "choices": ["native", "onehot"], "default": "native", "stage": "data_processing"}


def card(name: str, space: dict[str, Any], backend: str = "tables") -> ModelCard:
    return card_from_mapping(ModelCard, {"name": name, "backend": backend, "tasks": ["binary"],
                                         "architecture": f"{name} arch", "description": f"The {name} model.",
                                         "search_space": space})


TREES = card("trees", {
    "encoding": ENCODING,
    "depth": {"type": "int", "low": 2, "high": 12, "default": 6},
    "growth": {"type": "categorical", "choices": ["depth", "leaf"], "default": "depth"},
    "leaves": {"type": "int", "low": 4, "high": 64, "default": 31, "condition": {"growth": ["leaf"]}},
})
BOOSTING = card("boosting", {
    "encoding": ENCODING,  # identical: shared
    "depth": {"type": "categorical", "choices": [None, 3, 6], "default": None},  # differs: prefixed
    "rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True, "default": 0.1},
})
LINEAR = card("linear", {
    "encoding": {**ENCODING, "choices": ["onehot", "target"], "default": "onehot"},  # differs: prefixed
    "growth": {"type": "categorical", "choices": ["l1", "l2"], "default": "l2"},  # differs: prefixed
    "strength": {"type": "float", "low": 1e-4, "high": 100, "log": True, "default": 1.0,
                 "condition": {"growth": ["l1"]}},  # its condition must follow the rename
})
CARDS = [TREES, BOOSTING, LINEAR]


@pytest.fixture
def choice() -> ModelChoice:
    chosen = choose(CARDS, "auto", "tables", "binary")
    assert isinstance(chosen, ModelChoice)
    return chosen


def test_union_names_shared_and_prefixed_parameters(choice: ModelChoice) -> None:
    space = choice.space()
    assert choice.name == "trees,boosting,linear" and choice.backend == "tables"
    assert next(iter(space)) == "model" and space["model"].stage == "model"
    assert space["model"].choices == ["trees", "boosting", "linear"] and space["model"].default == "trees"
    assert space["encoding"].condition == {"model": ["trees", "boosting"]}
    assert space["boosting.depth"].condition == {"model": ["boosting"]}
    assert space["linear.encoding"].choices == ["onehot", "target"]
    assert space["strength"].condition == {"model": ["linear"], "linear.growth": ["l1"]}  # unique: its own name
    assert space["leaves"].condition == {"model": ["trees"], "growth": ["leaf"]}
    assert space.defaults() == {"model": "trees", "encoding": "native", "depth": 6, "growth": "depth"}


def test_every_sampled_configuration_resolves_to_a_valid_member_configuration(choice: ModelChoice) -> None:
    space = choice.space()
    seen = set()
    for seed in range(60):
        config = space.sample(random.Random(seed))
        member, own = resolve(choice, config)
        seen.add(member.name)
        assert member.name == config["model"]
        assert member.space().contains(own), (config, own, member.space().repair(own).notes)
        assert choice.embed(member.name, own) == config  # and back: no parameter lost or renamed wrongly
    assert seen == {"trees", "boosting", "linear"}


def test_tpe_starts_from_every_card_defaults(choice: ModelChoice) -> None:
    from automl_gpt.planners import TPEPlanner

    asked = TPEPlanner(context_for(choice)).ask(4)
    assert [c.config for c in asked[:3]] == [
        {"model": "trees", "encoding": "native", "depth": 6, "growth": "depth"},
        {"model": "boosting", "encoding": "native", "boosting.depth": None, "rate": 0.1},
        {"model": "linear", "linear.encoding": "onehot", "linear.growth": "l2"},
    ]
    single = PlanningContext(data_card=context_for(choice).data_card, model_card=TREES, space=TREES.space(),
                             objective=Objective("logloss", "minimize"))
    assert TPEPlanner(single).ask(1)[0].config == TREES.defaults()


def test_single_card_paths_are_unchanged() -> None:
    assert choose(CARDS, "linear,", "tables", "binary") is LINEAR
    config = {"encoding": "onehot", "depth": 3}
    assert resolve(TREES, config) == (TREES, config)
    assert not is_choice_spec(None) and not is_choice_spec("xgboost") and not is_choice_spec("cards/a,b.yaml")
    assert is_choice_spec("auto") and is_choice_spec("a,b")


@pytest.mark.parametrize("spec,message", [
    ("trees,forest", r"^--model 'trees,forest': no model card 'forest' for backend 'tables' and task 'binary' "
                     r"\(known: boosting, linear, trees; or a model card file, auto, or a,b,c\)$"),
    ("trees,trees", "trees named twice"),
])
def test_bad_choices_are_one_clear_error(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        choose(CARDS, spec, "tables", "binary")


def test_cards_of_different_backends_cannot_be_mixed() -> None:
    other = card("cnn", {"depth": {"type": "int", "low": 1, "high": 3}}, backend="images")
    with pytest.raises(UsageError, match="different backends"):
        choose([TREES, other], "trees,cnn", "tables", "binary")


def context_for(choice: ModelChoice) -> PlanningContext:
    data = DataCard(name="d", task="binary", train="d.csv", target="y")
    return PlanningContext(data_card=data, model_card=choice, space=choice.space(),
                           objective=Objective("logloss", "minimize"))


def test_prompt_presents_every_candidate_card_and_the_schema_constrains_the_choice(choice: ModelChoice) -> None:
    from automl_gpt.builtin.prompt import build_prompt

    context = context_for(choice)
    prompt = build_prompt(context=context, n_candidates=2)
    assert 'one of 3 candidate models ("trees", "boosting", "linear")' in prompt
    for member in CARDS:
        assert f'Candidate model "{member.name}" ({member.name} arch)' in prompt and member.description in prompt
    assert "strength: float in [0.0001, 100], log scale, default 1.0, only when linear.growth in ['l1']" in prompt
    schema = plan_schema(context, 2)
    model_stage = schema["properties"]["plans"]["items"]["properties"]["model"]
    assert model_stage["properties"]["model"] == {"enum": ["trees", "boosting", "linear"]}
    assert "model" in model_stage["required"]


def test_llm_plans_name_the_card_they_adopt(choice: ModelChoice) -> None:
    plan = {"data_processing": {"linear.encoding": "target"}, "model": {"model": "linear"},
            "hyperparameters": {"linear.growth": "l1", "strength": 0.5, "depth": 4},
            "predicted_valid_logloss": [0.6, 0.5, 0.45, 0.4], "rationale": "small table: a linear model"}
    llm = ScriptedLLM([{"plans": [plan]}])
    planner = LLMPlanner(context_for(choice), client=llm, start_with_default=False, share_with_tpe=False)
    [candidate] = planner.ask(1)
    assert candidate.config == {"model": "linear", "linear.encoding": "target", "linear.growth": "l1", "strength": 0.5}
    member, own = resolve(choice, candidate.config)
    assert member is LINEAR and own == {"encoding": "target", "growth": "l1", "strength": 0.5}
    assert any("depth" in note for note in candidate.repairs)  # another card's parameter: dropped, and said so


def test_transfer_adapts_a_configuration_found_with_another_card(choice: ModelChoice) -> None:
    space = choice.space()
    from_trees = {"encoding": "onehot", "depth": 4}  # a knowledge-base configuration of the trees card alone
    assert adapt_config(from_trees, space) == {"model": "trees", "encoding": "onehot", "depth": 4, "growth": "depth"}
    moved = adapt_config({**from_trees, "model": "boosting"}, space)  # the same data processing on boosting
    assert moved == {"model": "boosting", "encoding": "onehot", "boosting.depth": None, "rate": 0.1}


def test_experience_and_portfolio_come_from_every_member_embedded_in_the_union(
        choice: ModelChoice, monkeypatch: pytest.MonkeyPatch) -> None:
    from automl_gpt.planners import knowledge

    monkeypatch.setattr(knowledge, "knowledge_cards", lambda _: {"trees"})  # the backend's knowledge: trees only

    def find(member: ModelCard) -> list[Experience]:
        own = Experience(f"run-{member.name}", 0.9 if member is LINEAR else 0.5, [member.defaults()], origin="user")
        shipped = Experience("kb-data", 0.7, [{"encoding": "onehot", "depth": 4}])  # store adapts it to any card
        return [own, shipped]

    found = experience_by_member(choice, find)
    assert [e.dataset for e in found] == ["run-linear", "kb-data", "run-trees", "run-boosting"]
    assert found[0].configs[0] == {"model": "linear", "linear.encoding": "onehot", "linear.growth": "l2"}
    assert found[1].configs[0] == {"model": "trees", "encoding": "onehot", "depth": 4}  # lent to trees only
    assert all(choice.space().contains(adapt_config(e.configs[0], choice.space())) for e in found)

    def portfolio(member: ModelCard) -> list[Candidate]:
        return [Candidate(member.defaults(), source="portfolio"), Candidate({"depth": 3}, source="portfolio")]

    assert [c.config for c in portfolio_by_member(choice, portfolio)] == [
        {"model": "trees", "encoding": "native", "depth": 6, "growth": "depth"}, {"model": "trees", "depth": 3}]
    assert experience_by_member(TREES, find)[0].configs == [TREES.defaults()]

    monkeypatch.setattr(knowledge, "knowledge_cards", lambda _: {"trees", "linear"})  # a matrix for each
    assert [c.config for c in portfolio_by_member(choice, portfolio)] == [  # each card's first pick, then seconds
        {"model": "trees", "encoding": "native", "depth": 6, "growth": "depth"},
        {"model": "linear", "linear.encoding": "onehot", "linear.growth": "l2"},
        {"model": "trees", "depth": 3}, {"model": "linear", "depth": 3}]
    assert {e.dataset for e in experience_by_member(choice, find) if e.origin != "user"} == {"kb-data"}
    assert len([e for e in experience_by_member(choice, find) if e.origin != "user"]) == 2  # lent to trees and linear


def past(number: int, config: dict[str, Any], value: float | None,
         state: TrialState = TrialState.COMPLETE) -> PastTrial:
    metrics = {} if value is None else {"valid/logloss": value}
    return PastTrial(number, config, TrialResult(state, metrics, TrainingLog()))


def test_comparison_and_store_grouping_per_card(choice: ModelChoice) -> None:
    history = [
        past(0, choice.space().defaults(), 0.40),
        past(1, {"model": "linear", "linear.encoding": "target", "linear.growth": "l2"}, 0.35),
        past(2, {"model": "linear", "linear.encoding": "onehot", "linear.growth": "l2"}, 0.30),
        past(3, {"model": "boosting", "encoding": "native", "boosting.depth": 3, "rate": 0.2}, None, TrialState.FAIL),
    ]
    table = compare_models(choice, history, Objective("logloss", "minimize"))
    assert table == {
        "trees": {"trials": 1, "complete": 1, "best_trial": 0, "best_value": 0.40},
        "boosting": {"trials": 1, "complete": 0, "best_trial": None, "best_value": None},
        "linear": {"trials": 2, "complete": 2, "best_trial": 2, "best_value": 0.30},
    }
    assert compare_models(TREES, history, Objective("logloss", "minimize")) is None
    groups = dict(trials_by_member(choice, history))
    assert [t.config for t in groups["linear"]] == [{"encoding": "target", "growth": "l2"},
                                                    {"encoding": "onehot", "growth": "l2"}]
    assert groups["boosting"][0].config == {"encoding": "native", "depth": 3, "rate": 0.2}


def test_pruner_compares_a_trial_with_trials_of_its_own_card_only() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    inner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    study = optuna.create_study(pruner=same_model_pruner(inner))
    model = optuna.distributions.CategoricalDistribution(["fast", "slow"])
    for value in (0.1, 0.1, 0.1):  # a fast-converging card finishes low at step 1
        study.add_trial(optuna.trial.create_trial(params={"model": "fast"}, distributions={"model": model},
                                                  value=value, intermediate_values={1: value}))
    for value in (0.9, 1.0):  # the slow card's own finished trials
        study.add_trial(optuna.trial.create_trial(params={"model": "slow"}, distributions={"model": model},
                                                  value=value, intermediate_values={1: value}))
    slow = study.ask({"model": model})
    while slow.params["model"] != "slow":
        study.tell(slow, state=optuna.trial.TrialState.FAIL)
        slow = study.ask({"model": model})
    slow.report(0.8, 1)
    assert not slow.should_prune()  # against the fast card's 0.1 it would be pruned
    slow.report(1.5, 2)
    study_all = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        study_all.add_trial(trial)
    control = study_all.ask({"model": model})
    control.report(0.8, 1)
    assert control.should_prune()
