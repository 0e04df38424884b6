"""Hostile but fair input to the run loop and its files: names that are paths, damaged studies and side files,
option values out of range. Nothing is written outside the output folder, no finished result is lost, every
refusal is one AutomlGptError."""

from __future__ import annotations

import json
import logging
import sqlite3
import types
from pathlib import Path

import pytest
from automl_gpt import hookimpl
from automl_gpt.errors import DamagedFileError, LLMAuthError, RunInterrupted, StorageError, UsageError
from automl_gpt.llm import Usage
from automl_gpt.llm.cache import CachedAnswer, LLMCache
from automl_gpt.llm.client import StructuredResponse
from automl_gpt.planners.llm_planner import LLMPlanner
from automl_gpt.runs.loop import resume, run
from automl_gpt.runs.options import SEED_MAX, RunSettings
from automl_gpt.runs.report import write_report
from automl_gpt.runs.store import check_study, new_run_id, slug
from automl_gpt.testing import plugins_loaded

from . import loop_support


@pytest.fixture
def card(tmp_path: Path):
    with plugins_loaded(loop_support):
        yield loop_support.data_card(tmp_path)


def named_card(tmp_path: Path, name: str):
    from automl_gpt.cards import load_data_card

    (tmp_path / "named.json").write_text(json.dumps(
        {"name": name, "task": "regression", "train": "analytic.csv", "target": "x"}))
    return load_data_card(tmp_path / "named.json")


def run_quiet(card, out: Path, **options):
    lines: list[str] = []
    options.setdefault("experience", False)
    options.setdefault("planner", "random")
    result = run(card, out=out, echo=lines.append, **options)
    return result, lines


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.mark.parametrize("name", [
    "../../escaped_by_name", "/tmp/absolute_by_name", "a/b/c", "x" * 300, "line\nbreak", "..", ".hidden",
    "\u00e9t\u00e9",
])
def test_a_card_name_never_places_the_run_outside_out(card, tmp_path: Path, name: str) -> None:
    hostile = named_card(tmp_path, name)
    before = files_under(tmp_path)
    out = tmp_path / "deep" / "runs"
    result, _ = run_quiet(hostile, out, budget=1)
    assert result.folder.parent == out, result.folder
    created = files_under(tmp_path) - before
    assert all(out in path.parents or path in (out, out.parent) for path in created), created
    assert [p.name for p in out.iterdir()] == [result.run_id]
    assert len(result.run_id) < 100 and "\n" not in result.run_id and "/" not in result.run_id


def test_slug_keeps_safe_names_and_cuts_the_rest() -> None:
    assert slug("adult-income_v1.2") == "adult-income_v1.2"
    assert slug("../../etc/passwd") == "etc_passwd"
    assert slug("a\nb") == "a_b" and slug("...") == "run" and len(slug("y" * 500)) == 60
    assert new_run_id("../x").startswith("x-")


def test_an_out_under_a_file_is_one_error_and_no_folder(card, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(StorageError, match=r"a_file/runs: cannot create the run folder"):
        run_quiet(card, blocker / "runs", budget=1)


@pytest.mark.parametrize(("options", "message"), [
    ({"seed": -5}, "--seed -5: must be a whole number from 0 to 4294967295"),
    ({"seed": SEED_MAX + 1}, "--seed 4294967296"),
    ({"budget": 0}, "--budget 0: must be at least 1"),
    ({"batch_size": -1}, "--batch-size -1"),
    ({"max_failures": 0}, "--max-failures 0"),
    ({"time_budget_s": 0.0}, "--time-budget 0s: must be more than 0"),
    ({"trial_timeout_s": 0.0}, "--trial-timeout 0s"),
    ({"trial_timeout_s": -3.0}, "--trial-timeout -3s"),
    ({"limits": {"max_rows": -3}}, "--limit max_rows=-3: a limit must be a number of 0 or more"),
    ({"limits": {"max_rows": float("nan")}}, "--limit max_rows=nan"),
])
def test_bad_option_values_fail_before_any_folder(card, tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        run_quiet(card, tmp_path / "runs", **{"budget": 2, **options})
    assert message in str(caught.value)
    assert not (tmp_path / "runs").exists()


def test_the_largest_seed_runs(card, tmp_path: Path) -> None:
    result, _ = run_quiet(card, tmp_path / "runs", budget=2, seed=SEED_MAX)
    assert result.summary["trials"]["complete"] == 2


@pytest.fixture
def finished(card, tmp_path: Path):
    result, _ = run_quiet(card, tmp_path / "runs", budget=3, seed=1, planner="tpe")
    return result


@pytest.mark.parametrize("damage", ["empty", "missing", "garbage", "truncated"])
def test_a_damaged_study_never_overwrites_the_finished_summary(finished, damage: str) -> None:
    study = finished.folder / "study.db"
    summary = (finished.folder / "summary.json").read_bytes()
    for extra in ("study.db-wal", "study.db-shm"):
        (finished.folder / extra).unlink(missing_ok=True)
    if damage == "empty":
        study.write_bytes(b"")
    elif damage == "missing":
        study.unlink()
    elif damage == "garbage":
        study.write_bytes(b"this is not a database\n" * 100)
    else:
        study.write_bytes(study.read_bytes()[:2048])
    settings = RunSettings.load(finished.folder)
    with pytest.raises(DamagedFileError, match=r"study.db: damaged or unreadable .*restore study.db from a backup"):
        check_study(finished.folder, settings)
    with pytest.raises(DamagedFileError):
        resume(finished.folder, echo=lambda line: None)
    assert (finished.folder / "summary.json").read_bytes() == summary
    assert sorted(p.name for p in (finished.folder / "trials").iterdir()) == ["0000", "0001", "0002"]


def test_a_report_from_a_study_with_fewer_trials_is_refused(finished, tmp_path: Path) -> None:
    from automl_gpt.runs.loop import prepare
    from automl_gpt.runs.store import RunStore

    settings = RunSettings.load(finished.folder)
    summary = json.loads((finished.folder / "summary.json").read_text())
    summary["trials"]["total"] = 7
    (finished.folder / "summary.json").write_text(json.dumps(summary))
    experiment = prepare(settings.card, backend=settings.backend, model=settings.model, seed=settings.seed)
    store = RunStore(finished.folder, settings, experiment.context.space, "minimize")
    with pytest.raises(DamagedFileError, match=r"holds 3 finished trial.*records 7"):
        write_report(finished.folder, store, experiment, settings)
    assert json.loads((finished.folder / "summary.json").read_text())["trials"]["total"] == 7


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00garbage", b"[1, 2]", b'{"run_id": 3}'])
def test_a_damaged_run_json_is_one_error(finished, content: bytes) -> None:
    (finished.folder / "run.json").write_bytes(content)
    with pytest.raises(DamagedFileError, match=r"run.json: damaged or unreadable"):
        RunSettings.load(finished.folder)


def test_resume_honours_a_new_budget_and_counts_interrupted_trials_once(finished) -> None:
    lines: list[str] = []
    resumed = resume(finished.folder, budget=5, echo=lines.append)
    assert resumed.summary["trials"]["total"] == 5
    progress = [line for line in lines if line.startswith("trial ")]
    assert [line.split()[1] for line in progress] == ["4/5", "5/5"]
    assert "ETA 0:00:00" in progress[-1]


def test_ctrl_c_says_that_trials_are_kept_and_how_to_resume(card, tmp_path: Path) -> None:
    def interrupt(line: str) -> None:
        if line.startswith("trial 2/"):
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as caught:
        run(card, out=tmp_path / "runs", planner="random", budget=4, experience=False, echo=interrupt)
    folder = next((tmp_path / "runs").iterdir())
    assert str(caught.value) == (f"interrupted: finished trials are kept in {folder}; continue with "
                                 f"'automl-gpt run --resume {folder}'")
    assert resume(folder, echo=lambda line: None).summary["trials"]["total"] == 4


def test_a_damaged_llm_cache_is_moved_aside_and_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "llm_cache.sqlite"
    path.write_bytes(b"garbage that is not SQLite" * 50)
    with caplog.at_level(logging.WARNING, logger="automl_gpt.llm.cache"):
        cache = LLMCache(path)
    cache.put("k", "p", CachedAnswer("text", {"a": 1}, Usage(1, 1, None, 0.0), "m"))
    assert cache.get("k") is not None
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("llm_cache.sqlite.damaged-")]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"garbage")
    assert f"the LLM cache {path} was damaged" in caplog.text and "started empty" in caplog.text


def test_a_cache_of_another_schema_is_rebuilt_too(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, other TEXT)")
    cache = LLMCache(path)
    assert cache.stats()["entries"] == 0


def test_an_llm_cache_that_cannot_be_created_is_one_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(StorageError, match=r"cannot open the LLM response cache.*--no-cache"):
        LLMCache(blocker / "cache.sqlite")


class ClippingLLM(loop_support.ScriptedLLM):
    """A scripted LLM whose client clipped a value into the schema (as LLMClient does before the planner sees it)."""

    def generate_json(self, prompt, schema, *, system=None, settings=None):
        answer = super().generate_json(prompt, schema, system=system, settings=settings)
        return StructuredResponse(answer.text, answer.usage, answer.model, answer.data,
                                  repairs=["plans/0/hyperparameters/lr: 1000 lowered to maximum 1.0"])


def test_values_the_client_clipped_count_as_repaired_plans(card) -> None:
    from automl_gpt.runs.loop import prepare

    context = prepare(card).context
    llm = ClippingLLM([{"plans": [loop_support.plan(1.0, lr=1.0), loop_support.plan(2.0)]}])
    planner = LLMPlanner(context, client=llm, start_with_default=False, share_with_tpe=False)
    candidates = planner.ask(2)
    assert planner.stats()["plans_repaired"] == 1
    assert candidates[0].repairs == ["plans/0/hyperparameters/lr: 1000 lowered to maximum 1.0"]
    assert candidates[1].repairs == []


def test_a_refused_api_key_stops_the_run_instead_of_running_tpe(card, tmp_path: Path) -> None:
    llm = loop_support.ScriptedLLM([LLMAuthError("openai: HTTP 401: invalid API key")])
    planner = types.SimpleNamespace(plan_trials=hookimpl(tryfirst=True)(
        lambda name, context: LLMPlanner(context, client=llm, share_with_tpe=False) if name == "llm" else None))
    with plugins_loaded(loop_support, planner), pytest.raises(LLMAuthError, match="invalid API key"):
        run_quiet(card, tmp_path / "runs", planner="llm", budget=3, batch_size=1)
