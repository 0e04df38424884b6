"""Default ``run_training``: hand the request to the backend that was chosen for the run."""

from __future__ import annotations

from automl_gpt.hookspecs import hookimpl
from automl_gpt.training import Backend, TrainingRequest, TrialResult


@hookimpl(trylast=True)
def run_training(backend: Backend, request: TrainingRequest) -> TrialResult:
    return backend.train(request)
