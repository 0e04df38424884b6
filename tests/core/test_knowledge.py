"""The performance matrix, similarity weights and the greedy portfolio learned from it."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from automl_gpt.cards.similarity import CardProfile
from automl_gpt.errors import UsageError
from automl_gpt.planners.knowledge import (
    NEIGHBOURS,
    MatrixDataset,
    PerformanceMatrix,
    greedy_portfolio,
    neighbour_weights,
    portfolio_candidates,
    trivial_value,
)

CONFIGS = [{"max_depth": 6}, {"max_depth": 2}, {"max_depth": 9}, {"max_depth": 4}]


def dataset(name: str, values: list[float | None], *, task: str = "binary", rows: float = 3.0,
            family: str = "") -> MatrixDataset:
    return MatrixDataset(name=name, task=task, metric="logloss", family=family or name, trivial=0.69,
                         meta={"log10_rows": rows, "log10_features": 1.0}, values=values)


def matrix(*datasets: MatrixDataset) -> PerformanceMatrix:
    return PerformanceMatrix("xgboost", CONFIGS, list(datasets), [0.5, 1.0])


def test_scores_are_zero_for_the_defaults_one_for_the_best_and_minus_one_for_failures() -> None:
    scores = dataset("a", [0.5, 0.4, None, 0.7]).scores()
    assert scores.tolist() == pytest.approx([0.0, 1.0, -1.0, -1.0])


def test_the_first_pick_wins_on_most_datasets_not_hugely_on_one() -> None:
    # config 2 is the best on one dataset only; config 1 is a little better than the defaults on all three
    m = matrix(dataset("a", [0.50, 0.49, 0.60, 0.55]), dataset("b", [0.50, 0.49, 0.60, 0.55]),
               dataset("c", [0.50, 0.49, 0.10, 0.55]))
    order = greedy_portfolio(m, {"a": 1.0, "b": 1.0, "c": 1.0}, size=3)
    assert order[0] == 1
    assert order[1] == 2  # then what adds the most where config 1 left room: dataset c


def test_the_defaults_come_first_where_the_matrix_says_they_win() -> None:
    m = matrix(dataset("a", [0.40, 0.50, 0.60, 0.45]), dataset("b", [0.40, 0.42, 0.60, 0.45]))
    assert greedy_portfolio(m, {"a": 1.0, "b": 1.0}, size=2)[0] == 0


def test_weights_decide_between_datasets_that_disagree() -> None:
    m = matrix(dataset("near", [0.50, 0.40, 0.60, 0.55]), dataset("far", [0.50, 0.60, 0.40, 0.55]))
    assert greedy_portfolio(m, {"near": 0.9, "far": 0.1}, size=1) == [1]
    assert greedy_portfolio(m, {"near": 0.1, "far": 0.9}, size=1) == [2]


def test_neighbours_are_of_the_same_task_family_and_ranked_by_meta_features_without_text() -> None:
    m = matrix(dataset("close", [0.5] * 4, rows=3.1), dataset("far", [0.5] * 4, rows=6.0),
               dataset("multi", [0.5] * 4, task="multiclass", rows=3.0),
               dataset("reg", [0.5] * 4, task="regression", rows=3.0))
    query = CardProfile(np.zeros(0, dtype=np.float32), {"log10_rows": 3.0, "log10_features": 1.0}, "binary")
    weights = neighbour_weights(m, query, text_weight=0.0, k=10)
    assert "reg" not in weights and "multi" in weights  # binary and multiclass tables lend to each other
    assert weights["close"] > weights["far"]


@pytest.mark.parametrize(("card", "task", "weighed", "first"), [
    ("xgboost", "binary", NEIGHBOURS + 40, 9),  # measured: every classification dataset makes XGBoost's best portfolio
    ("xgboost", "regression", NEIGHBOURS, 2),
    ("linear", "binary", NEIGHBOURS, 2),
])
def test_a_portfolio_weighs_the_neighbours_measured_best_for_its_card_and_task(card, task, weighed, first) -> None:
    from automl_gpt.cards.search_space import IntParam, SearchSpace

    # the nearest datasets mildly prefer max_depth 2, the many farther ones strongly prefer max_depth 9
    near = [dataset(f"near{i}", [0.50, 0.49, 0.495, 0.55], task=task, rows=3.0 + i / 1000) for i in range(NEIGHBOURS)]
    far = [dataset(f"far{i}", [0.50, 0.495, 0.30, 0.55], task=task, rows=4.0) for i in range(40)]
    query = CardProfile(np.zeros(0, dtype=np.float32), {"log10_rows": 3.0, "log10_features": 1.0}, task)
    space = SearchSpace({"max_depth": IntParam(low=2, high=12, default=6)})
    mined = PerformanceMatrix(card, CONFIGS, [*near, *far], [0.5, 1.0])
    pick = portfolio_candidates(mined, query, space, text_weight=0.0)[0]
    assert f"of {weighed} similar datasets" in pick.rationale
    assert pick.config == {"max_depth": first}


def test_a_matrix_round_trips_and_a_damaged_one_names_its_file(tmp_path) -> None:
    m = matrix(dataset("a", [0.5, 0.4, None, 0.7]))
    path = tmp_path / "m.json.gz"
    m.write(path)
    again = PerformanceMatrix.read(path)
    assert again.datasets[0].values == [0.5, 0.4, None, 0.7] and again.configs == CONFIGS
    path.write_bytes(gzip.compress(b"{not json"))
    with pytest.raises(UsageError, match=r"m\.json\.gz"):
        PerformanceMatrix.read(path)


def test_leaving_a_family_out_removes_all_its_members() -> None:
    m = matrix(dataset("fri_1", [0.5] * 4, family="friedman"), dataset("fri_2", [0.5] * 4, family="friedman"),
               dataset("iris", [0.5] * 4))
    assert [d.name for d in m.without({"friedman"}).datasets] == ["iris"]


def test_trivial_values_are_the_prior_log_loss_and_the_target_spread() -> None:
    assert trivial_value("binary", [0.5, 0.5], None) == pytest.approx(np.log(2))
    assert trivial_value("regression", None, 3.5) == 3.5


@pytest.mark.slow
def test_the_shipped_matrices_serve_each_the_model_card_it_was_mined_with(tmp_path) -> None:
    pytest.importorskip("xgboost")
    from automl_gpt.cards import DataCard
    from automl_gpt.cards.similarity import CardEmbedder
    from automl_gpt.planners.knowledge import shipped_matrix
    from automl_gpt.planners.transfer import adapt_config
    from automl_gpt.plugins import get_plugin_manager
    from automl_gpt.runs.experience import ExperienceStore

    backend = get_plugin_manager().backends()["xgboost"]
    cards = {c.name: c for c in backend.model_cards() if "binary" in c.tasks}
    data = DataCard(name="toy", task="binary", train=str(tmp_path / "t.csv"), target="y", n_rows=2000,
                    n_features=8, class_balance={"0": 0.7, "1": 0.3})
    store = ExperienceStore(tmp_path / "store.sqlite", embedder=CardEmbedder(text=False))
    for name in ("xgboost", "linear"):
        found = shipped_matrix(cards[name])
        assert found is not None and found[0].name == f"{name}_matrix.json.gz" and found[1].card == name
        pool = [adapt_config(c, cards[name].space()) for c in found[1].configs]
        portfolio = store.portfolio(data, cards[name])
        assert len(portfolio) >= 8 and all(c.config in pool for c in portfolio), name
        assert store.find_similar(data, cards[name]), name
    unmined = cards["xgboost"].model_copy(update={"name": "my_xgboost"})  # same space, no matrix mined with it
    assert shipped_matrix(unmined) is None
    assert store.portfolio(data, unmined) == [], "another card's results are no knowledge about this one"
    assert store.find_similar(data, unmined) == []


@pytest.mark.slow
def test_without_the_text_encoder_a_run_still_gets_the_knowledge_by_meta_features(tmp_path, monkeypatch) -> None:
    pytest.importorskip("xgboost")
    from automl_gpt.cards import similarity as card_embedding
    from automl_gpt.runs.loop import load_experience, prepare

    def no_encoder(self):  # what a [local,tabular] install has: no sentence-transformers
        raise AssertionError("the text encoder was loaded")

    monkeypatch.setattr(card_embedding, "text_encoder_installed", lambda: False)
    monkeypatch.setattr(card_embedding.CardEmbedder, "_encoder", no_encoder)
    monkeypatch.setenv("AUTOML_GPT_HOME", str(tmp_path / "home"))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    rows = ["a,b,c,d,y"] + [f"{a:.3f},{b:.3f},{c:.3f},{d:.3f},{int(a + b > 0)}" for a, b, c, d in x]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "card.yaml").write_text("name: toy\ntask: binary\ntrain: t.csv\ntarget: y\n")
    lines: list[str] = []
    experience, portfolio = load_experience(prepare(tmp_path / "card.yaml"), lines.append)
    assert any(line.startswith("similar datasets by meta-features only") for line in lines), lines
    assert experience and all(e.origin == "knowledge base" for e in experience)
    assert len(portfolio) >= 8 and any(line.startswith("knowledge: a portfolio of") for line in lines)
