"""The one place where automl-gpt calls an LLM: validation, repair, retries, cancellation, cache and accounting.

:func:`get_llm` turns a ``--llm`` spec (``local``, ``local:/path/model.gguf``, ``openai:gpt-4o-mini``,
``anthropic:claude-3-5-haiku-latest``) into an :class:`LLMClient` around the provider's model. The client

* validates structured answers against the JSON schema; an invalid answer is first repaired without the model
  (numbers clipped into their bounds, over-long strings and arrays cut; each change recorded in
  ``response.repairs``), else re-asked once with the validation error, else rejected with
  :class:`~automl_gpt.errors.LLMOutputError`;
* retries retryable errors (rate limit, 5xx, connection failures, timeouts) with exponential back-off and jitter,
  honouring a provider's Retry-After;
* stops between attempts when its cancel event is set (:class:`LLMCancelledError`);
* serves repeated requests from the SQLite response cache (:mod:`automl_gpt.llm.cache`);
* sums usage per client: tokens, cost (from :data:`PRICES_PER_MTOK` where known), latency, calls, cache hits;
* never lets a key through: every error message goes through :func:`automl_gpt.llm.keys.redact`.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from automl_gpt.errors import (
    LLMAuthError,
    LLMError,
    LLMOutputError,
    LLMRateLimitError,
    LLMServerError,
    LLMTimeoutError,
    UsageError,
)
from automl_gpt.llm import GenerationSettings, LLMModel, LLMResponse, Usage
from automl_gpt.llm.cache import CachedAnswer, LLMCache, cache_key
from automl_gpt.llm.keys import env_var, redact

R = TypeVar("R", bound=LLMResponse)

# USD per million (prompt, completion) tokens; longest matching model-name prefix wins. Local models are free.
PRICES_PER_MTOK: dict[str, dict[str, tuple[float, float]]] = {
    "openai": {
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4o": (2.50, 10.00),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1": (2.00, 8.00),
    },
    "anthropic": {
        "claude-3-5-haiku": (0.80, 4.00),
        "claude-3-haiku": (0.25, 1.25),
        "claude-3-5-sonnet": (3.00, 15.00),
        "claude-3-7-sonnet": (3.00, 15.00),
        "claude-sonnet-4": (3.00, 15.00),
    },
}
FREE_PROVIDERS = frozenset({"local"})
REPAIR_INSTRUCTION = (
    "\n\nYour previous answer was:\n{answer}\nIt is invalid: {error}.\n"
    "Answer again with only a JSON value that matches the schema."
)

DEFAULT_SETTINGS = GenerationSettings()


class LLMCancelledError(LLMError):
    """The client's cancel event was set; no further attempt was made."""


@dataclass
class StructuredResponse(LLMResponse):
    """A validated structured answer: ``data`` matches the schema; ``repairs`` lists what was fixed, if anything."""

    repairs: list[str] = field(default_factory=list)
    attempts: int = 1


# -- helpers for provider plugins ------------------------------------------------------------------------------


def parse_retry_after(value: str | None, value_ms: str | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``; None if absent."""
    if value_ms:
        try:
            return max(0.0, float(value_ms) / 1000)
        except ValueError:
            pass
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def http_error(provider: str, status: int, detail: str, *, retry_after: float | None = None) -> LLMError:
    """The automl-gpt error for an HTTP failure of ``provider``, with a one-line message and the fix."""
    detail = " ".join(detail.split())[:300]
    error: LLMError
    if status in (401, 403):
        verb = "authentication failed" if status == 401 else "permission denied"
        error = LLMAuthError(
            f"{provider}: {verb} (HTTP {status}): check the key (automl-gpt keys set {provider} or {env_var(provider)})"
        )
    elif status == 429:
        error = LLMRateLimitError(f"{provider}: rate limited (HTTP 429): {detail}")
    elif status == 408:
        error = LLMTimeoutError(f"{provider}: request timed out (HTTP 408): {detail}")
    elif status >= 500:
        error = LLMServerError(f"{provider}: server error (HTTP {status}): {detail}")
    else:
        error = LLMError(f"{provider}: request rejected (HTTP {status}): {detail}")
    error.retry_after = retry_after
    error.status = status
    return error


def estimate_cost(provider: str, model: str, usage: Usage) -> float | None:
    """USD cost of ``usage`` from the price table; 0 for local models; None when the price is unknown."""
    if provider in FREE_PROVIDERS:
        return 0.0
    table = PRICES_PER_MTOK.get(provider, {})
    matches = [prefix for prefix in table if model.startswith(prefix)]
    if not matches:
        return None
    prompt_price, completion_price = table[max(matches, key=len)]
    return (usage.prompt_tokens * prompt_price + usage.completion_tokens * completion_price) / 1_000_000


# -- validation and repair -------------------------------------------------------------------------------------


def schema_error(data: Any, schema: dict[str, Any]) -> str | None:
    """One line describing why ``data`` does not match ``schema``, or None when it matches."""
    import jsonschema  # imported on use: provider plugins import this module, and `plugins list` must stay fast
    from jsonschema.exceptions import best_match

    error = best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "<root>"
    return f"at {where}: {error.message[:200]}"


def clip_to_schema(data: Any, schema: dict[str, Any], where: str = "") -> tuple[Any, list[str]]:
    """``data`` with numbers clipped into ``minimum``/``maximum`` and strings/arrays cut to their maximum length.

    Only these bounded, unambiguous fixes are made; anything else is left for validation to reject. Returns the
    repaired value and one note per change.
    """
    notes: list[str] = []
    label = where or "<root>"
    if isinstance(data, dict) and isinstance(schema.get("properties"), dict):
        fixed = dict(data)
        for name, sub in schema["properties"].items():
            if name in fixed and isinstance(sub, dict):
                fixed[name], sub_notes = clip_to_schema(fixed[name], sub, f"{where}/{name}" if where else name)
                notes += sub_notes
        return fixed, notes
    if isinstance(data, list):
        limit = schema.get("maxItems")
        items = data
        if isinstance(limit, int) and len(items) > limit:
            notes.append(f"{label}: cut {len(items)} items to maxItems {limit}")
            items = items[:limit]
        item_schema = schema.get("items")
        if isinstance(item_schema, dict):
            fixed_items = []
            for index, item in enumerate(items):
                value, sub_notes = clip_to_schema(item, item_schema, f"{where}/{index}" if where else str(index))
                fixed_items.append(value)
                notes += sub_notes
            items = fixed_items
        return items, notes
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, (int, float)) and data < low:
            notes.append(f"{label}: {data} raised to minimum {low}")
            return low, notes
        if isinstance(high, (int, float)) and data > high:
            notes.append(f"{label}: {data} lowered to maximum {high}")
            return high, notes
        return data, notes
    if isinstance(data, str):
        limit = schema.get("maxLength")
        if isinstance(limit, int) and len(data) > limit:
            notes.append(f"{label}: string cut to maxLength {limit}")
            return data[:limit], notes
    return data, notes


# -- the client -------------------------------------------------------------------------------------------------


class LLMClient:
    """Validated, retried, cached and accounted calls to one :class:`~automl_gpt.llm.LLMModel`.

    ``retries`` is the number of extra attempts after a retryable error; the wait before attempt ``n`` is
    ``min(max_backoff_s, backoff_s * 2**n)`` scaled by a random factor in [0.5, 1] (jitter), or the provider's
    Retry-After when given (capped at ``max_backoff_s``). ``clip=False`` turns off the model-free repair.
    """

    def __init__(
        self,
        model: LLMModel,
        *,
        cache: LLMCache | None = None,
        retries: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        cancel_event: threading.Event | None = None,
        clip: bool = True,
        seed: int | None = None,
    ) -> None:
        self.model = model
        self.cache = cache
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.cancel_event = cancel_event or threading.Event()
        self.clip = clip
        self.usage = Usage(calls=0)
        self.cache_hits = 0
        self.retried = 0
        self.repaired = 0
        self.waits: list[float] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @property
    def provider(self) -> str:
        return self.model.provider

    @property
    def model_name(self) -> str:
        return self.model.name

    def cancel(self) -> None:
        """Stop: the next attempt (or back-off wait) raises :class:`LLMCancelledError`."""
        self.cancel_event.set()

    def stats(self) -> dict[str, Any]:
        """Usage summed over this client's real calls, plus cache hits, retries and repaired answers."""
        with self._lock:
            usage = self.usage
            return {
                "provider": self.provider,
                "model": self.model_name,
                "calls": usage.calls,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "cost_usd": usage.cost_usd,
                "latency_s": round(usage.latency_s, 4),
                "cache_hits": self.cache_hits,
                "retries": self.retried,
                "retry_wait_s": round(sum(self.waits), 3),
                "repaired": self.repaired,
            }

    def generate(
        self, prompt: str, *, system: str | None = None, settings: GenerationSettings = DEFAULT_SETTINGS
    ) -> LLMResponse:
        """Plain text generation (cached, retried, accounted)."""
        key = self._key(prompt, system, None, settings)
        hit = self._lookup(key)
        if hit is not None:
            return LLMResponse(hit.text, _cached_usage(hit.usage), hit.model, hit.data, cached=True)
        response = self._call(lambda: self.model.generate(prompt, system=system, settings=settings))
        self._store(key, CachedAnswer(response.text, None, response.usage, response.model))
        return response

    def generate_json(
        self,
        prompt: str,
        schema: dict[str, Any],
        *,
        system: str | None = None,
        settings: GenerationSettings = DEFAULT_SETTINGS,
    ) -> StructuredResponse:
        """A JSON value valid against ``schema`` (see the module docstring for repair), or LLMOutputError."""
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise UsageError(f"invalid JSON schema for the LLM call: {exc.message}") from None
        key = self._key(prompt, system, schema, settings)
        hit = self._lookup(key)
        if hit is not None:
            return StructuredResponse(
                hit.text, _cached_usage(hit.usage), hit.model, hit.data, cached=True, repairs=list(hit.repairs)
            )
        started = time.monotonic()
        response = self._call(lambda: self.model.generate_json(prompt, schema, system=system, settings=settings))
        data, repairs, error = self._check(response, schema)
        usage, attempts = response.usage, 1
        if error is not None:
            retry_prompt = prompt + REPAIR_INSTRUCTION.format(
                answer=response.text.strip()[:2000] or "<empty>", error=error
            )
            response = self._call(
                lambda: self.model.generate_json(retry_prompt, schema, system=system, settings=settings)
            )
            usage, attempts = usage + response.usage, 2
            data, repairs, error = self._check(response, schema)
            if error is not None:
                raise LLMOutputError(
                    self._redact(
                        f"{self.provider}:{self.model_name}: the answer does not match the schema after one repair "
                        f"attempt: {error}{_cut_hint(response, settings)}"
                    )
                )
        usage = replace(usage, latency_s=time.monotonic() - started)
        if repairs:
            with self._lock:
                self.repaired += 1
        result = StructuredResponse(response.text, usage, response.model, data, repairs=repairs, attempts=attempts)
        self._store(key, CachedAnswer(result.text, data, usage, result.model, repairs))
        return result

    # -- internals --------------------------------------------------------------------------------------

    def _check(self, response: LLMResponse, schema: dict[str, Any]) -> tuple[Any, list[str], str | None]:
        if response.data is None:
            return None, [], "the answer is not valid JSON"
        error = schema_error(response.data, schema)
        if error is None:
            return response.data, [], None
        if self.clip:
            clipped, notes = clip_to_schema(response.data, schema)
            if notes and schema_error(clipped, schema) is None:
                return clipped, notes, None
        return response.data, [], error

    def _call(self, attempt: Callable[[], R]) -> R:
        """One provider call with retries, back-off and cancellation; accounts the successful call's usage."""
        tries = 0
        while True:
            if self.cancel_event.is_set():
                raise LLMCancelledError(f"{self.provider}: cancelled")
            started = time.monotonic()
            try:
                response = attempt()
            except LLMError as exc:
                message = self._redact(" ".join(str(exc).split()))
                if not exc.retryable or tries >= self.retries:
                    if tries:
                        message += f" (after {tries + 1} attempts)"
                    raise type(exc)(message) from None
                tries += 1
                delay = self._delay(tries, exc.retry_after)
                with self._lock:
                    self.retried += 1
                    self.waits.append(delay)
                if self.cancel_event.wait(delay):
                    raise LLMCancelledError(f"{self.provider}: cancelled while waiting to retry ({message})") from None
                continue
            except Exception as exc:  # a provider bug: still one line, still no key
                detail = " ".join(str(exc).split())[:300]
                raise LLMError(self._redact(f"{self.provider}: unexpected {type(exc).__name__}: {detail}")) from exc
            elapsed = time.monotonic() - started
            usage = replace(response.usage, latency_s=elapsed, calls=1)
            if usage.cost_usd is None:
                usage.cost_usd = estimate_cost(self.provider, self.model_name, usage)
            response.usage = usage
            with self._lock:
                self.usage = self.usage + usage
            return self._scrubbed(response)

    def _scrubbed(self, response: R) -> R:
        """The answer with every known key replaced, before it is cached, stored in a study or shown: a model
        can echo a key it saw (in a prompt, or its own)."""
        text = self._redact(response.text)
        if text != response.text:
            response.text = text
            if response.data is not None:
                response.data = json.loads(self._redact(json.dumps(response.data)))
        return response

    def _redact(self, text: str) -> str:
        """``text`` without any known key, including one the model was given directly (``secret_values``)."""
        return redact(text, extra=self.model.secret_values)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.max_backoff_s, max(0.0, float(retry_after)))
        cap = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        return cap * (0.5 + 0.5 * self._random.random())

    def _key(
        self, prompt: str, system: str | None, schema: dict[str, Any] | None, settings: GenerationSettings
    ) -> str | None:
        if self.cache is None:
            return None
        return cache_key(
            self.provider,
            self.model_name,
            system=system,
            prompt=prompt,
            schema=schema,
            settings=settings,
            endpoint=self.model.endpoint,
        )

    def _lookup(self, key: str | None) -> CachedAnswer | None:
        if key is None or self.cache is None:
            return None
        hit = self.cache.get(key)
        if hit is not None:
            with self._lock:
                self.cache_hits += 1
        return hit

    def _store(self, key: str | None, answer: CachedAnswer) -> None:
        if key is not None and self.cache is not None:
            self.cache.put(key, self.provider, answer)


def _cached_usage(stored: Usage) -> Usage:
    """Usage of a cache hit: the original token counts, no cost, no latency, no provider call."""
    return Usage(stored.prompt_tokens, stored.completion_tokens, 0.0 if stored.cost_usd is not None else None, 0.0, 0)


def _cut_hint(response: LLMResponse, settings: GenerationSettings) -> str:
    if response.data is None and response.usage.completion_tokens >= settings.max_tokens:
        return f" (the answer was cut at max_tokens={settings.max_tokens}; raise it)"
    return ""


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"openai:gpt-4o-mini"`` -> ``("openai", "gpt-4o-mini")``; ``"local"`` -> ``("local", None)``."""
    name, _, model = spec.strip().partition(":")
    name = name.strip().lower()
    if not name:
        raise UsageError(
            f"invalid --llm '{spec}': expected PROVIDER or PROVIDER:MODEL (e.g. local, openai:gpt-4o-mini)"
        )
    return name, model.strip() or None


def get_llm(spec: str, *, cache: bool = True, options: dict[str, Any] | None = None) -> LLMClient:
    """The client for ``spec`` (``PROVIDER[:MODEL]``), found through the plugin manager's provider registry.

    ``options`` go to the provider (``api_key``, ``base_url``, ``n_ctx``...); ``cache=False`` bypasses the
    response cache (``--no-cache``).
    """
    from automl_gpt.plugins import get_plugin_manager

    name, model_name = parse_spec(spec)
    provider = get_plugin_manager().provider(name)
    try:
        model = provider.get_model(model_name, dict(options or {}))
    except LLMError as exc:
        raise type(exc)(redact(str(exc))) from None
    return LLMClient(model, cache=LLMCache() if cache else None)
