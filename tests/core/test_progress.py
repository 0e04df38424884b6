"""Progress lines during a trial, warnings kept in the trial's log file, and the loop printing backends' lines."""

from __future__ import annotations

import types
import warnings
from pathlib import Path
from typing import Any

import pytest
from automl_gpt import hookimpl
from automl_gpt.progress import StepProgress, clock_text, warnings_to_file
from automl_gpt.runs.loop import run
from automl_gpt.testing import plugins_loaded
from automl_gpt.training import TrainingRequest, TrialResult

from . import loop_support


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_echoes_at_the_interval_and_at_the_last_step_with_an_eta() -> None:
    lines: list[str] = []
    clock = FakeClock()
    progress = StepProgress(lines.append, 10, unit="iteration", interval_s=30, clock=clock)
    for step in range(1, 11):
        clock.now += 10  # 10 s per iteration
        progress.update(step, loss=1.0 / step)
    assert lines == [
        "iteration 3/10, loss 0.3333, 0:30 elapsed, ETA 1:10",
        "iteration 6/10, loss 0.1667, 1:00 elapsed, ETA 0:40",
        "iteration 9/10, loss 0.1111, 1:30 elapsed, ETA 0:10",
        "iteration 10/10, loss 0.1, 1:40 elapsed",
    ]


def test_clock_text_shows_hours_only_when_needed() -> None:
    assert clock_text(59.6) == "1:00" and clock_text(3725) == "1:02:05"


def test_warnings_go_to_the_trial_log_file_not_the_terminal(tmp_path: Path, capsys: Any) -> None:
    log = tmp_path / "trial" / "warnings.log"
    with warnings_to_file(log):
        warnings.warn("old API, a library detail", UserWarning, stacklevel=1)
    with pytest.warns(UserWarning, match="after the trial"):
        warnings.warn("after the trial", UserWarning, stacklevel=1)
    assert "old API, a library detail" in log.read_text()
    assert "after the trial" not in log.read_text()
    assert "old API" not in capsys.readouterr().err


def test_the_loop_prints_a_backends_lines_once_per_run_with_the_trial_number(tmp_path: Path) -> None:
    @hookimpl(tryfirst=True)
    def run_training(backend: Any, request: TrainingRequest) -> TrialResult | None:
        request.echo("pretrained weights unavailable offline: training from scratch")
        request.echo(f"step 1/1 of seed {request.seed}")
        return None  # the analytic backend trains as usual

    card = loop_support.data_card(tmp_path)
    lines: list[str] = []
    with plugins_loaded(loop_support, types.SimpleNamespace(run_training=run_training)):
        run(card, planner="random", budget=2, seed=0, out=tmp_path / "runs", prune=False, experience=False,
            echo=lines.append)
    trial_lines = [line for line in lines if line.startswith("  trial #")]
    assert trial_lines == [
        "  trial #0: pretrained weights unavailable offline: training from scratch",
        "  trial #0: step 1/1 of seed 0",
        "  trial #1: step 1/1 of seed 1",
    ]
