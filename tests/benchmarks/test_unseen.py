"""The real-training unseen-datasets benchmark: its leave-one-family-out and its report from saved results."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import harness  # noqa: E402
import unseen  # noqa: E402
from automl_gpt.planners.knowledge import PerformanceMatrix  # noqa: E402
from suite import SUITE, families  # noqa: E402

needs_suite = pytest.mark.skipif(not (SUITE / "INDEX.md").exists(), reason="no shared suite")


@needs_suite
def test_leave_family_out_removes_every_sibling() -> None:
    matrix = PerformanceMatrix.read(unseen.MATRIX)
    friedman = [d.name for d in matrix.datasets if "_fri_c" in d.name]
    assert len(friedman) >= 2, "the shipped matrix should hold several fri_c* siblings"
    held = friedman[0]
    loo = harness.leave_family_out(matrix, held)
    kept = {d.name for d in loo.datasets}
    assert not kept & set(friedman)
    assert all(families()[name] != families()[held] for name in kept)
    others = {d.name for d in matrix.datasets if families().get(d.name, d.name) != families()[held]}
    assert kept == others  # nothing but the family left


@needs_suite
def test_stratified_subset_is_one_per_family_and_keeps_each_task() -> None:
    names = unseen.stratified_subset(unseen.suite_names(), 12, seed=0)
    assert len(names) == 12
    assert len({families()[n] for n in names}) == 12
    assert {unseen.describe(n)["task"] for n in names} == {"binary", "multiclass", "regression"}
    assert names == unseen.stratified_subset(unseen.suite_names(), 12, seed=0)


def _result(name: str, task: str, curves: dict[str, list[float]]) -> dict:
    return {"dataset": name, "task": task, "family": name, "metric": "logloss",
            "curves": {planner: {"0": curve} for planner, curve in curves.items()}, "trained": 0, "seconds": 0.0}


def test_report_only_tables_classification_and_regression_apart(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    results = [
        # default 0.5; transfer reaches the best any planner found (0.3) at its 3rd trial; random gets worse first
        _result("a", "binary", {"default": [0.5], "random": [0.9, 0.4, 0.4], "tpe": [0.5, 0.5, 0.45],
                                "transfer": [0.5, 0.5, 0.3]}),
        _result("r", "regression", {"default": [2.0], "random": [2.0, 2.0, 1.0], "tpe": [2.0, 1.5, 1.5],
                                    "transfer": [1.5, 1.5, 1.5]}),
    ]
    for item in results:
        (datasets / f"{item['dataset']}.json").write_text(json.dumps(item), encoding="utf-8")
    assert unseen.main(["--report-only", "--out", str(tmp_path), "--seeds", "0", "--budgets", "1,3"]) == 0
    table = (tmp_path / "table.md").read_text(encoding="utf-8")
    classification, regression = table.split("regression:")
    assert "1 held-out datasets" in classification
    assert "| transfer | +0.000 / 2.00 / 0% | +1.000 / 1.00 / 100% |" in classification
    assert "| random | -1.000 / 4.00 / 0% | +0.500 / 2.00 / 100% |" in classification
    assert "| transfer | +0.500 / 1.00 / 100% | +0.500 / 2.50 / 100% |" in regression
    assert "| random | +0.000 / 3.00 / 0% | +1.000 / 1.00 / 100% |" in regression
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) == {"classification", "regression"}
    assert "wrote" in capsys.readouterr().out


def test_report_only_without_results_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        unseen.main(["--report-only", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "no per-dataset results" in capsys.readouterr().err


def test_a_rerun_resumes_the_datasets_searched_with_the_same_portfolio(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from automl_gpt.planners.base import Candidate

    portfolio = [Candidate({"max_depth": 3}, source="transfer", rationale="portfolio: pool configuration #4")]
    (tmp_path / "datasets").mkdir()
    item = {**_result("a", "binary", {"default": [0.5], "random": [0.5] * 3, "tpe": [0.5] * 3,
                                      "transfer": [0.4] * 3}), "portfolio": [c.rationale for c in portfolio]}
    (tmp_path / "datasets" / "a.json").write_text(json.dumps(item), encoding="utf-8")
    args = SimpleNamespace(planners=["default", "random", "tpe", "transfer"], budgets=[1, 3], seeds=[0],
                           llm_budget=5, llm_seeds=[0])
    assert unseen.saved_result(tmp_path, "a", portfolio, args) == item
    assert unseen.saved_result(tmp_path, "b", portfolio, args) is None  # never searched
    other = [Candidate({"max_depth": 9}, source="transfer", rationale="portfolio: pool configuration #7")]
    assert unseen.saved_result(tmp_path, "a", other, args) is None  # the knowledge changed since
    assert unseen.saved_result(tmp_path, "a", portfolio, SimpleNamespace(**{**vars(args), "seeds": [0, 1]})) is None
    assert unseen.saved_result(tmp_path, "a", portfolio, SimpleNamespace(**{**vars(args), "budgets": [5]})) is None
