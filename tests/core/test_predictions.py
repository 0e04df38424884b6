"""Predicted training logs: impossible LLM predictions rejected and recorded, the matrix predictor, honest scoring."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.cards.similarity import CardProfile
from automl_gpt.planners.base import Candidate, PastTrial, PlanningContext, Prediction
from automl_gpt.planners.knowledge import MatrixDataset, PerformanceMatrix
from automl_gpt.planners.llm_planner import LLMPlanner
from automl_gpt.planners.plausibility import implausible, plausible_range
from automl_gpt.planners.predictor import MatrixPredictor, expected_improvement
from automl_gpt.runs.report import prediction_quality, render_html
from automl_gpt.training import Objective, TrialResult, TrialState

from tests.core.loop_support import ScriptedLLM

LOGLOSS = Objective("logloss", "minimize")
SPACE = {
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True, "default": 0.3},
    "max_depth": {"type": "int", "low": 2, "high": 12, "default": 6},
}


def binary_context(tmp_path: Path) -> PlanningContext:
    card = DataCard(name="toy", task="binary", train=str(tmp_path / "t.csv"), target="y",
                    label_space=["no", "yes"], class_balance={"no": 0.5, "yes": 0.5})
    model = card_from_mapping(ModelCard, {"name": "toy", "backend": "toy", "tasks": ["binary"],
                                          "search_space": SPACE})
    return PlanningContext(card, model, model.space(), LOGLOSS)


def llm_plan(depth: int, curve: list[Any]) -> dict[str, Any]:
    return {"hyperparameters": {"learning_rate": 0.1, "max_depth": depth}, "predicted_valid_logloss": curve,
            "rationale": "scripted"}


@pytest.mark.parametrize(("curve", "reason"), [
    ([0.6, 0.4, -1.1, 0.3], "outside the possible range"),  # a negative log-loss
    ([0.6, 0.5, 0.4, 3000], "outside the possible range"),  # far above the uniform classifier's 0.69
    ([0.6, 0.5, 0.4, float("nan")], "not a finite number"),
])
def test_an_impossible_llm_prediction_is_rejected_recorded_and_never_scored(tmp_path: Path, curve: list[Any],
                                                                            reason: str) -> None:
    context = binary_context(tmp_path)
    llm = ScriptedLLM([{"plans": [llm_plan(3, curve), llm_plan(4, [0.6, 0.5, 0.45, 0.42])]}])
    planner = LLMPlanner(context, client=llm, start_with_default=False, share_with_tpe=False)
    candidates = {c.config["max_depth"]: c for c in planner.ask(2)}
    assert candidates[3].prediction("llm") is None
    assert any(reason in note for note in candidates[3].repairs)
    assert candidates[4].prediction("llm") is not None and candidates[4].prediction("llm").final == 0.42
    assert planner.stats()["predictions_rejected"] == 1


def test_the_schema_bounds_predicted_values_where_the_metric_has_bounds(tmp_path: Path) -> None:
    context = binary_context(tmp_path)
    llm = ScriptedLLM([{"plans": [llm_plan(3, [0.6, 0.5, 0.4, 0.3])]}])
    LLMPlanner(context, client=llm, start_with_default=False, share_with_tpe=False).ask(1)
    items = llm.schemas[0]["properties"]["plans"]["items"]["properties"]["predicted_valid_logloss"]["items"]
    assert items["minimum"] == 0 and items["maximum"] == pytest.approx(2 * math.log(2))


def test_plausible_ranges_follow_the_metric() -> None:
    assert plausible_range("accuracy") == (0.0, 1.0)
    assert plausible_range("f1") == (0.0, 100.0)
    assert implausible([0.2, 1.2], "accuracy") is not None
    assert implausible([2.0, 1.0], "rmse") is None
    assert implausible([-0.1], "rmse") is not None


def trial(number: int, real: float, predicted: float) -> PastTrial:
    result = TrialResult(TrialState.COMPLETE, {"valid/logloss": real})
    return PastTrial(number, {"max_depth": number}, result, [Prediction("matrix", predicted)])


def test_rank_correlation_is_too_few_under_five_trials_and_has_an_interval_from_five_on() -> None:
    few = prediction_quality([trial(i, 0.3 + i / 100, 0.31 + i / 100) for i in range(4)], LOGLOSS)
    assert few["matrix"]["too_few"] and few["matrix"]["spearman"] is None
    enough = prediction_quality([trial(i, 0.3 + i / 100, 0.31 + i / 90) for i in range(8)], LOGLOSS)
    quality = enough["matrix"]
    assert not quality["too_few"] and quality["spearman"] == pytest.approx(1.0)
    low, high = quality["spearman_interval"]
    assert low <= quality["spearman"] <= high


def test_the_report_says_too_few_instead_of_a_correlation() -> None:
    history = [trial(i, 0.3 + i / 100, 0.31 + i / 100) for i in range(3)]
    summary = {"run_id": "r", "predictions": prediction_quality(history, LOGLOSS)}
    from automl_gpt.runs.report import _prediction_table

    html = _prediction_table(summary)
    assert "too few trials" in html and "1.0" not in html
    assert render_html  # the full page renders the same table (checked by the report tests)


# -- the matrix predictor ------------------------------------------------------------------------------------

def toy_matrix() -> PerformanceMatrix:
    """Two configurations: depth 2 is worse than depth 10 on every dataset, by a known ratio."""
    configs = [{"learning_rate": 0.3, "max_depth": 2}, {"learning_rate": 0.3, "max_depth": 10}]
    datasets = [
        MatrixDataset(name=f"d{i}", task="binary", metric="logloss", family=f"d{i}", trivial=0.69,
                      meta={"log10_rows": 3.0 + i / 10}, values=[0.69 * 0.8, 0.69 * 0.5],
                      curves=[[0.9, 0.85, 0.8], [0.8, 0.6, 0.5]])
        for i in range(4)
    ]
    return PerformanceMatrix("toy", configs, datasets, [0.25, 0.5, 1.0])


def test_the_matrix_predictor_ranks_before_any_trial_and_gives_a_curve_and_an_uncertainty(tmp_path) -> None:
    context = binary_context(tmp_path)
    profile = CardProfile(np.zeros(0, dtype=np.float32), {"log10_rows": 3.1}, "binary")
    predictor = MatrixPredictor(toy_matrix(), profile, math.log(2), context.space, LOGLOSS)
    shallow = predictor.predict(Candidate({"learning_rate": 0.3, "max_depth": 2}, "tpe"))
    deep = predictor.predict(Candidate({"learning_rate": 0.3, "max_depth": 10}, "tpe"))
    assert shallow is not None and deep is not None
    assert deep.final < shallow.final
    assert deep.final == pytest.approx(0.5 * math.log(2), rel=0.05)
    assert [r.step for r in deep.log] == [25, 50, 100] and deep.log[-1].value == pytest.approx(deep.final)
    assert deep.uncertainty is not None and deep.uncertainty >= 0


def test_the_matrix_predictor_learns_the_runs_scale_from_its_trials(tmp_path) -> None:
    context = binary_context(tmp_path)
    profile = CardProfile(np.zeros(0, dtype=np.float32), {"log10_rows": 3.1}, "binary")
    done = [PastTrial(0, {"learning_rate": 0.3, "max_depth": 2},
                      TrialResult(TrialState.COMPLETE, {"valid/logloss": 0.8 * math.log(2) / 2}))]
    predictor = MatrixPredictor(toy_matrix(), profile, math.log(2), context.space, LOGLOSS, done)
    deep = predictor.predict(Candidate({"learning_rate": 0.3, "max_depth": 10}, "tpe"))
    assert deep is not None and deep.final == pytest.approx(0.5 * math.log(2) / 2, rel=0.05)


def depth_matrix() -> PerformanceMatrix:
    """Three depths, deeper better on every dataset; depths 4 and 8 are in no pool."""
    depths, ratios = [2, 6, 12], [0.8, 0.65, 0.5]
    configs = [{"learning_rate": 0.1, "max_depth": d} for d in depths]
    datasets = [
        MatrixDataset(name=f"d{i}", task="binary", metric="logloss", family=f"d{i}", trivial=0.69,
                      meta={"log10_rows": 3.0 + i / 10}, values=[0.69 * r for r in ratios],
                      curves=[[r + 0.1, r] for r in ratios])
        for i in range(4)
    ]
    return PerformanceMatrix("toy", configs, datasets, [0.5, 1.0])


def predicted(predictor: MatrixPredictor, depth: int) -> float:
    prediction = predictor.predict(Candidate({"learning_rate": 0.1, "max_depth": depth}, "tpe"))
    assert prediction is not None and prediction.final is not None
    return prediction.final


def test_the_matrix_predictor_ranks_configurations_that_are_in_no_pool(tmp_path) -> None:
    context = binary_context(tmp_path)
    profile = CardProfile(np.zeros(0, dtype=np.float32), {"log10_rows": 3.1}, "binary")
    predictor = MatrixPredictor(depth_matrix(), profile, math.log(2), context.space, LOGLOSS)
    assert predicted(predictor, 2) > predicted(predictor, 4) > predicted(predictor, 8) > predicted(predictor, 12)


def test_the_runs_own_trials_reshape_the_predictions_where_they_disagree_with_similar_datasets(tmp_path) -> None:
    """On this dataset shallow trees win, unlike on every similar one: after three trials the prediction says so."""
    context = binary_context(tmp_path)
    profile = CardProfile(np.zeros(0, dtype=np.float32), {"log10_rows": 3.1}, "binary")
    done = [PastTrial(n, {"learning_rate": 0.1, "max_depth": d},
                      TrialResult(TrialState.COMPLETE, {"valid/logloss": value}))
            for n, (d, value) in enumerate([(2, 0.30), (6, 0.40), (12, 0.50)])]
    before = MatrixPredictor(depth_matrix(), profile, math.log(2), context.space, LOGLOSS)
    after = MatrixPredictor(depth_matrix(), profile, math.log(2), context.space, LOGLOSS, done)
    assert predicted(before, 4) > predicted(before, 8)
    assert predicted(after, 4) < predicted(after, 8)


def test_expected_improvement_prefers_a_better_mean_and_rewards_uncertainty() -> None:
    best = 0.40
    sure = Prediction("matrix", 0.39, uncertainty=0.001)
    worse = Prediction("matrix", 0.45, uncertainty=0.001)
    spread = Prediction("matrix", 0.45, uncertainty=0.2)
    assert expected_improvement(sure, best, "minimize") > expected_improvement(worse, best, "minimize")
    assert expected_improvement(spread, best, "minimize") > expected_improvement(worse, best, "minimize")


def test_the_trivial_value_of_a_card_without_class_balance_is_read_from_its_training_file(tmp_path: Path) -> None:
    from automl_gpt.planners.predictor import card_trivial_value

    (tmp_path / "t.csv").write_text("x,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate([1, 2, 3, 4, 1, 2])))
    regression = DataCard(name="r", task="regression", train=str(tmp_path / "t.csv"), target="y")
    assert card_trivial_value(regression) == pytest.approx(float(np.std([1, 2, 3, 4, 1, 2], ddof=1)))
    binary = DataCard(name="b", task="binary", train=str(tmp_path / "t.csv"), target="x")
    assert card_trivial_value(binary) == pytest.approx(math.log(6))  # six classes of one row each
    assert card_trivial_value(DataCard(name="m", task="regression", train=str(tmp_path / "t.csv"), target="z")) is None


def test_an_llm_candidate_is_predicted_once_and_keeps_the_prediction_it_was_ranked_by(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter
    from types import SimpleNamespace

    from automl_gpt import hookimpl
    from automl_gpt.planners import config_key
    from automl_gpt.planners.surrogate import SurrogatePredictor
    from automl_gpt.runs.loop import run
    from automl_gpt.testing import plugins_loaded

    from tests.core import loop_support

    predictions: Counter[str] = Counter()  # per configuration: how often the surrogate predicted it
    ranked: dict[str, float | None] = {}  # what the llm planner ranked each of its candidates by
    surrogate_predict = SurrogatePredictor.predict
    llm_rank = LLMPlanner._rank

    def counting_predict(self: SurrogatePredictor, candidate: Candidate) -> Prediction | None:
        prediction = surrogate_predict(self, candidate)
        if prediction is not None:
            predictions[config_key(candidate.config)] += 1
        return prediction

    def recording_rank(self: LLMPlanner, candidates: list[Candidate]) -> list[Candidate]:
        result = llm_rank(self, candidates)
        for candidate in result:
            found = candidate.prediction(SurrogatePredictor.name)
            ranked[config_key(candidate.config)] = None if found is None else found.final
        return result

    monkeypatch.setattr(SurrogatePredictor, "predict", counting_predict)
    monkeypatch.setattr(LLMPlanner, "_rank", recording_rank)
    llm = ScriptedLLM([{"plans": [loop_support.plan(x), loop_support.plan(x + 0.05)]}
                       for x in (2.0, 1.5, 0.5, 1.2, 0.8)])

    @hookimpl(tryfirst=True)
    def plan_trials(name: str, context: PlanningContext) -> LLMPlanner | None:
        return LLMPlanner(context, client=llm, share_with_tpe=False) if name == "llm" else None

    with plugins_loaded(loop_support, SimpleNamespace(plan_trials=plan_trials)):
        result = run(loop_support.data_card(tmp_path), out=tmp_path / "runs", echo=lambda line: None,
                     planner="llm", budget=8, batch_size=2, prune=False, experience=False)

    stored = {config_key(t.config): next((p for p in t.predictions if p.predictor == SurrogatePredictor.name), None)
              for t in result.trials}
    llm_predicted = [key for key, value in ranked.items() if value is not None and key in stored]
    assert len(llm_predicted) >= 2, "later rounds' LLM candidates were ranked by the surrogate"
    assert all(predictions[key] == 1 for key in llm_predicted), predictions
    assert all(stored[key] is not None and stored[key].final == ranked[key] for key in llm_predicted)
    assert all(count == 1 for count in predictions.values()), "no candidate is predicted twice"
