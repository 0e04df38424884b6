"""Compatibility: the planning types moved to :mod:`automl_gpt.planners`; import them from there.

Kept so that ``from automl_gpt.planning import PlanningContext`` (the path docs/plugins.md gave before) still works.
"""

from automl_gpt.planners import (
    Candidate,
    Experience,
    PastTrial,
    Planner,
    PlannerInfo,
    PlanningContext,
    Prediction,
    best_trial,
)

__all__ = ["Candidate", "Experience", "PastTrial", "Planner", "PlannerInfo", "PlanningContext", "Prediction",
           "best_trial"]
