"""``automl-gpt run``, ``runs`` and ``report`` given hostile input, through the real command line: one error line,
honest exit codes, nothing written outside ``--out``, no finished result lost."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .cli_support import SWITCHES, one_line_error
from .cli_support import cli as run_cli


def cli(*args: str | Path, **options: Any) -> subprocess.CompletedProcess[str]:
    """The command line with the tabular backend only (these runs train XGBoost on a small table)."""
    options.setdefault("plugins", "backend_tabular")
    return run_cli(*args, **options)


def write_table(folder: Path, rows: int = 80) -> Path:
    path = folder / "data.csv"
    lines = ["age,hours,label"] + [f"{20 + i % 40},{(i * 7) % 50},{'yes' if (i * 5) % 7 < 3 else 'no'}"
                                    for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_card(folder: Path, name: str = "toy") -> Path:
    write_table(folder)
    card = folder / "card.json"
    card.write_text(json.dumps({"name": name, "task": "binary", "train": "data.csv", "target": "label"}))
    return card


RUN = ("--planner", "random", "--no-experience", "--out", "runs")


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run whose card's name is a path (``../../escaped_by_name``), made once for the module."""
    base = tmp_path_factory.mktemp("finished")
    write_card(base, "../../escaped_by_name")
    result = cli("run", "card.json", "--budget", "2", *RUN, cwd=base)
    assert result.returncode == 0, result.stderr
    return base


@pytest.fixture
def workdir(finished: Path, tmp_path: Path) -> Path:
    """A private copy of the finished run's folder tree."""
    target = tmp_path / "work"
    shutil.copytree(finished, target)
    return target


def only_run(workdir: Path) -> Path:
    (folder,) = (workdir / "runs").iterdir()
    return folder


def test_a_name_that_is_a_path_stays_inside_out_and_is_listed(finished: Path) -> None:
    assert sorted(p.name for p in finished.iterdir()) == ["card.json", "data.csv", "runs"]
    assert not (finished.parent.parent / "escaped_by_name").exists()
    folder = only_run(finished)
    assert folder.name.startswith("escaped_by_name-")
    listed = cli("runs", "list", cwd=finished)
    assert listed.returncode == 0 and listed.stdout.startswith(f"{folder.name}  planner=random  trials=2/2  best=")


@pytest.mark.parametrize("damage", ["empty", "garbage"])
def test_report_and_resume_refuse_a_damaged_study(workdir: Path, damage: str) -> None:
    folder = only_run(workdir)
    summary = (folder / "summary.json").read_bytes()
    for extra in ("study.db-wal", "study.db-shm"):
        (folder / extra).unlink(missing_ok=True)
    (folder / "study.db").write_bytes(b"" if damage == "empty" else b"\x00garbage\xff" * 500)
    for args in (("report", folder.name), ("run", "--resume", f"runs/{folder.name}")):
        line = one_line_error(cli(*args, cwd=workdir))
        assert "study.db: damaged or unreadable" in line and "restore study.db from a backup" in line
    assert (folder / "summary.json").read_bytes() == summary
    assert sorted(p.name for p in (folder / "trials").iterdir()) == ["0000", "0001"]


def test_runs_list_shows_damaged_runs_beside_good_ones(workdir: Path) -> None:
    good = only_run(workdir)
    damages = (("bad-settings", "run.json", b"{truncated"), ("bad-summary", "summary.json", b"\xff\xfe"),
               ("odd-summary", "summary.json", b'{"trials": {"total": 2}, "best": [1]}'))
    for name, file, content in damages:
        shutil.copytree(good, workdir / "runs" / name)
        (workdir / "runs" / name / file).write_bytes(content)
    result = cli("runs", "list", cwd=workdir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("bad-settings  damaged: ") and "run.json: damaged or unreadable" in lines[0]
    assert lines[1].startswith("bad-summary  damaged: ") and "automl-gpt report" in lines[1]
    assert lines[2].startswith(good.name) and len(lines) == 4
    assert lines[3] == f"{good.name}  planner=random  trials=2/2  best=-"
    shown = cli("runs", "show", "bad-summary", cwd=workdir)
    assert "summary.json: damaged or unreadable" in one_line_error(shown)


def test_resume_honours_budget_and_says_what_it_ignores(workdir: Path) -> None:
    folder = only_run(workdir)
    line = one_line_error(cli("run", "card.json", "--resume", f"runs/{folder.name}", cwd=workdir))
    assert line == "error: pass either CARD or --resume, not both (the resumed run keeps its card; drop card.json)"
    result = cli("run", "--resume", f"runs/{folder.name}", "--budget", "3", "--seed", "4", "--planner", "tpe",
                 cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "--resume keeps the run's own settings; ignored: --planner, --seed" in result.stderr
    assert "trial 3/3" in result.stderr
    assert json.loads((folder / "summary.json").read_text())["trials"]["total"] == 3


@pytest.mark.parametrize(("args", "expected"), [
    (["--seed", "-5"], "error: --seed -5: must be a whole number from 0 to 4294967295"),
    (["--seed", "4294967296"], "error: --seed 4294967296: must be a whole number from 0 to 4294967295"),
    (["--trial-timeout", "0s"], "error: --trial-timeout 0s: must be more than 0 (e.g. --trial-timeout 5m)"),
    (["--time-budget", "0s"], "error: --time-budget 0s: must be more than 0"),
    (["--limit", "max_rows=-3"], "error: --limit max_rows=-3: a limit must be a number of 0 or more"),
    (["--max-failures", "0"], "error: --max-failures 0: must be at least 1"),
    (["--budget", "-1"], "error: --budget -1: must be at least 1"),
])
def test_bad_option_values_exit_2_before_any_folder(tmp_path: Path, args: list[str], expected: str) -> None:
    write_card(tmp_path)
    assert one_line_error(cli("run", "card.json", *RUN, *args, cwd=tmp_path)).startswith(expected)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("n", ["0", "-3"])
def test_plan_n_must_be_at_least_one(tmp_path: Path, n: str) -> None:
    write_card(tmp_path)
    assert one_line_error(cli("plan", "card.json", "--n", n, cwd=tmp_path)) == (
        f"error: --n {n}: must be at least 1 (e.g. --n 3)")


def test_plan_with_a_search_planner_prints_its_candidates_and_their_predicted_logs(tmp_path: Path) -> None:
    write_card(tmp_path)
    result = cli("plan", "card.json", "--planner", "random", "--n", "2", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["planner"], answer["prompt"]) == ("random", None)
    assert [plan["source"] for plan in answer["plans"]] == ["random", "random"]
    assert answer["plans"][0]["config"] != answer["plans"][1]["config"]
    for plan in answer["plans"]:  # the shipped performance matrix predicts before any trial
        assert [p["predictor"] for p in plan["predictions"]] == ["matrix"]
        assert plan["predictions"][0]["log"], plan
    assert not list(tmp_path.glob("runs"))  # plan trains nothing and writes no run


def test_plan_refuses_an_unknown_planner_before_any_work(tmp_path: Path) -> None:
    write_card(tmp_path)
    assert one_line_error(cli("plan", "card.json", "--planner", "tpee", cwd=tmp_path)).startswith(
        "error: unknown planner 'tpee' (known: default, llm, random, tpe, transfer;")


def test_a_run_where_no_trial_completes_exits_3(tmp_path: Path) -> None:
    write_card(tmp_path)
    result = cli("run", "card.json", "--planner", "random", "--no-experience", "--budget", "4", "--max-failures", "2",
                 "--trial-timeout", "0.001s", cwd=tmp_path)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "stopping: 2 trials failed in a row" in result.stderr
    assert "no trial completed (exit code 3)" in result.stderr and "Traceback" not in result.stderr
    assert (only_run(tmp_path) / "summary.json").exists()


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["run", "card.json", *RUN[:-1], "a_file/runs"], {}, "error: a_file/runs: cannot create the run folder"),
    (["keys", "set", "openai", "--value", "sk-test-1234567890"], {"AUTOML_GPT_HOME": "a_file/home"},
     "error: a_file/home: Not a directory"),
])
def test_unwritable_places_are_one_line(tmp_path: Path, args: list[str], env: dict[str, str], expected: str) -> None:
    write_card(tmp_path)
    (tmp_path / "a_file").write_text("")
    assert one_line_error(cli(*args, cwd=tmp_path, env=env), code=1).startswith(expected)


def test_ctrl_c_says_how_to_resume_and_exits_130(tmp_path: Path) -> None:
    write_card(tmp_path)
    environment = {k: v for k, v in os.environ.items() if k not in SWITCHES}
    environment["AUTOML_GPT_LOAD_PLUGINS"] = "backend_tabular"
    process = subprocess.Popen(
        [sys.executable, "-m", "automl_gpt", "run", "card.json", *RUN, "--budget", "500"], cwd=tmp_path,
        env=environment, stderr=subprocess.PIPE, text=True,
        # a shell's background job (a CI runner's, say) ignores SIGINT, and so would the child: Ctrl-C as in a terminal
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("trial 2/500"):
            process.send_signal(signal.SIGINT)
            break
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130, rest
    folder = Path("runs") / only_run(tmp_path).name
    assert rest.strip().splitlines()[-1] == (f"interrupted: finished trials are kept in {folder}; continue with "
                                             f"'automl-gpt run --resume {folder}'")
    assert "Traceback" not in rest
