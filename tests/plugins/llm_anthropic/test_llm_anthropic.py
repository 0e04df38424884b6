"""The Anthropic provider with the real anthropic SDK against llama.cpp's server on 127.0.0.1.

llama.cpp's server (the xllamacpp wheel, run by tests/support/serve_gguf.py) serves SmolLM2 through the Anthropic
Messages API with an API key; structured output is a forced tool call. Fault paths go through
:class:`FaultProxy` in front of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import automl_gpt_llm_anthropic
import jsonschema
import pytest
from automl_gpt.errors import LLMAuthError, LLMServerError, LLMTimeoutError
from automl_gpt.llm import GenerationSettings, LLMModel, LLMProvider, keys
from automl_gpt.llm.client import LLMClient, get_llm
from automl_gpt.plugins import PluginManager
from automl_gpt.testing import ProviderConformance, plugins_loaded
from automl_gpt_llm_anthropic.provider import AnthropicProvider
from automl_gpt_llm_local.provider import smollm2_path

from tests.support.llm_servers import Fault, FaultProxy, free_port, start_llama_server

pytestmark = [pytest.mark.llm, pytest.mark.slow]

API_KEY = "sk-ant-local-test-9d2e41"
SCHEMA = ProviderConformance.schema
PROMPT = "Propose an XGBoost learning rate and booster as JSON."
SHORT = GenerationSettings(max_tokens=64)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with start_llama_server(smollm2_path(), API_KEY) as url:
        yield url


@pytest.fixture
def provider() -> LLMProvider:
    return AnthropicProvider(automl_gpt_llm_anthropic.requirements)


@pytest.fixture
def proxy(server_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(server_url) as running:
        yield running


def client(provider: LLMProvider, base_url: str, **kwargs: Any) -> LLMClient:
    kwargs.setdefault("backoff_s", 0.01)
    return LLMClient(provider.get_model(None, {"base_url": base_url, "api_key": API_KEY}), **kwargs)


class TestAnthropicConformance(ProviderConformance):
    @pytest.fixture
    def model_options(self, server_url: str) -> dict[str, Any]:
        return {"base_url": server_url, "api_key": API_KEY}

    @pytest.mark.xfail(
        reason="SmolLM2's greedy tool input is learning_rate 0.0 < minimum 0.001: llama-server's grammar bounds "
        "integers but not numbers, so the raw answer can break a numeric bound; LLMClient clips it "
        "(test_conformance_call_is_valid_through_the_client)",
        strict=False,
    )
    def test_generate_json_matches_schema(self, model: LLMModel) -> None:
        super().test_generate_json_matches_schema(model)


def test_conformance_call_is_valid_through_the_client(provider: LLMProvider, server_url: str) -> None:
    response = client(provider, server_url).generate_json(PROMPT, SCHEMA, settings=SHORT)
    jsonschema.validate(response.data, SCHEMA)
    assert response.attempts == 1, "a bound is repaired by clipping, without asking again"


def test_registered_with_models() -> None:
    manager = PluginManager(load_entry_points=False)
    manager.register_module(automl_gpt_llm_anthropic, name="llm_anthropic")
    info = manager.providers()["anthropic"].describe()
    assert info["available"] and info["default_model"] == "claude-3-5-haiku-latest"


def test_structured_calls_all_valid(provider: LLMProvider, server_url: str) -> None:
    llm = client(provider, server_url)
    for seed in range(6):
        settings = GenerationSettings(max_tokens=64, seed=seed, temperature=0.8)
        jsonschema.validate(llm.generate_json(PROMPT, SCHEMA, settings=settings).data, SCHEMA)


def test_non_object_schema_is_wrapped(provider: LLMProvider, server_url: str) -> None:
    schema = {"type": "array", "items": {"enum": ["gbtree", "dart"]}, "minItems": 2, "maxItems": 2}
    response = client(provider, server_url).generate_json("List two XGBoost boosters.", schema, settings=SHORT)
    jsonschema.validate(response.data, schema)


def test_bad_key_is_one_clear_line_without_the_key(proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    keys.set_key("anthropic", "sk-ant-wrong-key-77777")
    with plugins_loaded(automl_gpt_llm_anthropic):
        llm = get_llm("anthropic", options={"base_url": proxy.url})
    with pytest.raises(LLMAuthError) as info:
        llm.generate("Say hello.", settings=SHORT)
    assert str(info.value) == (
        "anthropic: authentication failed (HTTP 401): check the key "
        "(automl-gpt keys set anthropic or ANTHROPIC_API_KEY)"
    )
    assert proxy.requests == 1, "a bad key is not retried"


def test_rate_limit_and_overload_are_retried(provider: LLMProvider, proxy: FaultProxy) -> None:
    proxy.add(
        Fault(429, {"retry-after": "1"}, b'{"type": "error", "error": {"type": "rate_limit_error", "message": "x"}}'),
        Fault(529, body=b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'),
    )
    llm = client(provider, proxy.url, retries=3, max_backoff_s=0.3)
    assert llm.generate("Say hello.", settings=SHORT).text.strip()
    assert llm.retried == 2 and proxy.requests == 3
    assert llm.waits[0] == 0.3, "Retry-After (1 s) capped at max_backoff_s"


def test_server_down(provider: LLMProvider) -> None:
    llm = client(provider, f"http://127.0.0.1:{free_port()}", retries=1)
    with pytest.raises(LLMServerError, match=r"anthropic: cannot connect to http://127\.0\.0\.1:\d+.*after 2"):
        llm.generate("Say hello.", settings=SHORT)


def test_timeout(provider: LLMProvider, proxy: FaultProxy) -> None:
    proxy.add(Fault(503, delay_s=3.0))
    llm = client(provider, proxy.url, retries=0)
    with pytest.raises(LLMTimeoutError, match=r"anthropic: no answer from .* within 0\.5 s"):
        llm.generate("Say hello.", settings=GenerationSettings(max_tokens=8, timeout_s=0.5))


def test_malformed_http_body(provider: LLMProvider, proxy: FaultProxy) -> None:
    proxy.add(Fault(200, body=b'{"id": "msg_1", "content": [{"type": '))
    llm = client(provider, proxy.url, retries=0)
    with pytest.raises(LLMServerError, match="anthropic: malformed response from"):
        llm.generate("Say hello.", settings=SHORT)
