"""The built-in planners: their names (``register_planners``) and their factory (default ``plan_trials``)."""

from __future__ import annotations

from collections.abc import Callable

from automl_gpt.hookspecs import hookimpl
from automl_gpt.planners.base import Planner, PlanningContext
from automl_gpt.plugins import PlannerInfo

BUILTIN_PLANNERS = (
    PlannerInfo("llm", "the LLM plans from the prompt paragraph; a bandit shares slots with transfer and TPE"),
    PlannerInfo("tpe", "Optuna's TPE sampler, starting from the model card's defaults"),
    PlannerInfo("random", "seeded random configurations (log-uniform where the space says so)"),
    PlannerInfo("default", "the model card's default configuration, once"),
    PlannerInfo("transfer", "configurations that won on the most similar past datasets, then TPE"),
)


@hookimpl
def register_planners(register: Callable[[PlannerInfo], None]) -> None:
    for info in BUILTIN_PLANNERS:
        register(info)


@hookimpl(trylast=True)
def plan_trials(name: str, context: PlanningContext) -> Planner | None:
    from automl_gpt import planners

    if name == "default":
        return planners.DefaultPlanner(context)
    if name == "random":
        return planners.RandomPlanner(context)
    if name == "tpe":
        return planners.TPEPlanner(context)
    if name == "transfer":
        from automl_gpt.planners.transfer import TransferPlanner

        return TransferPlanner(context)
    if name == "llm":
        from automl_gpt.planners.llm_planner import LLMPlanner

        return LLMPlanner(context)
    return None
