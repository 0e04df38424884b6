"""The built-in planners pass the planner conformance suite that plugin authors use; its failures say why."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from automl_gpt.testing import PlannerConformance


@pytest.mark.parametrize("name", ["random", "tpe", "default", "transfer"])
class TestBuiltinPlanner(PlannerConformance):
    @pytest.fixture
    def plugin(self) -> SimpleNamespace:
        return SimpleNamespace()  # the built-in planners are always registered

    @pytest.fixture
    def planner_name(self, name: str) -> str:
        return name


BROKEN_PLANNER = '''
import random

import pytest
from automl_gpt import hookimpl
from automl_gpt.planners.base import Candidate, Planner
from automl_gpt.planners import PlannerInfo
from automl_gpt.testing import PlannerConformance


class Wild(Planner):
    name = "wild"

    def ask(self, n):
        return [Candidate({"learning_rate": 7.0, "depth": 3, "booster": "gbtree"}, source="wild")]


@hookimpl
def register_planners(register):
    register(PlannerInfo("wild"))


@hookimpl
def plan_trials(name, context):
    return Wild() if name == "wild" else None


class TestWild(PlannerConformance):
    @pytest.fixture
    def plugin(self):
        import sys
        return sys.modules[__name__]

    @pytest.fixture
    def planner_name(self):
        return "wild"
'''


def test_a_failing_check_says_what_was_expected_and_what_came_back(tmp_path: Path) -> None:
    (tmp_path / "test_wild.py").write_text(textwrap.dedent(BROKEN_PLANNER), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 1, done.stdout
    assert "candidate {'learning_rate': 7.0, 'depth': 3, 'booster': 'gbtree'} is outside the space" in done.stdout
    assert "repair it with context.space.repair(...): ['learning_rate: clipped 7 down to 1']" in done.stdout
    assert "where False = contains({" in done.stdout  # pytest rewrote the suite's assert: it shows the call
