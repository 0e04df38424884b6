"""The LLM provider interface that provider plugins implement.

A provider plugin subclasses :class:`LLMProvider` and registers an instance through ``register_llm_providers``.
``provider.get_model(name, options)`` returns an :class:`LLMModel` that does one call at a time: plain text
(:meth:`LLMModel.generate`) or structured output constrained by a JSON schema (:meth:`LLMModel.generate_json`).
Providers map their SDK's failures onto the :mod:`automl_gpt.errors` LLM errors (auth, rate limit, server,
timeout, output) so the core can retry with back-off, cache and account usage in one place
(:mod:`automl_gpt.llm.client`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from automl_gpt.requirements import Requirements


@dataclass
class Usage:
    """Token and cost accounting of one call (or a sum of calls)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0
    calls: int = 1

    def __add__(self, other: Usage) -> Usage:
        cost = None
        if self.cost_usd is not None or other.cost_usd is not None:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            cost,
            self.latency_s + other.latency_s,
            self.calls + other.calls,
        )


@dataclass(frozen=True)
class GenerationSettings:
    """Sampling and transport settings of a call; part of the response-cache key."""

    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int | None = 0
    timeout_s: float = 120.0


@dataclass
class LLMResponse:
    """A model's answer: raw text, the parsed JSON object for structured calls, and usage."""

    text: str
    usage: Usage
    model: str
    data: Any = None
    cached: bool = False


class LLMModel:
    """One model of one provider, ready to call. Implementations must be safe to call repeatedly.

    ``endpoint`` says where the model answers (a server URL, a weights file's name and size) when the same name
    can mean different models; it is part of the response-cache key. ``secret_values`` are credentials the model
    was given directly (a key passed in options, in no key store): the client scrubs them from every answer and
    error, as it scrubs stored keys.
    """

    provider: str = ""
    name: str = ""
    endpoint: str | None = None
    secret_values: tuple[str, ...] = ()

    def generate(self, prompt: str, *, system: str | None = None,
                 settings: GenerationSettings = GenerationSettings()) -> LLMResponse:
        """Plain text generation."""
        raise NotImplementedError

    def generate_json(self, prompt: str, schema: dict[str, Any], *, system: str | None = None,
                      settings: GenerationSettings = GenerationSettings()) -> LLMResponse:
        """Structured output: the answer's ``data`` is a JSON value meant to match ``schema``.

        Providers use the strongest constraint they have (grammar, JSON-schema mode, forced tool call) and return
        the raw text too; the core validates ``data`` against the schema and rejects or repairs it.
        """
        raise NotImplementedError


class LLMProvider:
    """Base class of LLM providers (OpenAI, Anthropic, local GGUF...)."""

    name: str = ""
    description: str = ""
    requirements: Requirements = Requirements()
    default_model: str = ""

    def models(self) -> list[str]:
        """Model names worth showing in ``plugins list``; others may still work."""
        return [self.default_model] if self.default_model else []

    def get_model(self, model: str | None = None, options: dict[str, Any] | None = None) -> LLMModel:
        """A ready model. ``model`` None means :attr:`default_model`; ``options`` carry key, base_url, etc."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What ``plugins list`` shows about this provider."""
        return {
            "name": self.name,
            "default_model": self.default_model,
            "models": self.models(),
            "available": self.requirements.available,
            "unavailable_reason": self.requirements.reason,
        }
