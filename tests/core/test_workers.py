"""Several worker processes on one PostgreSQL study: nothing trained twice, nothing lost when one is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import optuna
import pytest
from automl_gpt.runs.store import open_storage

REPO = Path(__file__).resolve().parents[2]
POSTGRES_SCRIPT = REPO / "tests" / "support" / "postgres.sh"
pytestmark = pytest.mark.postgres


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("AUTOML_GPT_TEST_POSTGRES_URL")
    if url:
        return url
    try:
        started = subprocess.run([str(POSTGRES_SCRIPT), "start"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot start PostgreSQL: {exc}")
    if started.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL did not start: {started.stderr.strip()}")
        pytest.skip(f"PostgreSQL not available here: {started.stderr.strip()}")
    return started.stdout.strip().splitlines()[-1]


def spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.core.worker_process", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_three_workers_one_killed_every_trial_ends_once(postgres_url: str, tmp_path: Path) -> None:
    study_name = f"workers-{uuid.uuid4().hex[:8]}"
    budget = 10
    out = str(tmp_path / "runs")
    first = spawn("first", postgres_url, study_name, out, str(budget), str(tmp_path))
    storage = open_storage(postgres_url, None)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the first worker created the study
        if any(s.study_name == study_name for s in optuna.get_all_study_summaries(storage)):
            break
        time.sleep(0.2)
    others = [spawn("worker", postgres_url, study_name, out) for _ in range(2)]
    victim = others[0]
    study = optuna.load_study(study_name=study_name, storage=storage)
    killed_trial = None
    deadline = time.monotonic() + 60
    while killed_trial is None and time.monotonic() < deadline:
        for trial in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
            if trial.user_attrs.get("worker", "").endswith(f":{victim.pid}"):
                victim.send_signal(signal.SIGKILL)
                killed_trial = trial.number
                break
        time.sleep(0.1)
    assert killed_trial is not None, "the victim never ran a trial"
    for process in (first, others[1]):
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output.decode()[-2000:]
    victim.wait(timeout=10)

    trials = study.get_trials()
    states = Counter(t.state.name for t in trials)
    assert states["RUNNING"] == 0 and states["WAITING"] == 0
    killed = trials[killed_trial]
    assert killed.state.name == "FAIL"
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed_trial]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert retries[0].params == killed.params, "the retry trains the killed trial's configuration"
    standing = [t for t in trials if t.number != killed_trial]
    assert len(standing) == budget, "every planned trial ends exactly once"
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in standing)
    configs = Counter(tuple(sorted(t.params.items())) for t in standing)
    assert max(configs.values()) == 1, "no two workers trained the same candidate"
    workers = {t.user_attrs["worker"] for t in standing}
    assert len(workers) >= 2, "the work was shared"

    report = subprocess.run([sys.executable, "-m", "automl_gpt", "runs", "show", out + "/" + os.listdir(out)[0]],
                            capture_output=True, text=True, cwd=REPO)
    assert report.returncode == 0, report.stderr
    assert '"retried": 1' in report.stdout and f'"total": {budget}' in report.stdout
