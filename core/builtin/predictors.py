"""Default ``predict_training_log``: the LLM's own prediction and a surrogate fitted on the trials so far."""

from __future__ import annotations

from automl_gpt.hookspecs import hookimpl
from automl_gpt.planning import Candidate, PlanningContext, Prediction


@hookimpl(trylast=True)
def predict_training_log(candidate: Candidate, context: PlanningContext) -> Prediction | None:
    from automl_gpt.surrogate import SurrogatePredictor

    return SurrogatePredictor.for_context(context).predict(candidate)
