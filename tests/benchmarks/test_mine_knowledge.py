"""The knowledge-base mining cache: append-only, compressed, resumable after a kill, rebuilt without training."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("xgboost")
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from build_matrix import build_matrix  # noqa: E402
from mine_knowledge import cache_file, make_pool, mine_dataset, model_cards, pool, pool_space, read_cache  # noqa: E402
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


@pytest.mark.parametrize("model", ["linear", "hist_gradient_boosting"])
def test_another_card_mines_into_its_own_cache_and_matrix(tmp_path: Path, model: str) -> None:
    """A card other than XGBoost: its own pool (defaults first) and cache; a kill mid-way resumes to the same matrix."""
    names = ["iris", "228_elusage"]  # a multiclass and a regression dataset: both task variants of the card
    cache_whole, cache_resumed = tmp_path / "whole" / model, tmp_path / "resumed" / model
    configs = pool(4, cache_whole, model)
    assert pool(4, cache_resumed, model) == configs == make_pool(4, model=model)
    assert configs[0] == {**pool_space(model).defaults(), "validation": "holdout"}
    assert all(param in configs[0] for card in model_cards(model) for param in card.space().defaults())
    jobs = list(enumerate(configs))
    for name in names:
        assert mine_dataset(name, jobs, LIMITS, cache_whole, model)[1] >= 1
        mine_dataset(name, jobs[:2], LIMITS, cache_resumed, model)
    path = cache_file("iris", cache_resumed)
    intact = path.read_bytes()
    path.write_bytes(intact + intact[: len(intact) // 4])  # a record cut short by a kill
    assert len(read_cache("iris", cache_resumed)) == 2, "the truncated record is dropped"
    for name in names:
        mine_dataset(name, jobs, LIMITS, cache_resumed, model)
        assert mine_dataset(name, jobs, LIMITS, cache_resumed, model)[1] == 0, "nothing left to train"

    built = [build_matrix(cache, cache.parent / "matrix.json.gz", LIMITS, configs, model)
             for cache in (cache_whole, cache_resumed)]
    assert built[0] == built[1]
    assert built[0]["model_card"] == model and built[0]["configs"] == configs
    assert sorted(d["name"] for d in built[0]["datasets"]) == sorted(names)
    assert all(v is not None for d in built[0]["datasets"] for v in d["values"])
    files = [tmp_path / run / "matrix.json.gz" for run in ("whole", "resumed")]
    assert files[0].read_bytes() == files[1].read_bytes()
    assert not cache_file("iris", tmp_path / "whole").exists(), "another card never writes into XGBoost's cache"
