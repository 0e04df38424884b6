"""Default ``predict_training_log``: the cross-dataset ``matrix`` predictor where the backend ships a performance
matrix (its online part learns from the run's trials), else the ``surrogate`` fitted on the trials so far."""

from __future__ import annotations

from automl_gpt.hookspecs import hookimpl
from automl_gpt.planners.base import Candidate, PlanningContext, Prediction


@hookimpl(trylast=True)
def predict_training_log(candidate: Candidate, context: PlanningContext) -> Prediction | None:
    from automl_gpt.planners.predictor import NAME, predictor_for
    from automl_gpt.planners.surrogate import SurrogatePredictor

    if any(candidate.prediction(name) is not None for name in (NAME, SurrogatePredictor.name)):
        return None  # the llm planner ranked this candidate by the same prediction: it is kept, not made again
    return predictor_for(context).predict(candidate)
