"""Anthropic Messages API: structured output as the input of a forced tool call, SDK errors mapped."""

from __future__ import annotations

import json
from typing import Any

from automl_gpt.errors import LLMServerError, LLMTimeoutError
from automl_gpt.llm import GenerationSettings, LLMModel, LLMProvider, LLMResponse, Usage, keys
from automl_gpt.llm.client import http_error, parse_retry_after
from automl_gpt.requirements import Requirements

DEFAULT_SETTINGS = GenerationSettings()

DEFAULT_BASE_URL = "https://api.anthropic.com"
TOOL_NAME = "answer"
WRAPPED = "value"  # tool inputs must be objects: other schemas are wrapped as {"value": ...}


class AnthropicProvider(LLMProvider):
    """Anthropic and Messages-API-compatible servers (options ``api_key``, ``base_url``)."""

    name = "anthropic"
    description = "Anthropic Messages API (official anthropic SDK; structured output by forced tool call)"
    default_model = "claude-3-5-haiku-latest"

    def __init__(self, requirements: Requirements) -> None:
        self.requirements = requirements

    def models(self) -> list[str]:
        return ["claude-3-5-haiku-latest", "claude-3-7-sonnet-latest", "claude-sonnet-4-0"]

    def get_model(self, model: str | None = None, options: dict[str, Any] | None = None) -> LLMModel:
        api_key, base_url = keys.endpoint_credentials(self.name, options or {})
        return AnthropicModel(model or self.default_model, api_key, base_url)


class AnthropicModel(LLMModel):
    """One model behind one Messages API endpoint; the SDK's own retries are off (the client retries)."""

    provider = "anthropic"

    def __init__(self, name: str, api_key: str, base_url: str | None) -> None:
        self.name = name
        self.endpoint = base_url or DEFAULT_BASE_URL
        self._api_key = api_key
        self.secret_values = (api_key,)  # scrubbed from every error by LLMClient
        self._base_url = base_url
        self._client: Any = None

    def __repr__(self) -> str:
        return f"AnthropicModel({self.name!r}, endpoint={self.endpoint!r})"

    def generate(
        self, prompt: str, *, system: str | None = None, settings: GenerationSettings = DEFAULT_SETTINGS
    ) -> LLMResponse:
        message = self._create(prompt, system, settings, {})
        return _response(message, _text(message))

    def generate_json(
        self,
        prompt: str,
        schema: dict[str, Any],
        *,
        system: str | None = None,
        settings: GenerationSettings = DEFAULT_SETTINGS,
    ) -> LLMResponse:
        wrapped = schema.get("type") != "object"
        input_schema = {"type": "object", "properties": {WRAPPED: schema}, "required": [WRAPPED]} if wrapped else schema
        tool = {"name": TOOL_NAME, "description": "Give the answer as this tool's input.", "input_schema": input_schema}
        message = self._create(
            prompt,
            system,
            settings,
            {"tools": [tool], "tool_choice": {"type": "tool", "name": TOOL_NAME, "disable_parallel_tool_use": True}},
        )
        calls = [b for b in message.content if getattr(b, "type", None) == "tool_use" and b.name == TOOL_NAME]
        if not calls or not isinstance(calls[0].input, dict):
            return _response(message, _text(message))  # no tool call: data None, the client re-asks
        data = calls[0].input.get(WRAPPED) if wrapped else calls[0].input
        response = _response(message, json.dumps(data))
        response.data = data
        return response

    def _create(self, prompt: str, system: str | None, settings: GenerationSettings, extra: dict[str, Any]) -> Any:
        import anthropic

        if self._client is None:
            self._client = anthropic.Anthropic(api_key=self._api_key, base_url=self._base_url, max_retries=0)
        if system:
            extra = {**extra, "system": system}
        try:
            return self._client.messages.create(
                model=self.name,
                max_tokens=settings.max_tokens,
                messages=[{"role": "user", "content": prompt}],
                extra_body={"temperature": settings.temperature},
                timeout=settings.timeout_s,
                **extra,
            )
        except anthropic.APITimeoutError:
            raise LLMTimeoutError(
                f"anthropic: no answer from {self.endpoint} within {settings.timeout_s:g} s"
            ) from None
        except anthropic.APIConnectionError as exc:
            raise LLMServerError(f"anthropic: cannot connect to {self.endpoint}: {exc}") from None
        except anthropic.APIStatusError as exc:
            raise http_error(
                "anthropic",
                exc.status_code,
                str(exc.message),
                retry_after=parse_retry_after(exc.response.headers.get("retry-after")),
            ) from None
        except (anthropic.AnthropicError, ValueError) as exc:
            raise LLMServerError(
                f"anthropic: malformed response from {self.endpoint}: {type(exc).__name__}: {str(exc)[:200]}"
            ) from None


def _text(message: Any) -> str:
    return "".join(getattr(b, "text", "") for b in getattr(message, "content", None) or [])


def _response(message: Any, text: str) -> LLMResponse:
    if not hasattr(message, "content"):
        raise LLMServerError("anthropic: malformed response: no content")
    usage = getattr(message, "usage", None)
    return LLMResponse(
        text=text,
        usage=Usage(getattr(usage, "input_tokens", 0) or 0, getattr(usage, "output_tokens", 0) or 0),
        model=getattr(message, "model", None) or "",
    )
