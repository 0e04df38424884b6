"""The ``openai`` LLM provider: the official SDK against OpenAI or any OpenAI-compatible server.

``--llm openai:gpt-4o-mini``; options (or ``OPENAI_BASE_URL``) point it at vLLM, Ollama or a llama.cpp server.
"""

from __future__ import annotations

from collections.abc import Callable

from automl_gpt import hookimpl
from automl_gpt.llm import LLMProvider
from automl_gpt.requirements import Requirements

requirements = Requirements(extra="openai", modules=("openai",))


@hookimpl
def register_llm_providers(register: Callable[[LLMProvider], None]) -> None:
    from automl_gpt_llm_openai.provider import OpenAIProvider

    register(OpenAIProvider(requirements))
