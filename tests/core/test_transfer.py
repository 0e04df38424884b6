"""Config adaptation across search spaces, and the transfer planner's hand-out order."""

from __future__ import annotations

from typing import Any

import pytest
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.errors import UsageError
from automl_gpt.planners import config_key
from automl_gpt.planners.base import Experience, PastTrial, PlanningContext
from automl_gpt.planners.transfer import (
    MAX_TRANSFERRED,
    TransferPlanner,
    adapt_config,
    transfer_candidates,
    untried_transfers,
)
from automl_gpt.training import Objective, TrialResult, TrialState

SPACE = {
    "encoding": {
        "type": "categorical",
        "choices": ["native", "onehot"],
        "default": "native",
        "stage": "data_processing",
    },
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.5, "log": True, "default": 0.3},
    "max_depth": {"type": "int", "low": 1, "high": 10, "default": 6},
    "grow_policy": {"type": "categorical", "choices": ["depthwise", "lossguide"], "default": "depthwise"},
    "max_leaves": {"type": "int", "low": 4, "high": 256, "default": 64, "condition": {"grow_policy": ["lossguide"]}},
}


def model_card(space: dict[str, Any] = SPACE) -> ModelCard:
    return card_from_mapping(ModelCard, {"name": "m", "backend": "b", "tasks": ["binary"], "search_space": space})


def context(experience: list[Experience], seed: int = 0) -> PlanningContext:
    card = model_card()
    data = DataCard(name="new", task="binary", train="train.csv")
    return PlanningContext(data, card, card.space(), Objective("logloss", "minimize"), seed=seed, experience=experience)


def test_adapt_keeps_shared_params_and_repairs_them() -> None:
    space = model_card().space()
    adapted = adapt_config({"learning_rate": 0.9, "max_depth": 7.6, "encoding": "ONEHOT", "n_estimators": 500}, space)
    assert adapted == {"encoding": "onehot", "learning_rate": 0.5, "max_depth": 8, "grow_policy": "depthwise"}


def test_adapt_fills_defaults_and_handles_conditions() -> None:
    space = model_card().space()
    # A choice the new space lacks falls back to the default; an inactive conditional parameter is dropped.
    assert adapt_config({"encoding": "target", "max_leaves": 32}, space) == space.defaults()
    # A conditional parameter becomes active when its condition holds in the adapted config.
    adapted = adapt_config({"grow_policy": "lossguide", "max_leaves": 1000}, space)
    assert adapted["max_leaves"] == 256 and adapted["grow_policy"] == "lossguide"
    assert space.contains(adapted)


def test_adapt_to_a_smaller_space_drops_the_rest() -> None:
    smaller = model_card({"max_depth": {"type": "int", "low": 2, "high": 4, "default": 3}}).space()
    assert adapt_config({"max_depth": 9, "learning_rate": 0.1, "scale_pos_weight": 3.0}, smaller) == {"max_depth": 4}


def test_candidates_interleave_most_similar_first_and_deduplicate() -> None:
    near = Experience("near", 0.9, [{"max_depth": 2}, {"max_depth": 3}], [0.1, 0.2])
    far = Experience("far", 0.4, [{"max_depth": 2, "learning_rate": 0.3}, {"max_depth": 9}], [0.3, 0.4])
    mid = Experience("mid", 0.6, [{"max_depth": 5}], [0.5])
    found = transfer_candidates([far, near, mid], model_card().space())
    # far's best adapts to the same config as near's best: handed out once.
    assert [c.config["max_depth"] for c in found] == [2, 5, 3, 9]
    assert "#1 on 'near' (similarity 0.90, score 0.1)" in found[0].rationale and "'far'" in found[0].rationale
    assert all(c.source == "transfer" for c in found)
    assert len(transfer_candidates([far, near, mid], model_card().space(), limit=2)) == 2


def test_candidates_prefer_configs_good_on_several_similar_datasets() -> None:
    a = Experience("a", 0.9, [{"max_depth": 1}, {"max_depth": 4}], [0.1, 0.2])
    b = Experience("b", 0.8, [{"max_depth": 2}, {"max_depth": 4}], [0.1, 0.2])
    c = Experience("c", 0.7, [{"max_depth": 3}, {"max_depth": 4}], [0.1, 0.2])
    # depth 4 is second everywhere: 0.45 + 0.4 + 0.35 beats every single first place.
    assert [c.config["max_depth"] for c in transfer_candidates([a, b, c], model_card().space())] == [4, 1, 2, 3]


def result(value: float) -> TrialResult:
    return TrialResult(TrialState.COMPLETE, metrics={"valid/logloss": value})


def test_transfer_planner_hands_out_experience_then_tpe_that_learned_from_it() -> None:
    experience = [
        Experience("a", 0.8, [{"max_depth": 2}, {"max_depth": 4}], [0.1, 0.2]),
        Experience("b", 0.5, [{"max_depth": 8}], [0.3]),
    ]
    ctx = context(experience)
    planner = TransferPlanner(ctx)
    first = planner.ask(2)
    assert [c.config["max_depth"] for c in first] == [2, 6], "the best transferred first, the defaults second"
    assert first[1].config == ctx.space.defaults()
    for number, candidate in enumerate(first):
        res = result(0.1 * (number + 1))
        ctx.history.append(PastTrial(number, candidate.config, res))
        planner.tell(candidate, res)
    nxt = planner.ask(4)
    assert [c.source for c in nxt] == ["transfer", "transfer", "tpe", "tpe"]
    assert [c.config["max_depth"] for c in nxt[:2]] == [8, 4]
    # TPE was not seeded with the defaults again and was told the transfer results.
    assert all(c.config != ctx.space.defaults() for c in nxt[2:])
    study = planner._fallback._study
    assert len([t for t in study.trials if t.value is not None]) == 2


def test_transfer_planner_without_experience_is_tpe_seeded_with_default() -> None:
    ctx = context([])
    first = TransferPlanner(ctx).ask(1)[0]
    assert first.config == ctx.space.defaults() and first.source == "tpe"


def test_transfer_planner_skips_configs_already_tried_and_honours_max_transfer() -> None:
    experience = [Experience("a", 0.8, [{"max_depth": 2}, {"max_depth": 4}, {"max_depth": 6}], [0.1, 0.2, 0.3])]
    ctx = context(experience)
    tried = adapt_config({"max_depth": 2}, ctx.space)
    ctx.history.append(PastTrial(0, tried, result(0.1)))
    planner = TransferPlanner(ctx, max_transfer=2)
    handed = planner.ask(3)
    assert handed[0].config == ctx.space.defaults() and handed[1].config["max_depth"] == 4
    assert [c.source for c in handed] == ["transfer", "transfer", "tpe"]
    assert config_key(tried) not in {config_key(c.config) for c in handed}


def test_transfer_planner_hands_tpe_the_rest_after_max_transferred_configs() -> None:
    experience = [
        Experience(f"d{d}", 0.9 - d / 10, [{"max_depth": 1 + (d * 3 + i) % 10, "learning_rate": 0.02 * (d + 1)}
                                          for i in range(3)], [0.1, 0.2, 0.3])
        for d in range(5)
    ]
    assert len(transfer_candidates(experience, model_card().space())) > MAX_TRANSFERRED
    handed = TransferPlanner(context(experience)).ask(MAX_TRANSFERRED + 2)
    assert [c.source for c in handed] == ["transfer"] * (MAX_TRANSFERRED + 1) + ["tpe"]  # + the defaults


def test_unknown_fallback_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="fallback"):
        TransferPlanner(context([]), fallback="cma")


def test_a_resumed_run_still_gets_the_transferred_configs_it_has_not_tried() -> None:
    """Trials that came from elsewhere (the defaults, the LLM, TPE) do not use up the transferred ones."""
    experience = [Experience("a", 0.8, [{"max_depth": 2}, {"max_depth": 4}, {"max_depth": 8}], [0.1, 0.2, 0.3])]
    ctx = context(experience)
    ctx.history.append(PastTrial(0, ctx.space.defaults(), result(0.2)))
    ctx.history.append(PastTrial(1, adapt_config({"max_depth": 4}, ctx.space), result(0.1)))
    assert [c.config["max_depth"] for c in untried_transfers(ctx, limit=3)] == [2, 8]
    handed = TransferPlanner(ctx, max_transfer=2).ask(2)
    assert (handed[0].source, handed[0].config["max_depth"]) == ("transfer", 2)
    assert handed[1].source == "tpe"  # the cap of 2 counts transferred configurations: 4 was tried, 2 is handed
