"""Each tabular model card is served the performance matrix mined with it: a ``--model linear`` run says it uses
the linear matrix and starts from that matrix's portfolio; a ``--model auto`` run gets the portfolio and the
``matrix`` predictions of every card the backend ships a matrix for."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from automl_gpt.cards.model_choice import MODEL_PARAM, ModelChoice
from automl_gpt.cards.similarity import CardEmbedder, text_encoder_installed
from automl_gpt.planners.base import Candidate
from automl_gpt.planners.knowledge import shipped_matrix
from automl_gpt.planners.predictor import predictor_for
from automl_gpt.runs import loop
from automl_gpt.runs.experience import ExperienceStore

pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from suite import SUITE, pmlb_card

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (SUITE / "haberman.json").exists(), reason="no shared suite")]
DATASET = "haberman"  # 306 rows, binary: the linear card's binary variant (C, penalty)
TINY = {"max_rows": 600, "threads": 1}


def test_a_linear_run_uses_the_linear_matrix_and_starts_from_its_portfolio(tmp_path: Path) -> None:
    card = pmlb_card(DATASET)
    said: list[str] = []
    result = loop.run(card, model="linear", planner="transfer", budget=1, out=tmp_path / "runs", limits=TINY,
                      ensemble=False, echo=said.append)
    linear = loop.prepare(card, model="linear").model_card
    found = shipped_matrix(linear)
    assert found is not None and found[0].name == "linear_matrix.json.gz" and found[1].card == "linear"
    shape = rf"linear \({len(found[1].datasets)} datasets x {len(found[1].configs)} configurations\)"
    assert any(re.search(r"^knowledge: a portfolio of \d+ first configurations learned from the shipped "
                         rf"performance matrix of {shape}; first: ", line) for line in said), said
    portfolio = ExperienceStore(embedder=CardEmbedder(text=text_encoder_installed())).portfolio(card, linear)
    assert portfolio[0].config != linear.defaults(), "a dataset where the portfolio's first pick is not the defaults"
    assert result.trials[0].config == portfolio[0].config
    assert result.trials[0].result.state.value == "COMPLETE"


def test_an_auto_run_gets_every_mined_card_portfolio_and_predictions() -> None:
    card = pmlb_card(DATASET)
    experiment = loop.prepare(card, model="auto")
    choice = experiment.model_card
    assert isinstance(choice, ModelChoice)
    mined = [m.name for m in choice.members if shipped_matrix(m) is not None]
    assert {"xgboost", "linear"} <= set(mined)
    said: list[str] = []
    experience, portfolio = loop.load_experience(experiment, said.append)
    assert [c.config[MODEL_PARAM] for c in portfolio[: len(mined)]] == mined, "each card's first pick, in turn"
    assert all(choice.space().contains(c.config) for c in portfolio)
    assert any(line.startswith("knowledge: ") and f"matrices of {mined[0]} (" in line for line in said), said
    assert {e.configs[0][MODEL_PARAM] for e in experience} == set(mined)
    predictor = predictor_for(experiment.context)
    for member in mined:
        first = next(c for c in portfolio if c.config[MODEL_PARAM] == member)
        prediction = predictor.predict(Candidate(first.config, source="test"))
        assert prediction is not None and prediction.predictor == "matrix", member
