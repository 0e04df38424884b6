"""OpenAI chat completions: JSON-schema structured output, JSON mode as fallback, SDK errors mapped."""

from __future__ import annotations

import json
from typing import Any

from automl_gpt.errors import LLMError, LLMServerError, LLMTimeoutError
from automl_gpt.llm import GenerationSettings, LLMModel, LLMProvider, LLMResponse, Usage, keys
from automl_gpt.llm.client import http_error, parse_retry_after
from automl_gpt.requirements import Requirements

DEFAULT_SETTINGS = GenerationSettings()

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Structured-output modes, strongest first: a server that rejects one (HTTP 400/422) gets the next.
JSON_MODES = ("json_schema", "json_object+schema", "json_object")
SCHEMA_INSTRUCTION = "Answer with one JSON value that matches this JSON schema:"


class OpenAIProvider(LLMProvider):
    """OpenAI and OpenAI-compatible servers (options ``api_key``, ``base_url``, ``json_mode``)."""

    name = "openai"
    description = "OpenAI or any OpenAI-compatible server (official openai SDK)"
    default_model = "gpt-4o-mini"

    def __init__(self, requirements: Requirements) -> None:
        self.requirements = requirements

    def models(self) -> list[str]:
        return ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1-nano"]

    def get_model(self, model: str | None = None, options: dict[str, Any] | None = None) -> LLMModel:
        options = options or {}
        api_key, base_url = keys.endpoint_credentials(self.name, options)
        json_mode = options.get("json_mode", JSON_MODES[0])
        if json_mode not in JSON_MODES:
            raise LLMError(f"openai: option json_mode must be one of {', '.join(JSON_MODES)}, got {json_mode!r}")
        return OpenAIModel(model or self.default_model, api_key, base_url, json_mode)


class OpenAIModel(LLMModel):
    """One model behind one OpenAI-compatible endpoint; the SDK's own retries are off (the client retries)."""

    provider = "openai"

    def __init__(self, name: str, api_key: str, base_url: str | None, json_mode: str) -> None:
        self.name = name
        self.endpoint = base_url or DEFAULT_BASE_URL
        self.json_mode = json_mode
        self._api_key = api_key
        self.secret_values = (api_key,)  # scrubbed from every error by LLMClient
        self._base_url = base_url
        self._client: Any = None

    def __repr__(self) -> str:
        return f"OpenAIModel({self.name!r}, endpoint={self.endpoint!r})"

    def generate(
        self, prompt: str, *, system: str | None = None, settings: GenerationSettings = DEFAULT_SETTINGS
    ) -> LLMResponse:
        return self._create(_messages(prompt, system), settings, None)

    def generate_json(
        self,
        prompt: str,
        schema: dict[str, Any],
        *,
        system: str | None = None,
        settings: GenerationSettings = DEFAULT_SETTINGS,
    ) -> LLMResponse:
        while True:
            try:
                response = self._create(
                    _messages(prompt, self._system(system, schema)), settings, _response_format(self.json_mode, schema)
                )
                break
            except LLMError as exc:
                if not _rejects_format(exc) or self.json_mode == JSON_MODES[-1]:
                    raise
                self.json_mode = JSON_MODES[JSON_MODES.index(self.json_mode) + 1]
        try:
            response.data = json.loads(response.text)
        except ValueError:
            response.data = None
        return response

    def _system(self, system: str | None, schema: dict[str, Any]) -> str | None:
        if self.json_mode == "json_schema":
            return system
        instruction = f"{SCHEMA_INSTRUCTION}\n{json.dumps(schema, separators=(',', ':'))}"
        return f"{system}\n\n{instruction}" if system else instruction

    def _create(
        self, messages: list[dict[str, str]], settings: GenerationSettings, response_format: dict[str, Any] | None
    ) -> LLMResponse:
        import openai

        if self._client is None:
            self._client = openai.OpenAI(api_key=self._api_key, base_url=self._base_url, max_retries=0)
        extra: dict[str, Any] = {"response_format": response_format} if response_format else {}
        if settings.seed is not None:
            extra["seed"] = settings.seed
        try:
            completion = self._client.chat.completions.create(
                model=self.name,
                messages=messages,
                temperature=settings.temperature,
                max_tokens=settings.max_tokens,
                timeout=settings.timeout_s,
                **extra,
            )
        except openai.APITimeoutError:
            raise LLMTimeoutError(f"openai: no answer from {self.endpoint} within {settings.timeout_s:g} s") from None
        except openai.APIConnectionError as exc:
            raise LLMServerError(f"openai: cannot connect to {self.endpoint}: {exc}") from None
        except openai.APIStatusError as exc:
            headers = exc.response.headers
            raise http_error(
                "openai",
                exc.status_code,
                str(exc.message),
                retry_after=parse_retry_after(headers.get("retry-after"), headers.get("retry-after-ms")),
            ) from None
        except (openai.OpenAIError, ValueError) as exc:
            raise LLMServerError(
                f"openai: malformed response from {self.endpoint}: {type(exc).__name__}: {str(exc)[:200]}"
            ) from None
        return _response(completion, self.endpoint)


def _response(completion: Any, endpoint: str | None) -> LLMResponse:
    choices = getattr(completion, "choices", None)
    if not choices:
        raise LLMServerError(f"openai: malformed response from {endpoint}: no choices")
    usage = getattr(completion, "usage", None)
    return LLMResponse(
        text=choices[0].message.content or "",
        usage=Usage(getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0),
        model=getattr(completion, "model", None) or "",
    )


def _rejects_format(error: LLMError) -> bool:
    """Whether the server refused the request's response_format (400/422, or any status that names it)."""
    return error.status in (400, 422) or (error.status is not None and "response_format" in str(error))


def _response_format(mode: str, schema: dict[str, Any]) -> dict[str, Any]:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": False}}
    if mode == "json_object+schema":  # llama.cpp servers constrain decoding with this schema
        return {"type": "json_object", "schema": schema}
    return {"type": "json_object"}


def _messages(prompt: str, system: str | None) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}] if system else []
    return [*messages, {"role": "user", "content": prompt}]
