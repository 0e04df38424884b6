"""The run loop on an analytic backend: budgets, planners, failures, pruning, resume, reports."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
from automl_gpt import hookimpl
from automl_gpt.errors import LLMServerError, UsageError
from automl_gpt.planners import llm_planner
from automl_gpt.planners.base import Candidate, Experience, PlanningContext
from automl_gpt.planners.llm_planner import LLMPlanner
from automl_gpt.runs.loop import resume, run
from automl_gpt.runs.options import RunSettings
from automl_gpt.runs.store import RunStore
from automl_gpt.testing import plugins_loaded

from . import loop_support
from .loop_support import ScriptedLLM, plan


def scripted_planner_plugin(llm: ScriptedLLM, *, share_with_tpe: bool = False,
                            experience: list[Experience] | None = None) -> types.SimpleNamespace:
    """The ``llm`` planner on a scripted LLM; by default every slot goes to the LLM (its logic under test)."""

    @hookimpl(tryfirst=True)
    def plan_trials(name: str, context: PlanningContext) -> LLMPlanner | None:
        if name != "llm":
            return None
        if experience is not None:
            context.experience = list(experience)
        return LLMPlanner(context, client=llm, share_with_tpe=share_with_tpe)

    return types.SimpleNamespace(plan_trials=plan_trials)


@pytest.fixture
def card(tmp_path: Path):
    with plugins_loaded(loop_support):
        yield loop_support.data_card(tmp_path)


def run_quiet(card, tmp_path: Path, **options):
    lines: list[str] = []
    options.setdefault("experience", False)
    result = run(card, out=tmp_path / "runs", echo=lines.append, **options)
    return result, lines


def test_random_run_fills_budget_and_reports(card, tmp_path: Path) -> None:
    result, lines = run_quiet(card, tmp_path, planner="random", budget=6, seed=1, prune=False)
    assert len(result.trials) == 6
    assert len([line for line in lines if line.startswith("trial ")]) == 6
    assert "trial 6/6" in lines[-1] and "ETA" in lines[-1] and "best" in lines[-1]
    completed = [t for t in result.trials if t.result.state.value == "COMPLETE"]
    assert result.best_value == min(t.result.metrics["valid/loss"] for t in completed)
    summary = json.loads((result.folder / "summary.json").read_text())
    assert summary["trials"]["total"] == 6
    assert summary["best"]["value"] == result.best_value
    assert summary["best"]["metrics"]["test/loss"] == pytest.approx(result.best_value * 1.1)
    assert Path(summary["best"]["model_path"]).exists()
    html = (result.folder / "report.html").read_text()
    assert "plotly-graph-div" in html and "Leaderboard" in html and "Predicted vs real" in html


def test_same_seed_same_trials(card, tmp_path: Path) -> None:
    first, _ = run_quiet(card, tmp_path / "a", planner="tpe", budget=5, seed=3)
    second, _ = run_quiet(card, tmp_path / "b", planner="tpe", budget=5, seed=3)
    assert [t.config for t in first.trials] == [t.config for t in second.trials]
    assert first.trials[0].config == card_defaults()


def card_defaults() -> dict:
    return loop_support.AnalyticBackend().model_cards()[0].defaults()


def test_llm_planner_validates_repairs_and_predicts(card, tmp_path: Path) -> None:
    llm = ScriptedLLM([
        {"plans": [plan(1.0), plan(9.0), plan(2.0, kind="bogus")]},  # 9.0 is clipped to 5.0 (then crashes)
        {"plans": [plan(0.5, kind="rough", roughness=1), plan(1.5), plan(-1.0)]},
        {"plans": [plan(1.2), plan(0.8), plan(0.9)]},
    ])
    with plugins_loaded(loop_support, scripted_planner_plugin(llm)):
        result, _lines = run_quiet(card, tmp_path, planner="llm", budget=5, batch_size=2, prune=False)
    assert len(result.trials) == 5
    assert result.trials[0].config == card_defaults(), "the first candidate is the card's defaults"
    assert "Assume we have the dataset" in llm.prompts[0]
    assert "Feedback from" in llm.prompts[1], "real results feed the next prompt"
    summary = result.summary
    assert summary["sources"].get("llm", 0) >= 3
    assert summary["llm_usage"]["plans_rejected"] >= 1  # kind="bogus"
    assert summary["llm_usage"]["plans_repaired"] >= 1  # x=9 clipped
    assert "llm" in summary["predictions"]
    assert summary["best"]["config"]["x"] in (1.0, 0.8, 0.9, 1.2)
    failed = [t for t in result.trials if t.result.state.value == "FAIL"]
    assert all("diverged" in (t.result.error or "") for t in failed)


def test_garbage_llm_falls_back_to_tpe(card, tmp_path: Path) -> None:
    llm = ScriptedLLM([{"plans": "not a list"}, LLMServerError("HTTP 500"), {"nonsense": True}] * 3)
    with plugins_loaded(loop_support, scripted_planner_plugin(llm)):
        result, _ = run_quiet(card, tmp_path, planner="llm", budget=6, batch_size=2, prune=False)
    assert len(result.trials) == 6
    stats = result.summary["llm_usage"]
    assert stats["fallback_rounds"] == 3 and stats["fallback_candidates"] == 5
    assert result.summary["sources"] == {"default": 1, "tpe-fallback": 5}
    assert "fallback_rounds" in (result.folder / "report.html").read_text()


@pytest.mark.parametrize(("llm_x", "winner"), [(-4.0, "tpe"), (1.0, "llm")])
def test_source_bandit_gives_slots_to_the_source_that_wins(card, tmp_path: Path, llm_x: float, winner: str) -> None:
    # x = -4 is far from the optimum at 1 (worse than most of TPE's trials); x near 1 beats them all.
    llm = ScriptedLLM([{"plans": [plan(llm_x + 0.001 * i)]} for i in range(20)])
    with plugins_loaded(loop_support, scripted_planner_plugin(llm, share_with_tpe=True)):
        result, _ = run_quiet(card, tmp_path, planner="llm", budget=16, batch_size=1, prune=False)
    sources = result.summary["sources"]
    loser = "llm" if winner == "tpe" else "tpe"
    assert sources.get(winner, 0) > 2 * sources.get(loser, 0), sources
    assert result.summary["llm_usage"]["tpe_candidates"] == sources.get("tpe", 0)
    assert len(llm.prompts) == sources.get("llm", 0), "the LLM is asked only for the slots it gets"


def test_transferred_configs_that_keep_winning_get_the_slots_after_the_warm_start(card, tmp_path: Path) -> None:
    near = Experience("neighbour", 0.9, [{"x": 1.0 + 0.01 * i, "kind": "smooth"} for i in range(6)])
    llm = ScriptedLLM([{"plans": [plan(-4.0 + 0.001 * i)]} for i in range(20)])
    with plugins_loaded(loop_support, scripted_planner_plugin(llm, share_with_tpe=True, experience=[near])):
        result, _ = run_quiet(card, tmp_path, planner="llm", budget=12, batch_size=1, prune=False)
    sources = result.summary["sources"]
    # all six and the defaults (second in the queue): each beats the median of what came before
    assert sources["transfer"] == 7, sources
    assert result.summary["llm_usage"]["transfer_candidates"] == 7 - llm_planner.WARM_START
    assert sources.get("llm", 0) < sources["transfer"], sources


def test_failures_in_a_row_stop_the_run_cleanly(card, tmp_path: Path) -> None:
    result, lines = run_quiet(card, tmp_path, planner="random", budget=10, max_failures=2, trial_timeout_s=0.05,
                              limits={"sleep_per_step": 0.02})
    assert len(result.trials) == 2
    assert all("timed out" in t.result.error for t in result.trials)
    assert "failed in a row" in lines[-1]
    assert result.summary["trials"]["failed"] == 2


def test_pruning_stops_trials_that_fall_behind(card, tmp_path: Path) -> None:
    result, _ = run_quiet(card, tmp_path, planner="random", budget=20, seed=0, prune=True)
    states = [t.result.state.value for t in result.trials]
    assert "PRUNED" in states
    pruned = [t for t in result.trials if t.result.state.value == "PRUNED"]
    assert all(len(t.result.log) < loop_support.STEPS for t in pruned)


def test_resume_keeps_finished_trials_and_requeues_interrupted_ones(card, tmp_path: Path) -> None:
    first, _ = run_quiet(card, tmp_path, planner="tpe", budget=3, seed=2)
    settings = RunSettings.load(first.folder)
    space = loop_support.AnalyticBackend().model_cards()[0].space()
    store = RunStore(first.folder, settings, space, "minimize")
    store.enqueue(Candidate({**card_defaults(), "x": 0.25}, source="tpe"))
    store.take()  # a trial left RUNNING, as after kill -9 mid-training
    lines: list[str] = []
    resumed = resume(first.folder, budget=6, echo=lines.append)
    assert "1 interrupted" in lines[0]
    trials = resumed.trials
    assert [t.config for t in trials[:3]] == [t.config for t in first.trials], "finished trials are kept"
    assert trials[3].result.state.value == "FAIL" and "interrupted" in trials[3].result.error
    assert trials[4].config == trials[3].config and trials[4].result.state.value == "COMPLETE", "it ran again"
    assert resumed.summary["trials"] == {"total": 6, "complete": 6, "pruned": 0, "failed": 0, "retried": 1}


@pytest.mark.slow
def test_finished_runs_become_experience_for_the_next(card, tmp_path: Path) -> None:
    first, _ = run_quiet(card, tmp_path / "a", planner="tpe", budget=4, seed=5, experience=True)
    llm = ScriptedLLM([{"plans": [plan(1.1)]}] * 3)
    with plugins_loaded(loop_support, scripted_planner_plugin(llm)):
        second, lines = run_quiet(card, tmp_path / "b", planner="llm", budget=3, batch_size=1, experience=True)
    assert any(line.startswith("experience: analytic (your run, similarity") for line in lines)
    assert second.trials[0].config == first.summary["best"]["config"], "the warm start is the best config so far"
    assert second.summary["sources"]["transfer"] >= 1
    assert 'Experience from similar datasets:\n- "analytic"' in llm.prompts[0]


def test_bad_options_fail_before_any_work(card, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown planner 'nope'"):
        run_quiet(card, tmp_path, planner="nope", budget=2)
    with pytest.raises(UsageError, match="--model 'nope': no model card 'nope'"):
        run_quiet(card, tmp_path, model="nope", budget=2)
    with pytest.raises(UsageError, match="budget"):
        run_quiet(card, tmp_path, budget=0)
