"""LLM access: the provider interface plugins implement, and the core's client around it.

:mod:`.provider` is the interface (re-exported here: ``from automl_gpt.llm import LLMProvider``); :mod:`.client`
adds retries with back-off, schema validation, caching (:mod:`.cache`) and usage accounting to any provider;
:mod:`.keys` stores API keys. This package imports nothing from the cards' loaders, the planners, the runs or the
CLI, and this module imports only the light interface.
"""

from automl_gpt.llm.provider import GenerationSettings, LLMModel, LLMProvider, LLMResponse, Usage

__all__ = ["GenerationSettings", "LLMModel", "LLMProvider", "LLMResponse", "Usage"]
