"""End to end with real parts: the local SmolLM2 model plans, real XGBoost trains on a slice of UCI Adult.

Also: a run killed with SIGKILL mid-trial resumes without losing a finished trial.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from automl_gpt.runs.loop import run
from automl_gpt.runs.options import RunSettings
from automl_gpt.runs.store import open_storage

REPO = Path(__file__).resolve().parents[2]
ADULT = REPO / "examples" / "adult" / "card.yaml"
SLICE = {"max_rows": 3000, "max_rounds": 80}

pytestmark = [pytest.mark.slow, pytest.mark.llm]


def test_llm_plans_xgboost_trains_report_measures(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run(ADULT, planner="llm", llm="local", budget=3, batch_size=2, seed=0, out=tmp_path, limits=SLICE,
                 prune=False, echo=lines.append)
    summary = result.summary
    assert summary["trials"] == {"total": 3, "complete": 3, "pruned": 0, "failed": 0, "retried": 0}
    assert any(line.startswith("experience: ") for line in lines), "the shipped knowledge base lends experience"
    assert summary["sources"]["transfer"] == 2, "the first round is the warm start from similar datasets"
    llm_trials = [t for t in result.trials if any(p.predictor == "llm" for p in t.predictions)]
    assert llm_trials, f"the real model produced no valid plan: {summary['llm_usage']}"
    assert summary["llm_usage"]["llm_calls"] >= 1 and summary["llm_usage"]["completion_tokens"] > 0
    for trial in result.trials:
        curve = trial.result.log.curve("valid", "logloss")
        assert len(curve) >= 5, "a real per-round log was streamed"
        assert trial.result.metrics["valid/logloss"] == pytest.approx(min(v for _, v in curve), rel=1e-3)
        assert 0.75 < trial.result.metrics["test/accuracy"] < 0.9
    for trial in llm_trials:
        prediction = next(p for p in trial.predictions if p.predictor == "llm")
        assert len(prediction.log.curve("valid", "logloss")) == 4
    assert summary["predictions"]["llm"]["n"] == len(llm_trials)
    assert summary["best"]["metrics"]["test/logloss"] < 0.45
    html = (result.folder / "report.html").read_text()
    assert "Predicted vs real" in html and "llm_calls" in html
    assert any(line.startswith("trial 3/3") for line in lines)


def _cli(*args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "automl_gpt", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_sigkill_mid_run_then_resume_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    limits = [f"--limit={k}={v}" for k, v in {"max_rows": 4000, "max_rounds": 300}.items()]
    process = _cli("run", str(ADULT), "--planner", "tpe", "--budget", "6", "--batch-size", "1", "--out", str(out),
                   "--no-prune", *limits)
    deadline = time.monotonic() + 300
    folder = None
    finished: list[optuna.trial.FrozenTrial] = []
    while time.monotonic() < deadline:
        folders = list(out.glob("*/study.db")) if out.exists() else []
        if folders:
            folder = folders[0].parent
            settings = RunSettings.load(folder)
            try:
                study = optuna.load_study(study_name=settings.study_name,
                                          storage=open_storage(settings.storage_url(folder), None))
            except KeyError:  # the database file exists a moment before the study in it
                time.sleep(0.05)
                continue
            trials = study.get_trials()
            finished = [t for t in trials if t.state.is_finished()]
            if len(finished) >= 2 and any(t.state.name == "RUNNING" for t in trials):
                process.send_signal(signal.SIGKILL)
                break
        time.sleep(0.05)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, f"the run was not killed mid-trial: {output.decode()[-3000:]}"
    assert folder is not None
    before = {t.number: (t.params, t.value) for t in finished}

    resumed = subprocess.run([sys.executable, "-m", "automl_gpt", "run", "--resume", str(folder)], cwd=REPO,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "interrupted trial(s)" in resumed.stderr
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["trials"]["total"] == 6 and summary["trials"]["retried"] == 1
    study = optuna.load_study(study_name=settings.study_name, storage=open_storage(settings.storage_url(folder), None))
    after = {t.number: (t.params, t.value) for t in study.get_trials()}
    for number, (params, value) in before.items():
        assert after[number] == (params, value), f"finished trial {number} changed or was lost"


def test_same_seed_and_llm_cache_give_the_same_trials(tmp_path: Path) -> None:
    options = {"planner": "llm", "llm": "local", "budget": 3, "batch_size": 1, "seed": 7, "limits": SLICE,
               "experience": False, "echo": lambda line: None}
    first = run(ADULT, out=tmp_path / "a", **options)
    second = run(ADULT, out=tmp_path / "b", **options)
    assert [t.config for t in second.trials] == [t.config for t in first.trials]
    assert [t.result.metrics["valid/logloss"] for t in second.trials] == [
        t.result.metrics["valid/logloss"] for t in first.trials]
    usage = second.summary["llm_usage"]
    assert usage["llm_calls"] >= 1 and usage["cache_hits"] == usage["llm_calls"], "every LLM answer came from the cache"
