"""Greedy ensemble selection with replacement: weights, the best-single start, never worse on validation."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from automl_gpt import hookimpl
from automl_gpt.errors import UsageError
from automl_gpt.runs.ensemble import Ensemble, EnsembleRequest, describe, greedy_selection
from automl_gpt.runs.loop import run
from automl_gpt.testing import plugins_loaded
from automl_gpt.training import Objective

from . import loop_support


def rmse(truth: np.ndarray):
    return lambda p: float(np.sqrt(np.mean((p - truth) ** 2)))


def test_complementary_members_are_averaged_and_beat_the_best_single() -> None:
    truth = np.zeros(4)
    library = [np.array([1.0, -1.0, 1.0, -1.0]), np.array([-1.0, 1.0, -1.0, 1.0]), np.array([3.0, 3.0, 3.0, 3.0])]
    selection = greedy_selection(library, rmse(truth), rounds=10)
    assert selection.trajectory[0] == pytest.approx(1.0)  # round 1: a best single member (ties: the first)
    assert selection.loss == pytest.approx(0.0)  # one of each cancels exactly
    assert selection.counts == [1, 1, 0] and selection.rounds == 2  # the shortest best prefix is kept
    assert selection.weights == [0.5, 0.5, 0.0]


def test_weights_are_counts_over_rounds_with_replacement() -> None:
    truth = np.full(3, 1.0)
    # 2/3 of a (0) and 1/3 of b (3) hit 1.0 exactly: the best member is picked twice.
    library = [np.zeros(3), np.full(3, 3.0)]
    selection = greedy_selection(library, rmse(truth), rounds=6)
    assert selection.trajectory[0] == pytest.approx(1.0)
    assert selection.loss == pytest.approx(0.0)
    assert selection.counts == [2, 1]
    assert selection.weights == pytest.approx([2 / 3, 1 / 3])


@pytest.mark.parametrize("seed", range(5))
def test_never_worse_than_the_best_single_member(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=200)
    library = [truth + rng.normal(scale=s, size=200) + rng.normal() for s in (0.5, 1.0, 2.0, 0.8)]
    loss = rmse(truth)
    selection = greedy_selection(library, loss, rounds=25)
    best_single = min(loss(p) for p in library)
    assert selection.trajectory[0] == pytest.approx(best_single)
    assert selection.loss <= best_single
    combined = sum(w * p for w, p in zip(selection.weights, library, strict=True))
    assert loss(combined) == pytest.approx(selection.loss)
    assert sum(selection.weights) == pytest.approx(1.0)


def test_a_dominant_member_stays_alone() -> None:
    truth = np.zeros(5)
    library = [np.full(5, 5.0), np.full(5, 0.1)]
    selection = greedy_selection(library, rmse(truth), rounds=5)
    assert selection.counts == [0, 1] and selection.weights == [0.0, 1.0]


def test_empty_library_or_no_rounds_is_refused() -> None:
    with pytest.raises(ValueError):
        greedy_selection([], rmse(np.zeros(1)))
    with pytest.raises(ValueError):
        greedy_selection([np.zeros(1)], rmse(np.zeros(1)), rounds=0)


def test_served_only_when_strictly_better_and_said_in_one_line() -> None:
    objective = Objective("logloss", "minimize")
    better = Ensemble(Path("run/ensemble/ensemble.json"), {3: 0.6, 1: 0.4},
                      {"valid/logloss": 0.27, "test/logloss": 0.28}, 3, {"valid/logloss": 0.28, "test/logloss": 0.29},
                      candidates=5, trajectory=[0.28, 0.27])
    record = better.to_dict(objective)
    assert better.beats(objective) and record["served"]
    assert [m["trial"] for m in record["members"]] == [3, 1]
    line = describe(record, objective)
    assert "\n" not in line and "predict serves the ensemble" in line and "#3 x0.60, #1 x0.40" in line
    assert "test logloss 0.28 vs 0.29" in line
    same = Ensemble(Path("e.json"), {3: 1.0}, {"valid/logloss": 0.28}, 3, {"valid/logloss": 0.28}, 5, [0.28])
    assert not same.beats(objective)
    assert "predict serves trial #3" in describe(same.to_dict(objective), objective)


class BrokenEnsembles(loop_support.AnalyticBackend):
    """Trains like the analytic backend; building its ensemble fails."""

    name = "analytic-broken"

    def build_ensemble(self, request: EnsembleRequest) -> Ensemble | None:
        raise UsageError("nothing to combine")


@hookimpl
def _register_broken(register: Any) -> None:
    register(BrokenEnsembles())


def test_a_backend_that_builds_none_leaves_the_run_as_it_was(tmp_path: Path) -> None:
    with plugins_loaded(loop_support):
        lines: list[str] = []
        result = run(loop_support.data_card(tmp_path), planner="random", budget=3, out=tmp_path / "runs",
                     experience=False, echo=lines.append)
    assert result.summary["ensemble"] is None
    assert not any("ensemble" in line for line in lines)
    assert not (result.folder / "ensemble").exists()


def test_a_failing_ensemble_is_one_line_and_the_run_is_kept(tmp_path: Path) -> None:
    plugin = types.SimpleNamespace(register_backends=_register_broken)
    with plugins_loaded(loop_support, plugin):
        lines: list[str] = []
        result = run(loop_support.data_card(tmp_path), backend="analytic-broken", planner="random", budget=3,
                     out=tmp_path / "runs", experience=False, echo=lines.append)
    assert [line for line in lines if "ensemble" in line] == ["no ensemble built: nothing to combine"]
    assert result.summary["best"] is not None and (result.folder / "report.html").exists()
    assert result.summary["ensemble"] is None and not (result.folder / "ensemble").exists()
