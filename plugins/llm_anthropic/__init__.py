"""The ``anthropic`` LLM provider: the official SDK; structured output through a forced tool call.

``--llm anthropic:claude-3-5-haiku-latest``; options (or ``ANTHROPIC_BASE_URL``) point it at any server that
speaks the Messages API (e.g. llama.cpp's ``llama-server``).
"""

from __future__ import annotations

from collections.abc import Callable

from automl_gpt import hookimpl
from automl_gpt.llm import LLMProvider
from automl_gpt.requirements import Requirements

requirements = Requirements(extra="anthropic", modules=("anthropic",))


@hookimpl
def register_llm_providers(register: Callable[[LLMProvider], None]) -> None:
    from automl_gpt_llm_anthropic.provider import AnthropicProvider

    register(AnthropicProvider(requirements))
