"""The run store's record of a trial: what one trial writes, and studies written in the older layout."""

from __future__ import annotations

from pathlib import Path

import optuna
from automl_gpt.planning import Candidate, Prediction
from automl_gpt.run_store import RunSettings, RunStore, to_past_trial, trial_source
from automl_gpt.training import LogRecord, TrainingLog, TrialResult, TrialState

from . import loop_support


def store(tmp_path: Path) -> RunStore:
    space = loop_support.AnalyticBackend().model_cards()[0].space()
    settings = RunSettings(card="", backend="analytic", model="quadratic", study_name="s")
    return RunStore(tmp_path, settings, space, "minimize")


def test_a_trial_is_three_attributes_and_reads_back_whole(tmp_path: Path) -> None:
    runs = store(tmp_path)
    config = loop_support.AnalyticBackend().model_cards()[0].defaults()
    log = TrainingLog([LogRecord(1, "valid", "loss", 2.5)])
    runs.enqueue(Candidate(config, source="llm", rationale="why", predictions=[Prediction("surrogate", 2.0, log)]))
    trial, candidate = runs.take()
    assert candidate.source == "llm" and candidate.rationale == "why" and candidate.predictions[0].final == 2.0
    runs.finish(trial, TrialResult(TrialState.COMPLETE, {"valid/loss": 2.5}, log, {"model": "m.json"}, None, 3.0), 2.5)

    frozen = runs.trials()[0]
    assert set(frozen.user_attrs) == {"candidate", "worker", "result"}
    assert frozen.state == optuna.trial.TrialState.COMPLETE and frozen.value == 2.5
    past = runs.history()[0]
    assert past.config == candidate.config and past.result.metrics == {"valid/loss": 2.5}
    assert past.result.log.to_list() == log.to_list() and past.result.duration_s == 3.0
    assert past.predictions[0].predictor == "surrogate" and trial_source(frozen) == "llm"
    assert runs.history()[0] is past, "a finished trial is converted once"


def test_trials_written_one_field_per_attribute_still_read(tmp_path: Path) -> None:
    old = optuna.trial.create_trial(
        params={"x": 1.0}, distributions={"x": optuna.distributions.FloatDistribution(-5, 5)}, value=0.5,
        user_attrs={"source": "tpe", "predictions": [{"predictor": "surrogate", "final": 0.4, "log": []}],
                    "metrics": {"valid/loss": 0.5}, "log": [], "artifacts": {}, "error": None, "duration_s": 1.5},
    )
    past = to_past_trial(old)
    assert past is not None and past.result.metrics == {"valid/loss": 0.5} and past.result.duration_s == 1.5
    assert past.predictions[0].final == 0.4 and trial_source(old) == "tpe"


def test_a_trial_failed_before_its_result_reads_as_interrupted(tmp_path: Path) -> None:
    runs = store(tmp_path)
    runs.enqueue(Candidate(loop_support.AnalyticBackend().model_cards()[0].defaults(), source="random"))
    runs.take()
    assert runs.requeue_interrupted() == 1
    failed = runs.history()[0]
    assert failed.result.state == TrialState.FAIL and "interrupted" in (failed.result.error or "")
    assert runs.waiting() == 1, "queued again"
