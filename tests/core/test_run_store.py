"""The run store's record of a trial: what one trial writes, and studies written in the older layout."""

from __future__ import annotations

import datetime
import multiprocessing
import time
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from automl_gpt.planners.base import Candidate, Prediction
from automl_gpt.runs import store as run_store
from automl_gpt.runs.options import RunSettings
from automl_gpt.runs.store import INTERRUPTED, RunStore, to_past_trial, trial_source
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


class Killed(BaseException):
    """Stands for the kill of a worker process (not an Exception, so nothing on the way catches it)."""


@pytest.mark.parametrize("max_retries", [1, 2])
def test_a_retry_taken_by_a_worker_that_died_before_its_first_beat_is_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_retries: int,
) -> None:
    monkeypatch.setattr(run_store, "MAX_RETRIES", max_retries)
    space = loop_support.AnalyticBackend().model_cards()[0].space()
    settings = RunSettings(card="", backend="analytic", model="quadratic", study_name="s", heartbeat_s=1)
    runs = RunStore(tmp_path, settings, space, "minimize")
    runs.enqueue(Candidate(loop_support.AnalyticBackend().model_cards()[0].defaults(), source="llm"))
    runs.take()  # beats and signs, then its worker dies: Optuna's heartbeat check fails it and queues a retry
    deadline = time.monotonic() + 15
    while runs.waiting() == 0 and time.monotonic() < deadline:
        time.sleep(0.25)
        runs.fail_stale()
    assert runs.waiting() == 1, "the dead worker's trial was not re-queued"

    def die(_trial_id: int) -> None:
        raise Killed

    with monkeypatch.context() as kill, pytest.raises(Killed):
        kill.setattr(runs.storage, "record_heartbeat", die)
        runs.take()  # the retry's worker dies between study.ask() and its first heartbeat
    retry = runs.trials()[1]
    assert retry.state == optuna.trial.TrialState.RUNNING and retry.system_attrs["failed_trial"] == 0

    grace = 3 * settings.heartbeat_s
    later = datetime.datetime.now() + datetime.timedelta(seconds=2 * grace + 1)
    monkeypatch.setattr(run_store, "datetime", SimpleNamespace(datetime=SimpleNamespace(now=lambda: later)))
    runs._stale_checked_at = None
    runs.fail_stale()

    trials = runs.trials()
    assert trials[1].state == optuna.trial.TrialState.FAIL, "the abandoned retry stayed RUNNING"
    assert runs.history()[1].result.error == INTERRUPTED
    assert runs.running(trials) == 0 and runs.waiting(trials) == max_retries - 1, "re-queued while retries remain"
    if max_retries > 1:
        again = trials[2]
        assert again.params == trials[0].params and trial_source(again) == "llm"
        assert "worker" not in again.user_attrs, "a retry is not signed until a worker takes it"


def _open_fresh_studies(folder: str, rounds: int, barrier: object) -> list[str]:
    errors = []
    for n in range(rounds):
        barrier.wait()  # type: ignore[attr-defined]
        try:
            run_store.open_storage(f"sqlite:///{folder}/fresh-{n}.db", None)
        except Exception as exc:  # the test reports whatever broke
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
    return errors


def test_two_processes_opening_one_fresh_study_at_once_both_succeed(tmp_path: Path) -> None:
    # Optuna creates tables and a schema-version row on first use: without a retry, the process that lost the race
    # failed ("table already exists", UNIQUE constraint) in about a third of the rounds.
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        with context.Pool(2) as pool:
            results = pool.starmap(_open_fresh_studies, [(str(tmp_path), 8, barrier)] * 2)
    assert results == [[], []]
