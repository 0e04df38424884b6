"""The experience store: add, rank by similarity, adapt, export/import, corrupt files, knowledge-base fallback."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from automl_gpt import hookimpl
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.errors import UsageError
from automl_gpt.runs.experience import ExperienceStore, read_export
from automl_gpt.testing import plugins_loaded
from automl_gpt.training import Backend, Objective, TrainingLog

LOGLOSS = Objective("logloss", "minimize")
SPACE = {
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.5, "log": True, "default": 0.3},
    "max_depth": {"type": "int", "low": 1, "high": 10, "default": 6},
}


def card(
    name: str, description: str, task: str = "binary", rows: int = 1000, features: int = 10, classes: int = 2
) -> DataCard:
    return DataCard(
        name=name,
        task=task,
        train=f"{name}.csv",
        description=description,
        n_rows=rows,
        n_features=features,
        class_balance={str(i): 1 / classes for i in range(classes)},
    )


HEART = card("heart", "Clinical measurements of hospital patients; predict heart disease.", rows=300, features=13)
DIABETES = card(
    "diabetes", "Medical records of patients (glucose, insulin, age); predict diabetes.", rows=768, features=8
)
DIGITS = card("digits", "Pixels of scanned handwritten digits; recognise the digit.", "multiclass", 5620, 64, 10)
LETTERS = card(
    "letters", "Shape statistics of printed capital letters; recognise the letter.", "multiclass", 20000, 16, 26
)


def model_card(space: dict[str, Any] = SPACE, backend: str = "toy") -> ModelCard:
    return card_from_mapping(
        ModelCard, {"name": "toy", "backend": backend, "tasks": ["binary", "multiclass"], "search_space": space}
    )


def trials(*depths_and_values: tuple[int, float]) -> list[tuple[dict[str, Any], float | None, str]]:
    rows: list[tuple[dict[str, Any], float | None, str]] = [
        ({"learning_rate": 0.1, "max_depth": d}, v, "COMPLETE") for d, v in depths_and_values
    ]
    rows.append(({"learning_rate": 0.4, "max_depth": 1}, None, "FAIL"))
    return rows


@pytest.fixture
def filled(tmp_path: Path) -> ExperienceStore:
    store = ExperienceStore(tmp_path / "exp.sqlite")
    store.add_run(DIABETES, "toy", trials((3, 0.50), (2, 0.45), (9, 0.60)), LOGLOSS, run_id="r-diabetes")
    store.add_run(DIGITS, "toy", trials((8, 0.10), (7, 0.12)), LOGLOSS, run_id="r-digits")
    store.add_run(LETTERS, "toy", trials((10, 0.30)), LOGLOSS, run_id="r-letters")
    return store


@pytest.mark.slow
def test_find_similar_ranks_by_similarity_and_sorts_configs_best_first(filled: ExperienceStore) -> None:
    found = filled.find_similar(HEART, model_card(), k=2)
    assert [e.dataset for e in found] == ["diabetes", "digits"]
    assert found[0].similarity > found[1].similarity
    assert [c["max_depth"] for c in found[0].configs] == [2, 3, 9]
    assert found[0].scores == [0.45, 0.50, 0.60]
    assert "768 rows" in found[0].description
    again = filled.find_similar(DIGITS, model_card(), k=3, exclude=["digits"])
    assert again[0].dataset == "letters" and "digits" not in [e.dataset for e in again]


@pytest.mark.slow
def test_find_similar_adapts_configs_to_another_space(filled: ExperienceStore) -> None:
    other = model_card(
        {
            "max_depth": {"type": "int", "low": 1, "high": 4, "default": 2},
            "subsample": {"type": "float", "low": 0.5, "high": 1.0, "default": 1.0},
        }
    )
    found = filled.find_similar(HEART, other, k=1, per_dataset=5)
    # depth 9 is clipped to 4, learning_rate dropped, subsample filled with its default; duplicates collapse.
    assert found[0].configs == [
        {"max_depth": 2, "subsample": 1.0},
        {"max_depth": 3, "subsample": 1.0},
        {"max_depth": 4, "subsample": 1.0},
    ]
    unrelated = model_card({"dropout": {"type": "float", "low": 0.0, "high": 0.5, "default": 0.1}})
    assert filled.find_similar(HEART, unrelated) == []


@pytest.mark.slow
def test_export_import_round_trip(filled: ExperienceStore, tmp_path: Path) -> None:
    log = TrainingLog.from_list([{"step": 1, "split": "valid", "metric": "logloss", "value": 0.7}])
    filled.add_run(
        HEART,
        "toy",
        [({"max_depth": 4}, 0.4, "COMPLETE")],
        LOGLOSS,
        logs=[log],
        run_id="r-heart",
        metrics=[{"valid/logloss": 0.4, "test/accuracy": 0.8}],
    )
    for name in ("all.json", "all.json.gz"):
        path = tmp_path / name
        assert filled.export(path) == 4
        copy = ExperienceStore(tmp_path / f"copy-{name}.sqlite")
        assert copy.import_(path) == 4
        assert [r.to_dict() for r in copy.runs()] == [r.to_dict() for r in filled.runs()]
    heart = copy.show("heart")[0]
    assert heart.trials[0].metrics["test/accuracy"] == 0.8 and heart.trials[0].log[0]["value"] == 0.7
    assert json.loads(gzip.decompress((tmp_path / "all.json.gz").read_bytes()))["format"] == "automl-gpt-experience"
    summary = {s["run_id"]: s for s in copy.list()}
    assert summary["r-diabetes"]["best"] == 0.45 and summary["r-diabetes"]["trials"] == 4


def test_corrupt_store_is_a_clear_error_and_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "experience.sqlite"
    path.write_bytes(b"this is not a database, but someone's notes" * 50)
    before = path.read_bytes()
    store = ExperienceStore(path)
    with pytest.raises(UsageError, match=str(path)):
        store.list()
    with pytest.raises(UsageError, match="not a valid automl-gpt experience store"):
        store.add_run(HEART, "toy", [], LOGLOSS)
    assert path.read_bytes() == before


def test_empty_and_missing_store(tmp_path: Path) -> None:
    store = ExperienceStore(tmp_path / "none.sqlite")
    assert store.list() == [] and store.runs() == []
    with pytest.raises(UsageError, match="no run or dataset 'x'"):
        store.show("x")


def test_default_path_is_the_user_store(isolated_home: Path) -> None:
    assert ExperienceStore().path == isolated_home / "experience.sqlite"


def test_bad_export_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"runs": []}')
    with pytest.raises(UsageError, match="not an automl-gpt experience export"):
        read_export(bad)
    (tmp_path / "y.json.gz").write_bytes(b"nope")
    with pytest.raises(UsageError, match="cannot be read"):
        read_export(tmp_path / "y.json.gz")


class ToyBackend(Backend):
    """A backend that ships a knowledge base (an export file) and trains nothing."""

    name = "toy"
    tasks = frozenset({"binary", "multiclass"})

    def __init__(self, knowledge: Path) -> None:
        self.knowledge = knowledge

    def knowledge_base(self) -> Path | None:
        return self.knowledge


@pytest.mark.slow
def test_empty_store_falls_back_to_the_backend_knowledge_base(filled: ExperienceStore, tmp_path: Path) -> None:
    kb = tmp_path / "kb.json.gz"
    filled.export(kb)

    class Plugin:
        @hookimpl
        def register_backends(self, register: Any) -> None:
            register(ToyBackend(kb))

    empty = ExperienceStore(tmp_path / "empty.sqlite")
    with plugins_loaded(Plugin()):
        found = empty.find_similar(HEART, model_card(), k=1)
        assert [e.dataset for e in found] == ["diabetes"]
        assert empty.find_similar(HEART, model_card(backend="other")) == []
        empty.add_run(DIGITS, "toy", trials((5, 0.2)), LOGLOSS)
        # the user's runs come first, the shipped knowledge after them, never hidden by them
        found = empty.find_similar(HEART, model_card(), k=3)
        assert found[0].dataset == "digits" and found[0].origin == "user"
        assert {e.dataset for e in found[1:]} <= {"diabetes", "letters", "heart"} and len(found) > 1
        assert all(e.origin == "knowledge base" for e in found[1:])


def test_user_runs_count_only_for_the_same_model_card_and_task_family_and_weigh_by_search(tmp_path: Path) -> None:
    store = ExperienceStore(tmp_path / "user.sqlite")
    store.add_run(HEART, "toy", trials((3, 0.3)), LOGLOSS, run_id="one-trial")
    store.add_run(DIABETES, "toy", trials(*[(d, 0.5 - d / 100) for d in range(2, 12)]), LOGLOSS, run_id="searched")
    store.add_run(DIGITS, "other-card", trials((5, 0.2)), LOGLOSS, run_id="other")
    regression = card("prices", "House prices; predict the price.", "regression", 500, 8)
    store.add_run(regression, "toy", trials((4, 2.0)), Objective("rmse", "minimize"), run_id="regression")
    found = {e.dataset: e for e in store.find_similar(HEART, model_card(), k=5)}
    assert set(found) == {"heart", "diabetes"}, "other model cards and other task families do not count"
    assert found["heart"].weight == pytest.approx(found["heart"].similarity * 0.1, rel=1e-3)  # 1 trial of 10
    assert found["diabetes"].weight == pytest.approx(found["diabetes"].similarity, rel=1e-3)  # 10 trials


@pytest.mark.slow
def test_shipped_xgboost_performance_matrix_answers_an_empty_store(tmp_path: Path) -> None:
    pytest.importorskip("xgboost")
    from automl_gpt.planners.knowledge import PerformanceMatrix
    from automl_gpt.plugins import get_plugin_manager

    backend = get_plugin_manager().backends()["xgboost"]
    path = backend.performance_matrix()
    assert path is not None and path.stat().st_size < 5_000_000
    matrix = PerformanceMatrix.read(path)
    assert len(matrix.datasets) >= 100 and len(matrix.configs) >= 8
    assert {d.task for d in matrix.datasets} == {"binary", "multiclass", "regression"}
    assert all(d.values[0] is not None for d in matrix.datasets), "every dataset has the defaults' value"
    wine = DataCard(
        name="red_wine",
        task="multiclass",
        train="w.csv",
        n_rows=1600,
        n_features=11,
        description="Physico-chemical tests of red wines; predict the quality score.",
        class_balance={str(i): 1 / 6 for i in range(6)},
    )
    model = next(c for c in backend.model_cards() if "multiclass" in c.tasks)
    found = ExperienceStore(tmp_path / "empty.sqlite").find_similar(wine, model, k=3)
    assert len(found) == 3 and all(model.space().contains(c) for e in found for c in e.configs)
    assert "wine_quality_red" in [e.dataset for e in found]
