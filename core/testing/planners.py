"""The planner conformance suite: what every planner, built in or a plugin's, does through the hooks.

Imported through :mod:`automl_gpt.testing`, which registers this module for pytest's assertion rewriting.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.planners.base import Candidate, Planner, PlanningContext
from automl_gpt.plugins import PluginManager
from automl_gpt.testing.loading import plugins_loaded
from automl_gpt.training import LogRecord, Objective, TrainingLog, TrialResult, TrialState

TOY_DATA = {"name": "toy", "task": "binary", "train": "train.csv", "target": "y", "label_space": [0, 1]}
TOY_MODEL = {
    "name": "toy-model",
    "backend": "toy",
    "tasks": ["binary"],
    "search_space": {
        "learning_rate": {"type": "float", "low": 0.001, "high": 1.0, "log": True, "default": 0.1},
        "depth": {"type": "int", "low": 1, "high": 12, "default": 6},
        "booster": {"type": "categorical", "choices": ["gbtree", "dart"], "default": "gbtree"},
        "drop_rate": {"type": "float", "low": 0.0, "high": 0.5, "default": 0.1, "condition": {"booster": ["dart"]}},
    },
}


def toy_result(config: dict[str, Any]) -> TrialResult:
    """A finished trial whose validation log-loss is a smooth function of the configuration (best near lr 0.3)."""
    loss = abs(math.log10(config["learning_rate"] / 0.3)) + abs(config["depth"] - 4) / 10
    log = TrainingLog([LogRecord(1, "valid", "logloss", loss)])
    return TrialResult(TrialState.COMPLETE, {"valid/logloss": loss}, log)


class PlannerConformance:
    """What every planner must do. Subclass and provide ``plugin`` (the plugin module) and ``planner_name``.

    Optional fixture: ``context`` (defaults to a toy binary task with a float, an int, a categorical and a
    conditional parameter, minimising ``valid/logloss``).
    """

    @pytest.fixture
    def context(self) -> PlanningContext:
        model = card_from_mapping(ModelCard, TOY_MODEL)
        return PlanningContext(data_card=card_from_mapping(DataCard, TOY_DATA), model_card=model, space=model.space(),
                               objective=Objective("logloss", "minimize"), seed=0)

    @pytest.fixture
    def manager(self, plugin: Any) -> Iterator[PluginManager]:
        """A process-wide plugin manager with the built-ins and ``plugin``."""
        with plugins_loaded(plugin) as manager:
            yield manager

    @pytest.fixture
    def planner(self, manager: PluginManager, planner_name: str, context: PlanningContext) -> Planner:
        return manager.planner(planner_name, context)

    def test_name_is_announced(self, manager: PluginManager, planner_name: str) -> None:
        planners = manager.planners()
        assert planner_name in planners, (
            f"register_planners announced {sorted(planners)}, expected {planner_name!r} among them"
        )
        info = planners[planner_name]
        assert info.requirements.available, info.requirements.reason

    def test_built_by_plan_trials(self, planner: Planner) -> None:
        assert isinstance(planner, Planner), f"plan_trials must return a Planner, returned {planner!r}"

    def test_asks_for_candidates_inside_the_space(self, planner: Planner, context: PlanningContext) -> None:
        candidates = planner.ask(3)
        assert isinstance(candidates, list) and 0 < len(candidates) <= 3, (
            f"ask(3) must return a list of 1 to 3 candidates, returned {candidates!r}"
        )
        for candidate in candidates:
            assert isinstance(candidate, Candidate), f"ask returned {candidate!r}, not a Candidate"
            assert context.space.contains(candidate.config), (
                f"candidate {candidate.config} is outside the space; repair it with context.space.repair(...): "
                f"{context.space.repair(candidate.config).notes}"
            )

    def test_learns_from_results_and_failures(self, planner: Planner, context: PlanningContext) -> None:
        for round_number in range(3):
            candidates = planner.ask(2)
            assert len(candidates) <= 2, f"ask(2) returned {len(candidates)} candidates in round {round_number + 1}"
            for index, candidate in enumerate(candidates):
                assert context.space.contains(candidate.config), (
                    f"round {round_number + 1}: candidate {candidate.config} is outside the space: "
                    f"{context.space.repair(candidate.config).notes}"
                )
                result = (TrialResult(TrialState.FAIL, error="out of memory") if index == 1
                          else toy_result(candidate.config))
                planner.tell(candidate, result)

    def test_same_seed_same_candidates(self, manager: PluginManager, planner_name: str,
                                       context: PlanningContext) -> None:
        first = [c.config for c in manager.planner(planner_name, context).ask(3)]
        second = [c.config for c in manager.planner(planner_name, context).ask(3)]
        assert first == second, f"two planners with seed {context.seed} disagree: {first} then {second}"
