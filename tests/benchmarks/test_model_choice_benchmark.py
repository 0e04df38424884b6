"""The ``--model auto`` vs XGBoost benchmark: its tables from saved cells (no training)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import model_choice  # noqa: E402


def _trials(values: list[tuple[str, float, float]]) -> list[dict]:
    return [{"card": card, "state": "COMPLETE", "valid": valid, "test": test} for card, valid, test in values]


def _cells() -> list[dict]:
    """One binary dataset, planner tpe, seed 0: XGBoost's defaults 0.5; the auto run's linear model wins at trial 2."""
    base = {"dataset": "a", "task": "binary", "seed": 0}
    return [
        {**base, "key": "a|default", "planner": "default", "trials": _trials([("xgboost", 0.5, 0.6)])},
        {**base, "key": "a|tpe|xgboost|0", "planner": "tpe", "arm": "xgboost",
         "trials": _trials([("xgboost", 0.5, 0.6), ("xgboost", 0.45, 0.5), ("xgboost", 0.4, 0.55)])},
        {**base, "key": "a|tpe|auto|0", "planner": "tpe", "arm": "auto",
         "trials": _trials([("xgboost", 0.5, 0.6), ("linear", 0.3, 0.3), ("xgboost", 0.35, 0.4)])},
    ]


def test_chosen_trial_is_the_best_on_validation_within_the_budget() -> None:
    trials = _cells()[1]["trials"]
    assert model_choice.chosen(trials, 1)["valid"] == 0.5
    assert model_choice.chosen(trials, 3)["valid"] == 0.4
    failed = [{"card": "xgboost", "state": "FAIL", "valid": None, "test": None}]
    assert model_choice.chosen(failed, 1) is None


def test_card_wins_and_test_ratio_per_budget() -> None:
    items = model_choice.curves_by_dataset(_cells(), ["tpe"], [0])
    assert [i["dataset"] for i in items] == ["a"]
    assert model_choice.card_wins(items, "auto/tpe", 1, [0]) == {"xgboost": 1}
    assert model_choice.card_wins(items, "auto/tpe", 2, [0]) == {"linear": 1}
    ratio, tally = model_choice.test_ratio(items, "tpe", 1, [0])
    assert ratio == pytest.approx(1.0) and tally == [0, 1, 0]
    ratio, tally = model_choice.test_ratio(items, "tpe", 3, [0])  # auto's linear 0.3 vs xgboost's choice 0.55
    assert ratio == pytest.approx(0.3 / 0.55) and tally == [1, 0, 0]


def test_an_unfinished_dataset_is_left_out_of_the_tables() -> None:
    cells = [c for c in _cells() if c.get("arm") != "auto"]
    assert model_choice.curves_by_dataset(cells, ["tpe"], [0]) == []


def test_report_from_saved_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cells.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in _cells()), encoding="utf-8")
    args = argparse.Namespace(budgets=[1, 3], seeds=[0], planners=["tpe"])
    text = model_choice.report(model_choice.read_cells(path), args, "title")
    # normalised score: 0 = defaults (0.5), 1 = the best any row found (0.3); auto reaches it, xgboost gets 0.5
    assert "| auto/tpe | 3 | +1.000 | 1.00 | linear 1 | " in text
    assert "| xgboost/tpe | 3 | +0.500 | 2.00 | xgboost 1 |  |" in text
    assert f"{0.3 / 0.55:.4f} (1/0/0)" in text
    assert "regression" not in text
    assert text in capsys.readouterr().out
