"""Shared fixtures: an isolated user folder, offline model hubs, and the shared public data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AUTOML_GPT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keys, caches and the experience store go to a fresh folder for every test."""
    home = tmp_path_factory.mktemp("automl-gpt-home")
    monkeypatch.setenv("AUTOML_GPT_HOME", str(home))
    monkeypatch.delenv("AUTOML_GPT_LLM_CACHE", raising=False)
    monkeypatch.delenv("AUTOML_GPT_EXPERIENCE", raising=False)
    for switch in ("LOAD", "BLOCK", "TRACE", "STRICT"):  # tests set the plugin switches they exercise
        monkeypatch.delenv(f"AUTOML_GPT_{switch}_PLUGINS", raising=False)
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared public datasets (../shared/data beside the checkout)."""
    if not SHARED_DATA.exists():
        pytest.fail(f"shared data not found at {SHARED_DATA}; set AUTOML_GPT_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
