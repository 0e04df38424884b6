"""The SQLite response cache: keys, round trips, stats, and several processes writing at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from automl_gpt import paths
from automl_gpt.llm import GenerationSettings, Usage
from automl_gpt.llm.cache import CachedAnswer, LLMCache, cache_key

SCHEMA = {"type": "object", "properties": {"x": {"type": "number"}}}


def _key(**changes: object) -> str:
    base: dict[str, object] = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "system": "sys",
        "prompt": "hi",
        "schema": SCHEMA,
        "settings": GenerationSettings(),
        "endpoint": None,
    }
    base.update(changes)
    return cache_key(base.pop("provider"), base.pop("model"), **base)


def test_key_depends_on_every_part_but_not_the_timeout() -> None:
    reference = _key()
    assert len(reference) == 64 and reference == _key()
    variants = [
        _key(provider="anthropic"),
        _key(model="gpt-4o"),
        _key(system=None),
        _key(prompt="hi!"),
        _key(schema=None),
        _key(settings=GenerationSettings(temperature=0.5)),
        _key(settings=GenerationSettings(max_tokens=5)),
        _key(settings=GenerationSettings(seed=1)),
        _key(endpoint="http://127.0.0.1:1/v1"),
    ]
    assert reference not in variants and len(set(variants)) == len(variants)
    assert _key(settings=GenerationSettings(timeout_s=1.0)) == reference


def test_round_trip_and_stats() -> None:
    cache = LLMCache()
    assert cache.path == paths.llm_cache_path() and cache.path.exists()
    key = _key()
    assert cache.get(key) is None
    answer = CachedAnswer('{"x": 1}', {"x": 1}, Usage(10, 3, 0.001, 0.5), "gpt-4o-mini", ["x: clipped"])
    cache.put(key, "openai", answer)
    assert cache.get(key) == answer
    assert cache.stats() == {"hits": 1, "misses": 1, "entries": 1}
    reopened = LLMCache(cache.path)
    assert reopened.get(key) == answer
    with sqlite3.connect(cache.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT hits FROM responses").fetchone()[0] == 2
    cache.close()
    reopened.close()


def _writer(path: str, worker: int, count: int) -> None:
    cache = LLMCache(path)
    for i in range(count):
        key = _key(prompt=f"{worker}-{i}")
        cache.put(key, "local", CachedAnswer(f"answer {worker}-{i}", {"i": i}, Usage(1, 1), "m"))
        assert cache.get(key) is not None
        cache.get(_key(prompt=f"{(worker + 1) % 4}-{i}"))  # read what another process may be writing
    cache.close()


def test_concurrent_processes(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(path), w, 40)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    cache = LLMCache(path)
    assert cache.stats()["entries"] == 160
    hit = cache.get(_key(prompt="2-39"))
    assert hit is not None and hit.text == "answer 2-39"
    cache.close()
