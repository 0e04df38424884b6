"""API keys: a 0600 ``keys.json`` in the user folder, environment variables first, and a redaction helper.

``automl-gpt keys set openai`` stores a key; ``OPENAI_API_KEY`` (or ``ANTHROPIC_API_KEY``) in the environment wins
over the file. :func:`redact` scrubs every known key value from a text, so errors, logs and reports never show one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from automl_gpt import paths
from automl_gpt.errors import LLMAuthError, UsageError

ENV_VARS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
REDACTED = "[REDACTED]"
MIN_REDACT_LENGTH = 4
LOCAL_SERVER_KEY = "no-key"  # compatible local servers started without an API key accept anything
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def env_var(name: str) -> str:
    """The environment variable that overrides the stored key ``name`` (``openai`` -> ``OPENAI_API_KEY``)."""
    return ENV_VARS.get(name, re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY")


def get_key(name: str) -> str | None:
    """The key called ``name``: its environment variable if set and non-empty, else the stored one, else None."""
    from_env = os.environ.get(env_var(name), "").strip()
    if from_env:
        return from_env
    return _read().get(name) or None


def endpoint_credentials(name: str, options: dict[str, Any]) -> tuple[str, str | None]:
    """The API key and base URL for provider ``name``: options, then environment (``<NAME>_BASE_URL``, the key's
    variable), then the key store.

    A custom ``base_url`` without a key gets the placeholder ``"no-key"`` (local compatible servers accept any);
    the provider's own endpoint without a key is an :class:`~automl_gpt.errors.LLMAuthError` saying how to set one.
    """
    base_url = options.get("base_url") or os.environ.get(f"{name.upper()}_BASE_URL") or None
    api_key = options.get("api_key") or get_key(name)
    if api_key:
        return api_key, base_url
    if base_url is None:
        raise LLMAuthError(f"{name}: no API key: set one with 'automl-gpt keys set {name}' or {env_var(name)}")
    return LOCAL_SERVER_KEY, base_url


def set_key(name: str, value: str) -> Path:
    """Store ``value`` as key ``name`` in the 0600 key file and return the file's path."""
    if not _NAME.match(name):
        raise UsageError(f"invalid key name '{name}': use letters, digits, '_', '.' or '-' (e.g. openai)")
    value = value.strip()
    if not value:
        raise UsageError(f"empty value for key '{name}': nothing stored")
    keys = _read()
    keys[name] = value
    return _write(keys)


def list_keys() -> dict[str, str]:
    """Every key name that has a value, mapped to where it comes from (``env VAR`` or the file); never values."""
    found = {name: "keys.json" for name in _read()}
    for name in set(found) | set(ENV_VARS):
        variable = env_var(name)
        if os.environ.get(variable, "").strip():
            found[name] = f"env {variable}"
    return dict(sorted(found.items()))


def known_secrets() -> list[str]:
    """Every key value this process knows about (environment and key file), longest first."""
    try:
        stored = _read()
    except UsageError:  # a broken key file must not stop an error message from being shown
        stored = {}
    values = {v.strip() for v in stored.values()}
    values |= {os.environ.get(env_var(n), "").strip() for n in set(ENV_VARS) | set(stored)}
    return sorted((v for v in values if len(v) >= MIN_REDACT_LENGTH), key=len, reverse=True)


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every known key value (and each of ``extra``) replaced by ``[REDACTED]``."""
    secrets = set(known_secrets()) | {s for s in extra if s and len(s) >= MIN_REDACT_LENGTH}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _read() -> dict[str, str]:
    path = paths.keys_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable key file ({type(exc).__name__}); fix or delete it") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UsageError(f"{path}: expected a JSON object of name -> key strings; fix or delete it")
    return {str(k): v for k, v in data.items()}


def _write(keys: dict[str, str]) -> Path:
    path = paths.keys_path()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(keys, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
