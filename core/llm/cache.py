"""A SQLite cache of LLM responses, on by default, so re-runs are reproducible and free.

The key is the sha256 of the provider, model (and endpoint), system prompt, prompt, JSON schema and the sampling
settings that change an answer (temperature, max tokens, seed; not the timeout). A row stores the answer's text,
parsed data, usage and repair notes: never a key or a request header. The database runs in WAL mode with a busy
timeout, so several processes (parallel runs, pytest-xdist) can share it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from automl_gpt import paths
from automl_gpt.errors import StorageError
from automl_gpt.llm import GenerationSettings, Usage

logger = logging.getLogger("automl_gpt.llm.cache")
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000


@dataclass
class CachedAnswer:
    """One stored answer."""

    text: str
    data: Any
    usage: Usage
    model: str
    repairs: list[str] = field(default_factory=list)


def cache_key(
    provider: str,
    model: str,
    *,
    system: str | None,
    prompt: str,
    schema: dict[str, Any] | None,
    settings: GenerationSettings,
    endpoint: str | None = None,
) -> str:
    """The sha256 hex digest identifying one request."""
    material = {
        "v": SCHEMA_VERSION,
        "provider": provider,
        "model": model,
        "endpoint": endpoint,
        "system": system,
        "prompt": prompt,
        "schema": schema,
        "settings": {"temperature": settings.temperature, "max_tokens": settings.max_tokens, "seed": settings.seed},
    }
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """True for errors that mean the file is not a usable cache (garbage, truncated, another schema)."""
    text = str(exc)
    return not isinstance(exc, sqlite3.OperationalError) or any(
        marker in text for marker in ("not a database", "malformed", "no such column", "no such table")
    )


class LLMCache:
    """The response cache at ``path`` (default :func:`automl_gpt.paths.llm_cache_path`); thread- and process-safe."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.llm_cache_path()
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError as exc:
                if not _damaged(exc):
                    raise
                self._conn = self._rebuild(exc)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"{self.path}: cannot open the LLM response cache ({exc}); make its folder writable, point "
                "AUTOML_GPT_LLM_CACHE elsewhere, or pass --no-cache"
            ) from None

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
        )
        try:
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, provider TEXT NOT NULL,"
                " model TEXT NOT NULL, text TEXT NOT NULL, data TEXT, usage TEXT NOT NULL, repairs TEXT NOT NULL,"
                " created REAL NOT NULL, hits INTEGER NOT NULL DEFAULT 0)"
            )
            connection.execute("SELECT key, text, data, usage, repairs, model, hits FROM responses LIMIT 1").fetchall()
        except sqlite3.Error:
            connection.close()
            raise
        return connection

    def _rebuild(self, problem: sqlite3.Error) -> sqlite3.Connection:
        """Move a damaged cache aside (it is only a cache: answers are asked again) and start an empty one."""
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        self.path.replace(aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        logger.warning("the LLM cache %s was damaged (%s): moved to %s and started empty", self.path, problem,
                       aside.name)
        return self._open()

    def get(self, key: str) -> CachedAnswer | None:
        """The stored answer for ``key``, or None; counts a hit or a miss."""
        with self._lock:
            row = self._conn.execute(
                "SELECT text, data, usage, repairs, model FROM responses WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
            self._conn.execute("UPDATE responses SET hits = hits + 1 WHERE key = ?", (key,))
        text, data, usage, repairs, model = row
        return CachedAnswer(
            text, json.loads(data) if data is not None else None, Usage(**json.loads(usage)), model, json.loads(repairs)
        )

    def put(self, key: str, provider: str, answer: CachedAnswer) -> None:
        """Store (or replace) the answer for ``key``."""
        data = json.dumps(answer.data) if answer.data is not None else None
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, provider, model, text, data, usage, repairs, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    provider,
                    answer.model,
                    answer.text,
                    data,
                    json.dumps(asdict(answer.usage)),
                    json.dumps(answer.repairs),
                    time.time(),
                ),
            )

    def stats(self) -> dict[str, int]:
        """Hits and misses of this instance, and the number of stored answers."""
        with self._lock:
            (entries,) = self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()
        return {"hits": self.hits, "misses": self.misses, "entries": int(entries)}

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()
