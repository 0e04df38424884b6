"""A run's settings are declared once (:class:`RunSettings`): the ``run`` command's options, the loop's keyword
arguments and what the run folder and the study store are the same set, and ``--resume`` restores every one."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import optuna
import pytest
from automl_gpt.cli.run_cmd import plan as plan_command
from automl_gpt.cli.run_cmd import run as run_command
from automl_gpt.errors import UsageError
from automl_gpt.runs import loop
from automl_gpt.runs.options import SETTINGS_FILE, RunSettings, default_of, resumable, user_options
from automl_gpt.runs.store import SETTINGS_ATTR
from automl_gpt.testing import plugins_loaded

from . import loop_support

RUN_COMMAND_ONLY = {"card", "out", "resume_folder"}  # the command's argument and where runs go: not settings
PYTHON_ONLY = {"heartbeat_s"}  # settings with no command-line option


def chosen(tmp_path: Path) -> dict[str, Any]:
    """A value other than the default for every setting a user chooses."""
    return {
        "budget": 2, "time_budget_s": 3600.0, "planner": "random", "llm": "openai:unused", "backend": "analytic",
        "model": "quadratic", "seed": 7, "batch_size": 3, "max_failures": 4, "trial_timeout_s": 600.0,
        "limits": {"sleep_per_step": 0}, "prune": False, "llm_cache": False, "experience": False, "ensemble": False,
        "storage": f"sqlite:///{tmp_path / 'shared.db'}", "study_name": "named-study", "heartbeat_s": 7,
    }


def test_the_command_line_the_loop_and_the_store_have_the_same_settings(tmp_path: Path) -> None:
    options = {f.name for f in user_options()}
    assert {p.name for p in run_command.params} - RUN_COMMAND_ONLY == options - PYTHON_ONLY
    assert {f.name for f in user_options() if not f.metadata["flag"]} == PYTHON_ONLY
    defaults = {f.name: default_of(f) for f in user_options()}
    assert set(chosen(tmp_path)) == options  # a new setting needs a value in the tests below
    assert [name for name, value in chosen(tmp_path).items() if value == defaults[name]] == []
    stored = RunSettings(**chosen(tmp_path)).to_dict()
    assert set(stored) == {f.name for f in fields(RunSettings)}  # every setting, and what the run records
    assert RunSettings.from_dict(json.loads(json.dumps(stored))) == RunSettings(**chosen(tmp_path))


def test_the_command_line_reads_each_option_as_its_setting() -> None:
    typed = ["card.yaml", "--budget", "4", "--time-budget", "20m", "--trial-timeout", "90", "--limit",
             "max_rows=5000", "--limit", "kind=fast", "--no-prune", "--no-cache", "--no-experience", "--no-ensemble",
             "--study", "s", "--llm", "openai:gpt-4o-mini", "--model", "auto", "--seed", "3"]
    params = run_command.make_context("run", typed).params
    settings = RunSettings.from_options(**{k: v for k, v in params.items() if k not in RUN_COMMAND_ONLY})
    assert settings == RunSettings(
        budget=4, time_budget_s=1200.0, trial_timeout_s=90.0, limits={"max_rows": 5000, "kind": "fast"},
        prune=False, llm_cache=False, experience=False, ensemble=False, study_name="s", llm="openai:gpt-4o-mini",
        model="auto", seed=3)
    assert RunSettings.from_options(**{k: v for k, v in run_command.make_context("run", []).params.items()
                                       if k not in RUN_COMMAND_ONLY}) == RunSettings()
    plan_params = plan_command.make_context("plan", ["card.yaml", "--no-experience", "--llm", "x"]).params
    assert (plan_params["experience"], plan_params["llm"], plan_params["llm_cache"]) == (False, "x", True)


def test_bad_values_and_unknown_names_are_one_clear_error() -> None:
    with pytest.raises(UsageError, match=r"^unknown run option\(s\) budgt \(known: budget, time_budget_s, "):
        RunSettings.from_options(budgt=3)
    with pytest.raises(UsageError, match=r"^--batch-size 0: must be at least 1"):
        RunSettings.from_options(batch_size=0)
    with pytest.raises(UsageError, match=r"^--limit max_rows=-1: a limit must be a number of 0 or more"):
        RunSettings.from_options(limits={"max_rows": -1})
    assert RunSettings.from_options(limits=None, budget=None) == RunSettings()  # None: the default


def test_a_run_stores_every_setting_and_resume_restores_every_one(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    options = chosen(tmp_path)
    with plugins_loaded(loop_support):
        first = loop.run(loop_support.data_card(tmp_path), out=tmp_path / "runs", echo=lambda _: None, **options)
        saved = json.loads((first.folder / SETTINGS_FILE).read_text())
        assert set(saved) == {f.name for f in fields(RunSettings)}
        assert {name: saved[name] for name in options} == options
        study = optuna.load_study(study_name="named-study", storage=options["storage"])
        assert study.user_attrs[SETTINGS_ATTR] == saved  # workers read the same settings from the study

        used: list[RunSettings] = []
        construct = loop.Loop.__init__

        def spy(self: loop.Loop, experiment: loop.Experiment, settings: RunSettings, *args: Any) -> None:
            used.append(settings)
            construct(self, experiment, settings, *args)

        monkeypatch.setattr(loop.Loop, "__init__", spy)
        resumed = loop.resume(first.folder, budget=3, echo=lambda _: None)
    assert used == [replace(RunSettings.from_dict(saved), budget=3)]
    assert RunSettings.load(first.folder) == used[0]
    assert len(resumed.trials) == 3 and resumed.summary["planner"] == "random" and resumed.summary["seed"] == 7
    assert resumable() == ["budget", "time_budget_s", "max_failures", "trial_timeout_s"]
    with pytest.raises(UsageError, match=r"^a resumed run keeps its planner; only budget, time_budget_s, "):
        loop.resume(first.folder, planner="tpe")
