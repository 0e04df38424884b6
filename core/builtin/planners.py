"""Default ``plan_trials``: the built-in planners by name."""

from __future__ import annotations

from automl_gpt.hookspecs import hookimpl
from automl_gpt.planning import Planner, PlanningContext

BUILTIN_PLANNERS = ("llm", "tpe", "random", "default", "transfer")


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
        from automl_gpt.transfer import TransferPlanner

        return TransferPlanner(context)
    if name == "llm":
        from automl_gpt.llm_planner import LLMPlanner

        return LLMPlanner(context)
    return None
