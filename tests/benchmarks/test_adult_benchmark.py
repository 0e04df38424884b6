"""The UCI Adult benchmark's bookkeeping: one search per seed read by every budget, results saved per cell, and a
rerun that skips the finished cells and reuses the saved searches."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import adult  # noqa: E402

pytestmark = pytest.mark.slow


def test_budgets_read_one_search_and_a_rerun_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--quick", "--planners", "tpe", "--ensemble", "--threads", "1", "--no-thread-check", "--out",
            str(tmp_path)]
    adult.main(argv)
    rows = json.loads((tmp_path / "results.json").read_text())
    assert {(r["method"], r["budget"], r["seed"]) for r in rows} == {("tpe", 3, 0), ("tpe+ensemble", 3, 0)}
    trials = json.loads((tmp_path / "tpe-s0-trials.json").read_text())
    assert len(trials) == 3 and len(list((tmp_path / "tpe-s0").iterdir())) == 3
    ensemble = next(r for r in rows if r["method"] == "tpe+ensemble")
    assert ensemble["valid_logloss"] <= ensemble["config"]["best_valid_logloss"], "never worse on validation"
    capsys.readouterr()

    folders = sorted(p.name for p in tmp_path.iterdir())
    adult.main(argv)
    assert "resuming: 2 rows" in capsys.readouterr().out
    assert json.loads((tmp_path / "results.json").read_text()) == rows, "finished cells are not run again"
    assert sorted(p.name for p in tmp_path.iterdir()) == folders, "no new search or refit"

    (tmp_path / "results.json").write_text(json.dumps([r for r in rows if r["method"] == "tpe"]))
    adult.main(argv)
    out = capsys.readouterr().out
    assert "3 trials read from" in out, "the saved search is reused for the missing ensemble cell"
    again = json.loads((tmp_path / "results.json").read_text())
    assert _without_time(again) == _without_time(rows), "the same search gives the same ensemble row"


def _without_time(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]
