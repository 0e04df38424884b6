"""The run's ensemble from the command line: built after a tabular run with one line, kept in summary.json and
the report beside the best trial, served by predict, rebuilt by 'automl-gpt ensemble RUN', off with --no-ensemble."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from automl_gpt.cards import load_data_card
from automl_gpt.runs.loop import run
from automl_gpt_backend_tabular import data
from automl_gpt_backend_tabular.trainer import score

from .cli_support import cli, one_line_error

pytestmark = pytest.mark.slow

SMALL = {"max_rows": 1500, "max_rounds": 30, "threads": 2}


@pytest.fixture(scope="module")
def adult_run(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A finished four-trial TPE run on the shipped Adult card, with its terminal lines."""
    out = tmp_path_factory.mktemp("runs")
    lines: list[str] = []
    result = run(repo / "examples" / "adult" / "card.yaml", planner="tpe", budget=4, out=out, limits=SMALL,
                 experience=False, echo=lines.append)
    summary = json.loads((result.folder / "summary.json").read_text())
    return {"folder": result.folder, "lines": lines, "summary": summary}


def test_the_run_builds_its_ensemble_says_so_and_reports_it(adult_run: dict[str, Any]) -> None:
    said = [line for line in adult_run["lines"] if line.startswith("ensemble of ")]
    assert len(said) == 1
    summary = adult_run["summary"]
    ensemble, best = summary["ensemble"], summary["best"]
    assert ensemble["best_trial"] == best["trial"]
    assert ensemble["value"] <= best["value"] + 1e-9
    assert ensemble["served"] == (ensemble["value"] < ensemble["best_metrics"]["valid/logloss"])
    assert abs(sum(m["weight"] for m in ensemble["members"]) - 1.0) < 1e-9
    assert {"test/logloss", "test/accuracy"} <= set(ensemble["metrics"])
    assert Path(ensemble["model_path"]).name == "ensemble.json"
    assert ("predict serves the ensemble" in said[0]) == ensemble["served"]
    assert "Ensemble of trials" in (adult_run["folder"] / "report.html").read_text(encoding="utf-8")


def test_predict_serves_the_ensemble_it_built(adult_run: dict[str, Any], repo: Path, tmp_path: Path) -> None:
    folder, ensemble = adult_run["folder"], adult_run["summary"]["ensemble"]
    test_file = repo / "examples" / "adult" / "adult.test.gz"
    by_model = cli("predict", folder, test_file, "--model", ensemble["model_path"], "--out", tmp_path / "e.csv")
    assert by_model.returncode == 0, by_model.stderr
    card = load_data_card(repo / "examples" / "adult" / "card.yaml")
    truth = data.load_split(card, "test", ["<=50K", ">50K"]).target
    proba = pd.read_csv(tmp_path / "e.csv")["proba_>50K"].to_numpy()
    assert score("binary", truth, proba, 2)["logloss"] == pytest.approx(ensemble["metrics"]["test/logloss"], rel=1e-5)
    default = cli("predict", folder, test_file, cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    served = "ensemble" if ensemble["served"] else f"trial{adult_run['summary']['best']['trial']}"
    assert Path(default.stdout.strip()).name == f"adult-{served}.csv"


def test_ensemble_command_rebuilds_it_and_refuses_bad_rounds(adult_run: dict[str, Any]) -> None:
    folder = adult_run["folder"]
    done = cli("ensemble", folder.name, "--rounds", "5", "--out", folder.parent)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == folder / "ensemble" / "ensemble.json"
    assert done.stderr.startswith("ensemble of ") and done.stderr.count("\n") == 1
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["ensemble"]["rounds"] == 5
    assert "--rounds 0" in one_line_error(cli("ensemble", folder, "--rounds", "0"))


def test_no_ensemble_turns_it_off(repo: Path, tmp_path: Path) -> None:
    done = cli("run", repo / "examples" / "adult" / "card.yaml", "--planner", "tpe", "--budget", "1",
               "--no-experience", "--no-ensemble", "--out", tmp_path, *[f"--limit={k}={v}" for k, v in SMALL.items()])
    assert done.returncode == 0, done.stderr
    assert "ensemble of" not in done.stderr
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "summary.json").read_text())["ensemble"] is None
    assert not (folder / "ensemble").exists()
