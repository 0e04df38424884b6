"""The OpenAI provider with the real openai SDK against real servers on 127.0.0.1.

The model server is llama.cpp's server (the xllamacpp wheel) serving SmolLM2 with an API key; the fault paths put a
small reverse proxy (:class:`FaultProxy`) in front of it that answers 429/5xx/slow/malformed first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import automl_gpt_llm_openai
import jsonschema
import pytest
from automl_gpt import paths
from automl_gpt.errors import LLMAuthError, LLMOutputError, LLMServerError, LLMTimeoutError
from automl_gpt.llm import GenerationSettings, LLMModel, LLMProvider, keys
from automl_gpt.llm.client import LLMClient, get_llm
from automl_gpt.plugins import PluginManager
from automl_gpt.testing import ProviderConformance, plugins_loaded
from automl_gpt_llm_local.provider import smollm2_path
from automl_gpt_llm_openai.provider import OpenAIModel, OpenAIProvider

from tests.support.llm_servers import Fault, FaultProxy, free_port, start_llama_server

pytestmark = [pytest.mark.llm, pytest.mark.slow]

API_KEY = "sk-local-test-4f1c9a7e2b"
SCHEMA = ProviderConformance.schema
PROMPT = "Propose an XGBoost learning rate and booster as JSON."
SHORT = GenerationSettings(max_tokens=48)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with start_llama_server(smollm2_path(), API_KEY) as url:
        yield f"{url}/v1"


@pytest.fixture
def provider() -> LLMProvider:
    return OpenAIProvider(automl_gpt_llm_openai.requirements)


@pytest.fixture
def proxy(server_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(server_url) as running:
        yield running


def client(provider: LLMProvider, base_url: str, **kwargs: Any) -> LLMClient:
    kwargs.setdefault("backoff_s", 0.01)
    return LLMClient(provider.get_model("smollm2", {"base_url": base_url, "api_key": API_KEY}), **kwargs)


class TestOpenAIConformance(ProviderConformance):
    @pytest.fixture
    def model_options(self, server_url: str) -> dict[str, Any]:
        return {"base_url": server_url, "api_key": API_KEY}

    @pytest.mark.xfail(
        reason="SmolLM2's greedy answer is learning_rate 0.0 < minimum 0.001: llama.cpp's server turns the "
        "json_schema response format into a grammar that bounds integers but not numbers; LLMClient clips it "
        "(test_structured_calls_all_valid)",
        strict=False,
    )
    def test_generate_json_matches_schema(self, model: LLMModel) -> None:
        super().test_generate_json_matches_schema(model)


def test_registered_with_models() -> None:
    manager = PluginManager(load_entry_points=False)
    manager.register_module(automl_gpt_llm_openai, name="llm_openai")
    info = manager.providers()["openai"].describe()
    assert info["available"] and info["default_model"] == "gpt-4o-mini" and "gpt-4o-mini" in info["models"]


def test_structured_calls_all_valid(provider: LLMProvider, server_url: str) -> None:
    llm = client(provider, server_url)
    for seed in range(6):
        response = llm.generate_json(
            PROMPT, SCHEMA, settings=GenerationSettings(max_tokens=48, seed=seed, temperature=0.8)
        )
        jsonschema.validate(response.data, SCHEMA)
    assert isinstance(llm.model, OpenAIModel)
    assert llm.model.json_mode == "json_schema", "llama.cpp's server takes OpenAI's json_schema response format"


def test_bad_key_is_one_clear_line_without_the_key(proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    keys.set_key("openai", "sk-wrong-key-0123456789")
    with plugins_loaded(automl_gpt_llm_openai):
        llm = get_llm("openai:smollm2", options={"base_url": proxy.url})
    with pytest.raises(LLMAuthError) as info:
        llm.generate("Say hello.", settings=SHORT)
    assert str(info.value) == (
        "openai: authentication failed (HTTP 401): check the key (automl-gpt keys set openai or OPENAI_API_KEY)"
    )
    assert proxy.requests == 1, "a bad key is not retried"


def test_rate_limit_honours_retry_after(provider: LLMProvider, proxy: FaultProxy) -> None:
    proxy.add(Fault(429, {"Retry-After": "1"}, b'{"error": {"message": "Rate limit reached", "type": "requests"}}'))
    llm = client(provider, proxy.url, retries=2, max_backoff_s=0.3)
    response = llm.generate("Say hello.", settings=SHORT)
    assert response.text.strip() and llm.retried == 1 and proxy.requests == 2
    assert llm.waits == [0.3], "Retry-After (1 s) capped at max_backoff_s, not the 0.01 s exponential back-off"


def test_server_errors_are_retried_then_reported(provider: LLMProvider, proxy: FaultProxy) -> None:
    proxy.add(Fault(503, body=b'{"error": {"message": "overloaded"}}'), Fault(502, body=b"bad gateway"))
    llm = client(provider, proxy.url, retries=3)
    jsonschema.validate(llm.generate_json(PROMPT, SCHEMA, settings=SHORT).data, SCHEMA)
    assert llm.retried == 2
    proxy.add(*[Fault(500, body=b'{"error": {"message": "internal"}}')] * 3)
    llm = client(provider, proxy.url, retries=2)
    with pytest.raises(LLMServerError, match=r"openai: server error \(HTTP 500\).*\(after 3 attempts\)$"):
        llm.generate("Say hello.", settings=SHORT)


def test_server_down(provider: LLMProvider) -> None:
    llm = client(provider, f"http://127.0.0.1:{free_port()}/v1", retries=1)
    with pytest.raises(LLMServerError, match=r"openai: cannot connect to http://127\.0\.0\.1:\d+/v1.*after 2"):
        llm.generate("Say hello.", settings=SHORT)


def test_timeout(provider: LLMProvider, proxy: FaultProxy) -> None:
    proxy.add(Fault(503, delay_s=3.0))
    llm = client(provider, proxy.url, retries=0)
    with pytest.raises(LLMTimeoutError, match=r"openai: no answer from .* within 0\.5 s"):
        llm.generate("Say hello.", settings=GenerationSettings(max_tokens=8, timeout_s=0.5))


def test_malformed_http_body(provider: LLMProvider, proxy: FaultProxy) -> None:
    proxy.add(Fault(200, body=b'{"id": "x", "choices": [{"message": '))
    llm = client(provider, proxy.url, retries=0)
    with pytest.raises(LLMServerError, match="openai: malformed response from"):
        llm.generate("Say hello.", settings=SHORT)


def test_cut_json_answer_is_an_output_error(provider: LLMProvider, server_url: str) -> None:
    llm = client(provider, server_url)
    with pytest.raises(LLMOutputError, match=r"not valid JSON \(the answer was cut at max_tokens=3; raise it\)"):
        llm.generate_json(PROMPT, SCHEMA, settings=GenerationSettings(max_tokens=3))
    assert llm.stats()["calls"] == 2, "one repair attempt"


def test_cache_never_stores_the_key(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    keys.set_key("openai", API_KEY)
    with plugins_loaded(automl_gpt_llm_openai):
        llm = get_llm("openai:smollm2", options={"base_url": server_url})
    first = llm.generate_json(PROMPT, SCHEMA, settings=SHORT)
    second = llm.generate_json(PROMPT, SCHEMA, settings=SHORT)
    assert second.cached and second.data == first.data
    stored = b"".join(p.read_bytes() for p in paths.llm_cache_path().parent.glob("llm_cache.sqlite*"))
    assert stored and API_KEY.encode() not in stored
