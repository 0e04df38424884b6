"""Planners: what to train next, all speaking one ask/tell protocol.

:mod:`.base` holds the protocol and the types planners and prompts see (``Planner``, ``PlanningContext``,
``Candidate``, ``PastTrial``...); :mod:`.baselines` the ``default``, ``random`` and ``tpe`` planners;
:mod:`.llm_planner` the LLM planner and its bandit; :mod:`.transfer` and :mod:`.knowledge` what past datasets
teach; :mod:`.predictor`, :mod:`.surrogate` and :mod:`.plausibility` the training-log predictions that rank
candidates, and :mod:`.llm_prediction` the LLM's own predicted logs of given configurations. Planners read cards
and call LLMs; they never import the runs or the CLI.
"""

from automl_gpt.planners.base import (
    Candidate,
    Experience,
    PastTrial,
    Planner,
    PlanningContext,
    Prediction,
    best_trial,
    config_key,
)
from automl_gpt.planners.baselines import DefaultPlanner, RandomPlanner, TPEPlanner
from automl_gpt.plugins import PlannerInfo

__all__ = [
    "Candidate",
    "DefaultPlanner",
    "Experience",
    "PastTrial",
    "Planner",
    "PlannerInfo",
    "PlanningContext",
    "Prediction",
    "RandomPlanner",
    "TPEPlanner",
    "best_trial",
    "config_key",
]
