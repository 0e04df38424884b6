"""A property of ``automl-gpt run`` under random card names and option values: nothing is written outside the
output folder, no traceback is printed, and the exit code is one the README documents (0, 2 or 3).

Runs the command line in-process on the analytic test backend, so each example takes a fraction of a second.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from automl_gpt.cli import main
from automl_gpt.testing import plugins_loaded
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..core import loop_support

names = st.one_of(
    st.text(min_size=1, max_size=300),
    st.sampled_from(["../../escaped", "/tmp/absolute", "a/b/c", "..", ".", "~", "$HOME", "name\nwith\nlines", "*"]),
)
durations = st.one_of(st.none(), st.sampled_from(["0s", "-1s", "0.5s", "1h", "nan", "1e9", "abc", "", "90"]))
limits = st.one_of(st.none(), st.sampled_from(["max_rows=-3", "max_rows=0", "max_rows=5", "x=nan", "=3", "noequals",
                                               "sleep_per_step=0", "max_rows=1e400"]))


def files(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.fixture(scope="module")
def analytic():
    with plugins_loaded(loop_support):
        yield


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, seed=st.integers(min_value=-(2**33), max_value=2**33), budget=st.integers(min_value=-2, max_value=3),
       time_budget=durations, trial_timeout=durations, limit=limits)
def test_random_names_and_options_stay_inside_out_without_tracebacks(
    analytic: None, capsys: pytest.CaptureFixture[str], name: str, seed: int, budget: int, time_budget: str | None,
    trial_timeout: str | None, limit: str | None,
) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        (root / "analytic.csv").write_text("x\n1\n")
        (root / "card.json").write_text(json.dumps({"name": name, "task": "regression", "train": "analytic.csv",
                                                    "target": "x"}))
        out = root / "out" / "runs"
        args = [str(root / "card.json"), "--planner", "random", "--no-experience", "--out", str(out),
                "--seed", str(seed), "--budget", str(budget)]
        args += ["--time-budget", time_budget] if time_budget is not None else []
        args += ["--trial-timeout", trial_timeout] if trial_timeout is not None else []
        args += ["--limit", limit] if limit is not None else []
        before = files(root)
        with pytest.raises(SystemExit) as exited:
            main(["run", *args])
            raise SystemExit(0)
        captured = capsys.readouterr()
        code = exited.value.code or 0
        assert code in (0, 2, 3), (code, captured.err)
        assert "Traceback" not in captured.err
        created = files(root) - before
        assert all(out in path.parents or path in (out, out.parent) for path in created), created
        if code == 2:
            assert not out.exists() and captured.err.startswith("error: ") and len(captured.err.splitlines()) == 1
        else:
            assert len(list(out.iterdir())) == 1
