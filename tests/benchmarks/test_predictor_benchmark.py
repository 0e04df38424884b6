"""The predictor benchmark's LLM rows: which datasets and configurations, and how rejected predictions count."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import predictor  # noqa: E402
from automl_gpt.llm import GenerationSettings, Usage  # noqa: E402
from automl_gpt.llm.client import StructuredResponse  # noqa: E402
from automl_gpt.planners.knowledge import PerformanceMatrix, task_family  # noqa: E402
from suite import SUITE  # noqa: E402

needs_suite = pytest.mark.skipif(not (SUITE / "INDEX.md").exists(), reason="no shared suite")


@needs_suite
def test_llm_datasets_are_one_per_family_half_each_task_and_a_smaller_count_is_a_prefix() -> None:
    matrix = PerformanceMatrix.read(predictor.MATRIX)
    chosen = predictor.llm_datasets(matrix, 8, 12, 5, seed=0)

    assert len(chosen) == 8 and len({d.family for d in chosen}) == 8
    assert [task_family(d.task) for d in chosen] == ["classification", "regression"] * 4
    assert predictor.llm_datasets(matrix, 4, 12, 5, seed=0) == chosen[:4]
    assert predictor.llm_datasets(matrix, 4, 12, 5, seed=1) != chosen[:4]


class RankingLLM:
    """Predicts a curve ending at 1, 2, 3... for the configurations in prompt order, the first one impossible."""

    def __init__(self) -> None:
        self.calls = 0

    def generate_json(self, prompt: str, schema: dict[str, Any], *, system: str | None = None,
                      settings: GenerationSettings | None = None) -> StructuredResponse:
        self.calls += 1
        n = schema["properties"]["predictions"]["minItems"]
        key = next(iter(schema["properties"]["predictions"]["items"]["properties"]))
        items = [{key: [-1.0] * 4}] + [{key: [0.9, 0.8, 0.7, 0.1 * i]} for i in range(1, n)]
        data = {"predictions": items}
        return StructuredResponse(json.dumps(data), Usage(10, 10), "ranking", data)

    def stats(self) -> dict[str, Any]:
        return {"provider": "scripted", "model": "ranking", "calls": self.calls, "cache_hits": 0,
                "prompt_tokens": 0, "completion_tokens": 0}


@needs_suite
def test_llm_rows_score_the_llm_and_the_matrix_on_the_same_configurations(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import automl_gpt.llm.client

    monkeypatch.setattr(automl_gpt.llm.client, "get_llm", lambda spec: RankingLLM())
    matrix = PerformanceMatrix.read(predictor.MATRIX)
    args = argparse.Namespace(llm_datasets=2, llm_configs=4, after=5, seed=0, llm_out=tmp_path / "rows.jsonl",
                              llm_timeout=60.0)
    rows = predictor.evaluate_llm(matrix, "scripted", 0.0, args)

    assert [json.loads(line)["dataset"] for line in args.llm_out.read_text().splitlines()] == [
        r["dataset"] for r in rows]
    for row in rows:
        held = next(d for d in matrix.datasets if d.name == row["dataset"])
        known = [i for i, v in enumerate(held.values) if v is not None]
        assert len(row["configs"]) == 4 and not set(row["configs"]) & set(predictor.told_of(held, known, 5, 0))
        for stage in ("before", "after"):
            assert row[f"llm/{stage}/rejected"] == row[f"llm/{stage}/missing"] == 1  # the negative value
            assert row[f"llm/{stage}/finals"][0] is None
            assert row[f"matrix/{stage}/missing"] == 0 and row[f"matrix/{stage}/spearman"] is not None
            assert row[f"llm/{stage}/spearman"] is not None  # the rejected one is a tie, the others are ranked
        assert row["surrogate/after/missing"] == 0
    text = predictor.llm_table(rows, "scripted", args)
    assert "| llm | before any trial |" in text and "| 25.0% | 25.0% |" in text
