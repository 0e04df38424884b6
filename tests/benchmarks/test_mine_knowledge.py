"""The knowledge-base mining cache: append-only, compressed, resumable after a kill, rebuilt without training."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("xgboost")
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from build_matrix import build_matrix  # noqa: E402
from mine_knowledge import cache_file, make_pool, mine_dataset, read_cache  # noqa: E402
from suite import SUITE  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (SUITE / "iris.json").exists(), reason="no shared suite")]
LIMITS = {"max_rows": 150, "max_rounds": 15, "threads": 1}


def test_a_mining_killed_mid_way_resumes_and_gives_the_same_matrix(tmp_path: Path) -> None:
    pool = make_pool(4)
    jobs = list(enumerate(pool))
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert mine_dataset("iris", jobs, LIMITS, whole)[1] == 4

    assert mine_dataset("iris", jobs[:3], LIMITS, resumed)[1] == 3
    path = cache_file("iris", resumed)
    intact = path.read_bytes()
    member = intact[: len(intact) // 3]  # a fourth record cut short by a kill: half a gzip member
    path.write_bytes(intact + member[: len(member) // 2])
    assert len(read_cache("iris", resumed)) == 3
    assert path.read_bytes() == intact, "the truncated tail is dropped from the file"
    assert mine_dataset("iris", jobs, LIMITS, resumed)[1] == 1, "only the missing configuration is trained"
    assert mine_dataset("iris", jobs, LIMITS, resumed)[1] == 0

    built = [build_matrix(cache, tmp_path / f"{cache.name}.json.gz", LIMITS, pool) for cache in (whole, resumed)]
    assert built[0] == built[1]
    assert [d["name"] for d in built[0]["datasets"]] == ["iris"]
    assert len(built[0]["configs"]) == 4 and all(v is not None for v in built[0]["datasets"][0]["values"])
    assert (tmp_path / "whole.json.gz").read_bytes() == (tmp_path / "resumed.json.gz").read_bytes()
