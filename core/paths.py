"""Where automl-gpt keeps user state: keys, the LLM response cache, the experience store.

Everything lives under one folder: ``AUTOML_GPT_HOME`` when set, else the platform's user data directory
(``~/.local/share/automl-gpt`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The user state folder (created on first use)."""
    configured = os.environ.get("AUTOML_GPT_HOME")
    if configured:
        path = Path(configured).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("automl-gpt", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def keys_path() -> Path:
    """The 0600 JSON file of API keys."""
    return home() / "keys.json"


def llm_cache_path() -> Path:
    """The SQLite response cache of LLM calls."""
    return Path(os.environ.get("AUTOML_GPT_LLM_CACHE") or home() / "llm_cache.sqlite")


def experience_path() -> Path:
    """The SQLite experience store of past runs."""
    return Path(os.environ.get("AUTOML_GPT_EXPERIENCE") or home() / "experience.sqlite")
