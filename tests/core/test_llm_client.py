"""LLMClient: validation, model-free repair, re-ask, retries, cancellation, cache, accounting, redaction.

The provider side here is :class:`ScriptedModel`, a small deterministic implementation of the LLMModel interface
(the thing under test is the client). Real providers against real servers are tested under tests/plugins/llm_*.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from automl_gpt.errors import (
    LLMAuthError,
    LLMError,
    LLMOutputError,
    LLMRateLimitError,
    LLMServerError,
    LLMTimeoutError,
    UnknownNameError,
    UsageError,
)
from automl_gpt.llm import GenerationSettings, LLMModel, LLMResponse, Usage, keys
from automl_gpt.llm.cache import LLMCache
from automl_gpt.llm.client import (
    LLMCancelledError,
    LLMClient,
    clip_to_schema,
    estimate_cost,
    get_llm,
    http_error,
    parse_retry_after,
    parse_spec,
    schema_error,
)
from automl_gpt.testing import plugins_loaded

DEFAULT_SETTINGS = GenerationSettings()

SCHEMA = {
    "type": "object",
    "properties": {
        "eta": {"type": "number", "minimum": 0.01, "maximum": 0.3},
        "depth": {"type": "integer", "minimum": 2, "maximum": 10},
        "booster": {"enum": ["gbtree", "dart"]},
        "curve": {"type": "array", "items": {"type": "number", "minimum": 0}, "maxItems": 3},
        "note": {"type": "string", "maxLength": 5},
    },
    "required": ["eta", "depth", "booster"],
    "additionalProperties": False,
}


class ScriptedModel(LLMModel):
    """Answers with the scripted items in order: a JSON-able value, a raw string, or an exception to raise."""

    provider = "openai"
    name = "gpt-4o-mini"

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.prompts: list[str] = []

    def _next(self, prompt: str) -> LLMResponse:
        self.prompts.append(prompt)
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        text = item if isinstance(item, str) else json.dumps(item)
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        return LLMResponse(text, Usage(100, 20), self.name, data)

    def generate(
        self, prompt: str, *, system: str | None = None, settings: GenerationSettings = DEFAULT_SETTINGS
    ) -> LLMResponse:
        response = self._next(prompt)
        response.data = None
        return response

    def generate_json(
        self,
        prompt: str,
        schema: dict[str, Any],
        *,
        system: str | None = None,
        settings: GenerationSettings = DEFAULT_SETTINGS,
    ) -> LLMResponse:
        return self._next(prompt)


GOOD = {"eta": 0.1, "depth": 6, "booster": "gbtree"}


def client(*script: Any, **kwargs: Any) -> tuple[LLMClient, ScriptedModel]:
    model = ScriptedModel(*script)
    kwargs.setdefault("backoff_s", 0.001)
    return LLMClient(model, seed=0, **kwargs), model


# -- pure helpers ----------------------------------------------------------------------------------------------


def test_clip_to_schema_fixes_only_bounds_and_lengths() -> None:
    data = {"eta": 3, "depth": 1, "booster": "linear", "curve": [-1, 0.5, 2, 3], "note": "too long"}
    fixed, notes = clip_to_schema(data, SCHEMA)
    assert fixed == {"eta": 0.3, "depth": 2, "booster": "linear", "curve": [0, 0.5, 2], "note": "too l"}
    assert len(notes) == 5 and any("eta: 3 lowered to maximum 0.3" in n for n in notes)
    assert data["eta"] == 3, "the input is not modified"
    assert schema_error(fixed, SCHEMA) is not None, "an invalid enum is not guessed"
    assert clip_to_schema(GOOD, SCHEMA) == (GOOD, [])


def test_schema_error_is_one_line_with_the_path() -> None:
    assert schema_error(GOOD, SCHEMA) is None
    message = schema_error({**GOOD, "depth": 50}, SCHEMA)
    assert message is not None and message.startswith("at depth:") and "\n" not in message


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None, "1500") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


def test_estimate_cost() -> None:
    assert estimate_cost("openai", "gpt-4o-mini-2024-07-18", Usage(1_000_000, 1_000_000)) == pytest.approx(0.75)
    assert estimate_cost("openai", "gpt-4o", Usage(1000, 0)) == pytest.approx(0.0025)
    assert estimate_cost("local", "smollm2-135m", Usage(10, 10)) == 0.0
    assert estimate_cost("openai", "my-finetune", Usage(10, 10)) is None


def test_http_error_mapping() -> None:
    auth = http_error("openai", 401, "Invalid key")
    assert isinstance(auth, LLMAuthError) and not auth.retryable
    assert str(auth) == (
        "openai: authentication failed (HTTP 401): check the key (automl-gpt keys set openai or OPENAI_API_KEY)"
    )
    limited = http_error("anthropic", 429, "slow\ndown", retry_after=3.0)
    assert isinstance(limited, LLMRateLimitError) and limited.retryable
    assert getattr(limited, "retry_after", None) == 3.0 and "\n" not in str(limited)
    assert isinstance(http_error("openai", 503, "busy"), LLMServerError)
    assert isinstance(http_error("openai", 408, "slow"), LLMTimeoutError)
    rejected = http_error("openai", 400, "bad request")
    assert type(rejected) is LLMError and not rejected.retryable


def test_parse_spec() -> None:
    assert parse_spec("local") == ("local", None)
    assert parse_spec(" OpenAI:gpt-4o-mini ") == ("openai", "gpt-4o-mini")
    assert parse_spec("local:/models/x.gguf") == ("local", "/models/x.gguf")
    with pytest.raises(UsageError, match="expected PROVIDER"):
        parse_spec(":model")


# -- structured calls -------------------------------------------------------------------------------------------


def test_valid_answer_in_one_call_with_usage_and_cost() -> None:
    llm, model = client(GOOD)
    response = llm.generate_json("plan", SCHEMA)
    assert response.data == GOOD and response.attempts == 1 and response.repairs == []
    assert len(model.prompts) == 1
    stats = llm.stats()
    assert stats["calls"] == 1 and stats["prompt_tokens"] == 100 and stats["completion_tokens"] == 20
    assert stats["cost_usd"] == pytest.approx((100 * 0.15 + 20 * 0.60) / 1e6)


def test_out_of_bounds_is_clipped_without_a_second_call() -> None:
    llm, model = client({"eta": 0.9, "depth": 6, "booster": "dart"})
    response = llm.generate_json("plan", SCHEMA)
    assert response.data == {"eta": 0.3, "depth": 6, "booster": "dart"}
    assert response.repairs == ["eta: 0.9 lowered to maximum 0.3"]
    assert len(model.prompts) == 1 and llm.stats()["repaired"] == 1


def test_invalid_answer_is_reasked_once_with_the_error() -> None:
    llm, model = client({"eta": 0.1, "booster": "gbtree"}, GOOD)
    response = llm.generate_json("plan", SCHEMA)
    assert response.data == GOOD and response.attempts == 2
    assert "'depth' is a required property" in model.prompts[1] and model.prompts[1].startswith("plan")
    assert response.usage.prompt_tokens == 200 and llm.stats()["calls"] == 2


def test_clip_off_means_reask() -> None:
    llm, model = client({"eta": 0.9, "depth": 6, "booster": "dart"}, GOOD, clip=False)
    assert llm.generate_json("plan", SCHEMA).data == GOOD and len(model.prompts) == 2


def test_not_json_twice_raises_output_error() -> None:
    llm, _ = client('{"eta": 0.1, ', "still not json")
    with pytest.raises(LLMOutputError, match="after one repair attempt: the answer is not valid JSON"):
        llm.generate_json("plan", SCHEMA)


def test_invalid_schema_is_a_usage_error() -> None:
    llm, model = client(GOOD)
    with pytest.raises(UsageError, match="invalid JSON schema"):
        llm.generate_json("plan", {"type": "no-such-type"})
    assert model.prompts == []


# -- retries, cancellation, errors ------------------------------------------------------------------------------


def test_retryable_errors_are_retried_with_backoff() -> None:
    llm, model = client(
        LLMServerError("openai: server error (HTTP 503): busy"),
        http_error("openai", 429, "slow down", retry_after=0.05),
        GOOD,
        max_backoff_s=1.0,
    )
    assert llm.generate_json("plan", SCHEMA).data == GOOD
    assert llm.retried == 2 and len(model.prompts) == 3
    assert 0.0005 <= llm.waits[0] <= 0.001, "first back-off: backoff_s scaled by jitter in [0.5, 1]"
    assert llm.waits[1] == 0.05, "Retry-After wins"
    assert llm.stats()["calls"] == 1, "only successful calls are accounted"


def test_backoff_grows_and_is_capped() -> None:
    llm, _ = client(*[LLMServerError("x")] * 4, GOOD, retries=4, backoff_s=0.01, max_backoff_s=0.03)
    llm.generate_json("plan", SCHEMA)
    for wait, cap in zip(llm.waits, [0.01, 0.02, 0.03, 0.03], strict=True):
        assert cap / 2 <= wait <= cap


def test_retries_exhausted_and_non_retryable() -> None:
    llm, model = client(*[LLMTimeoutError("openai: no answer within 1 s")] * 3, retries=2)
    with pytest.raises(LLMTimeoutError, match=r"no answer within 1 s \(after 3 attempts\)"):
        llm.generate_json("plan", SCHEMA)
    llm, model = client(http_error("openai", 401, "bad key"), GOOD)
    with pytest.raises(LLMAuthError):
        llm.generate_json("plan", SCHEMA)
    assert len(model.prompts) == 1


def test_errors_never_show_a_key() -> None:
    keys.set_key("openai", "sk-stored-secret-123")
    llm, _ = client(LLMAuthError("openai: refused sk-stored-secret-123"))
    with pytest.raises(LLMAuthError) as info:
        llm.generate("hi")
    assert "sk-stored-secret-123" not in str(info.value) and "[REDACTED]" in str(info.value)
    llm, model = client(LLMServerError("openai: cannot connect:\n refused key=sk-given-directly-456"), retries=0)
    model.secret_values = ("sk-given-directly-456",)  # a key passed in options, in no store
    with pytest.raises(LLMServerError, match=r"^openai: cannot connect: refused key=\[REDACTED\]$"):
        llm.generate("hi")
    llm, _ = client(RuntimeError("boom with sk-stored-secret-123\nsecond line"))
    with pytest.raises(LLMError, match=r"openai: unexpected RuntimeError: boom with \[REDACTED\]"):
        llm.generate("hi")


def test_an_answer_that_echoes_a_key_is_stored_and_returned_scrubbed(tmp_path: Any) -> None:
    keys.set_key("openai", "sk-stored-secret-123")
    cache = LLMCache(tmp_path / "cache.sqlite")
    llm, _ = client({**GOOD, "comment": "my key is sk-stored-secret-123"}, cache=cache)
    answer = llm.generate_json("plan", {**SCHEMA, "additionalProperties": True})
    assert "sk-stored-secret-123" not in answer.text and "[REDACTED]" in answer.text
    assert answer.data["comment"] == "my key is [REDACTED]"
    stored = cache._conn.execute("SELECT text || data FROM responses").fetchall()
    assert stored and all("sk-stored-secret-123" not in row[0] for row in stored)


def test_cancellation() -> None:
    llm, model = client(GOOD)
    llm.cancel()
    with pytest.raises(LLMCancelledError):
        llm.generate_json("plan", SCHEMA)
    assert model.prompts == []
    event = threading.Event()
    llm, model = client(
        http_error("openai", 429, "wait", retry_after=30.0), GOOD, cancel_event=event, max_backoff_s=30.0
    )
    threading.Timer(0.1, event.set).start()
    with pytest.raises(LLMCancelledError, match="cancelled while waiting to retry"):
        llm.generate_json("plan", SCHEMA)
    assert len(model.prompts) == 1


# -- cache ------------------------------------------------------------------------------------------------------


def test_cache_serves_repeats_for_free() -> None:
    cache = LLMCache()
    llm, model = client({"eta": 0.9, "depth": 6, "booster": "dart"}, "hello", cache=cache)
    first = llm.generate_json("plan", SCHEMA, settings=GenerationSettings(seed=1))
    again = llm.generate_json("plan", SCHEMA, settings=GenerationSettings(seed=1, timeout_s=5))
    assert again.cached and not first.cached
    assert again.data == first.data and again.repairs == first.repairs
    assert again.usage.cost_usd == 0.0 and again.usage.calls == 0 and again.usage.prompt_tokens == 100
    assert llm.generate("hello").text == "hello" and llm.generate("hello").cached
    assert len(model.prompts) == 2
    stats = llm.stats()
    assert stats["calls"] == 2 and stats["cache_hits"] == 2
    other, other_model = client(GOOD, cache=cache)
    assert other.generate_json("plan", SCHEMA, settings=GenerationSettings(seed=2)).data == GOOD
    assert len(other_model.prompts) == 1, "another seed is another request"


def test_failed_answers_are_not_cached() -> None:
    cache = LLMCache()
    llm, _ = client("nope", "nope", GOOD, cache=cache)
    with pytest.raises(LLMOutputError):
        llm.generate_json("plan", SCHEMA)
    assert llm.generate_json("plan", SCHEMA).data == GOOD
    assert cache.stats()["entries"] == 1


# -- get_llm ----------------------------------------------------------------------------------------------------


def test_get_llm_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import automl_gpt_llm_local
    import automl_gpt_llm_openai

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with plugins_loaded(automl_gpt_llm_local, automl_gpt_llm_openai):
        with pytest.raises(UnknownNameError, match="unknown LLM provider 'nope'"):
            get_llm("nope")
        with pytest.raises(UsageError, match="model file not found"):
            get_llm("local:/no/such/model.gguf")
        with pytest.raises(UnknownNameError, match="unknown model 'gpt-5'"):
            get_llm("local:gpt-5")
        with pytest.raises(LLMAuthError, match="openai: no API key"):
            get_llm("openai:gpt-4o-mini")
        keys.set_key("openai", "sk-from-store-0001")
        llm = get_llm("openai:gpt-4o-mini", cache=False)
        assert llm.cache is None and llm.model_name == "gpt-4o-mini" and "sk-from-store" not in repr(llm.model)
        assert get_llm("openai").cache is not None
