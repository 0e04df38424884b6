"""Mixed-architecture runs on the bundled UCI Adult: ``--model auto`` trains several model cards in one study,
the report compares them, resume continues the mixed study, predict serves whichever card won, and naming one card
keeps the single-card run exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from automl_gpt.cards.model_choice import MODEL_PARAM
from automl_gpt.runs import loop

from .cli_support import cli, one_line_error

pytestmark = pytest.mark.slow

TINY = {"max_rows": 1200, "max_rounds": 30, "threads": 2}


def test_auto_run_mixes_cards_reports_them_resumes_and_predicts(repo: Path, tmp_path: Path) -> None:
    card = repo / "examples" / "adult" / "card.yaml"
    first = loop.run(card, model="auto", planner="random", budget=5, seed=3, out=tmp_path / "runs", limits=TINY,
                     experience=False, echo=lambda _: None)
    models = [t.config[MODEL_PARAM] for t in first.trials]
    assert len(set(models)) >= 2, models  # the random planner draws the architecture too
    assert first.summary["model"] == "xgboost,hist_gradient_boosting,linear"
    table = first.summary["models"]
    assert list(table) == ["xgboost", "hist_gradient_boosting", "linear"]
    assert sum(row["trials"] for row in table.values()) == 5
    for name in set(models):
        assert table[name]["complete"] == models.count(name) and table[name]["best_value"] is not None
    assert "Model cards compared" in (first.folder / "report.html").read_text(encoding="utf-8")
    best_card = first.best_config[MODEL_PARAM] if first.best_config else None
    assert table[best_card]["best_value"] == pytest.approx(first.best_value)

    resumed = loop.resume(first.folder, budget=8, echo=lambda _: None)
    assert len(resumed.trials) == 8 and sum(r["trials"] for r in resumed.summary["models"].values()) == 8
    for trial in resumed.trials:  # every trial trained the card its configuration names, with that card's metrics
        assert trial.result.state.value == "COMPLETE", trial.result.error
        saved = json.loads((Path(trial.result.artifacts["config"])).read_text(encoding="utf-8"))
        assert saved["model_card"] == trial.config[MODEL_PARAM]
        assert {"valid/logloss", "valid/accuracy", "test/logloss", "test/accuracy"} <= set(trial.result.metrics)

    test_file = repo / "examples" / "adult" / "adult.test.gz"
    for trial in resumed.trials[:3]:
        result = cli("predict", resumed.folder, test_file, "--trial", str(trial.number), "--out",
                     tmp_path / f"p{trial.number}.csv", plugins="backend_tabular")
        assert result.returncode == 0, result.stderr
        assert (tmp_path / f"p{trial.number}.csv").read_text().count("\n") == 16282


def test_named_cards_and_single_card_runs(repo: Path, tmp_path: Path) -> None:
    card = repo / "examples" / "adult" / "card.yaml"
    pair = loop.run(card, model="linear,hist_gradient_boosting", planner="tpe", budget=3, out=tmp_path / "runs",
                    limits=TINY, experience=False, echo=lambda _: None)
    assert pair.trials[0].config[MODEL_PARAM] == "linear"  # TPE starts from the defaults: the first card's
    assert set(pair.summary["models"]) == {"linear", "hist_gradient_boosting"}
    single = loop.run(card, model="xgboost", planner="tpe", budget=1, out=tmp_path / "runs", limits=TINY,
                      experience=False, echo=lambda _: None)
    assert MODEL_PARAM not in single.trials[0].config and single.summary["models"] is None
    assert single.summary["model"] == "xgboost"


def test_unknown_card_in_a_list_is_one_error_line(repo: Path, tmp_path: Path) -> None:
    result = cli("run", repo / "examples" / "adult" / "card.yaml", "--model", "xgboost,forest", "--budget", "1",
                 "--no-experience", "--out", tmp_path / "runs", plugins="backend_tabular")
    assert one_line_error(result).startswith(
        "error: --model 'xgboost,forest': no model card 'forest' for task 'binary'")
    assert not (tmp_path / "runs").exists()
