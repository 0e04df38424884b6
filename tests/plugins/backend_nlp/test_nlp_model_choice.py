"""A mixed-architecture QA run on the bundled SQuAD slice: ``--model auto`` trains each reader card once (TPE
starts from every card's defaults), each trial with its own card, and the report compares them (F1, maximised)."""

from __future__ import annotations

from pathlib import Path

import pytest
from automl_gpt.cards.model_choice import MODEL_PARAM
from automl_gpt.runs import loop

pytestmark = pytest.mark.slow

TINY = {"max_train_examples": 8, "max_eval_examples": 4, "max_steps": 1, "evaluations": 1}


def test_auto_run_trains_every_reader_card(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # uncached backbones fall back to the packaged MiniLM, in one line
    result = loop.run(repo / "examples" / "squad" / "card.yaml", model="auto", planner="tpe", budget=3,
                      out=tmp_path / "runs", limits=TINY, experience=False, echo=lambda _: None)
    cards = ["distilbert-squad-qa", "minilm-l6-qa", "distilbert-base-uncased-qa"]
    assert [t.config[MODEL_PARAM] for t in result.trials] == cards
    assert all(t.result.state.value == "COMPLETE" for t in result.trials), [t.result.error for t in result.trials]
    table = result.summary["models"]
    assert list(table) == cards and all(row["complete"] == 1 for row in table.values())
    best = max(table.values(), key=lambda row: row["best_value"])
    assert result.best_value == pytest.approx(best["best_value"])  # F1 is maximised: the best card is the highest
