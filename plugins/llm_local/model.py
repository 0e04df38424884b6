"""A GGUF model in-process through xllamacpp: llama.cpp's own server engine, from a prebuilt wheel (no compiling).

Loaded once per process; each call goes through the engine's chat completions with the model's own chat template;
structured calls are constrained by the JSON schema (LLGuidance grammar, which bounds numbers too).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl_gpt.errors import LLMError, LLMTimeoutError
from automl_gpt.llm import GenerationSettings, LLMModel, LLMResponse, Usage

DEFAULT_SETTINGS = GenerationSettings()

JSON_INSTRUCTION = "Answer with one JSON value that matches this JSON schema (respect every minimum, maximum and enum):"
# Compact JSON: no free whitespace between tokens, which a small model can otherwise repeat until max_tokens.
COMPACT_JSON = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


@dataclass
class _Loaded:
    server: Any
    load_seconds: float
    lock: threading.Lock


_LOADED: dict[tuple[str, int], _Loaded] = {}
_LOAD_LOCK = threading.Lock()
_GRAMMARS: dict[str, str] = {}


def _xllamacpp() -> Any:
    # The engine's OpenMP threads spin while they wait unless told otherwise; next to training jobs (XGBoost's own
    # OpenMP threads) on a few cores that spinning slows generation tenfold. Read once, when OpenMP loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import xllamacpp
    except ImportError as exc:  # the wheel links the system's OpenMP runtime
        hint = " (install the OpenMP runtime: apt-get install libgomp1)" if "libgomp" in str(exc) else ""
        raise LLMError(f"local: cannot load xllamacpp: {exc}{hint}") from None
    return xllamacpp


def load(path: Path, n_ctx: int, n_threads: int) -> _Loaded:
    """The process-wide engine serving the model for ``(path, n_ctx)``, loaded on first use."""
    key = (str(path), n_ctx)
    with _LOAD_LOCK:
        if key not in _LOADED:
            xlc = _xllamacpp()
            params = xlc.CommonParams()
            params.model.path = str(path)
            params.n_ctx = n_ctx
            params.n_parallel = 1
            params.cpuparams.n_threads = n_threads
            params.cpuparams_batch.n_threads = n_threads
            params.verbosity = -1
            params.ui = False
            started = time.monotonic()
            try:
                server = xlc.Server(params)
            except RuntimeError as exc:
                raise LLMError(f"local: cannot load {path}: {exc} (is it a GGUF model file?)") from None
            _LOADED[key] = _Loaded(server, time.monotonic() - started, threading.Lock())
        return _LOADED[key]


def grammar_for(schema: dict[str, Any]) -> str:
    """The engine's grammar that only admits compact JSON shaped by ``schema`` (cached per schema)."""
    text = json.dumps(schema, sort_keys=True)
    if text not in _GRAMMARS:
        _GRAMMARS[text] = _xllamacpp().json_schema_to_grammar({**schema, "x-guidance": COMPACT_JSON})
    return _GRAMMARS[text]


class LocalModel(LLMModel):
    """One GGUF model. ``load_seconds`` and ``tokens_per_second`` (of the last call) report its speed."""

    provider = "local"

    def __init__(self, name: str, path: Path, *, n_ctx: int, n_threads: int) -> None:
        self.name = name
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.endpoint = f"{path.name}:{path.stat().st_size}"
        self.tokens_per_second: float | None = None

    @property
    def load_seconds(self) -> float:
        """Seconds the model took to load in this process (loads it if needed)."""
        return load(self.path, self.n_ctx, self.n_threads).load_seconds

    def generate(
        self, prompt: str, *, system: str | None = None, settings: GenerationSettings = DEFAULT_SETTINGS
    ) -> LLMResponse:
        return self._complete(_messages(prompt, system), settings, grammar=None)

    def generate_json(
        self,
        prompt: str,
        schema: dict[str, Any],
        *,
        system: str | None = None,
        settings: GenerationSettings = DEFAULT_SETTINGS,
    ) -> LLMResponse:
        instruction = f"{JSON_INSTRUCTION}\n{json.dumps(schema, separators=(',', ':'))}"
        system = f"{system}\n\n{instruction}" if system else instruction
        response = self._complete(_messages(prompt, system), settings, grammar=grammar_for(schema))
        try:
            response.data = json.loads(response.text)
        except ValueError:
            response.data = None  # cut at max_tokens: the client reports it
        return response

    def _complete(
        self, messages: list[dict[str, str]], settings: GenerationSettings, grammar: str | None
    ) -> LLMResponse:
        loaded = load(self.path, self.n_ctx, self.n_threads)
        request: dict[str, Any] = {
            "messages": messages,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if settings.seed is not None:
            request["seed"] = settings.seed
        if grammar is not None:
            request["grammar"] = grammar
        pieces: list[str] = []
        usage: dict[str, Any] = {}
        errors: list[str] = []
        deadline = time.monotonic() + settings.timeout_s
        timed_out = False

        def on_chunk(chunk: Any) -> bool:
            """Collect one streamed chunk; True stops the generation (past the deadline)."""
            nonlocal timed_out
            if isinstance(chunk, dict):
                if "error" in chunk:
                    errors.append(_error_text(chunk["error"]))
                usage.update(chunk.get("usage") or {})
                for choice in chunk.get("choices") or []:
                    pieces.append((choice.get("delta") or {}).get("content") or "")
            timed_out = time.monotonic() > deadline
            return timed_out

        with loaded.lock:
            started = time.monotonic()
            answer = loaded.server.handle_chat_completions(request, on_chunk)
            elapsed = time.monotonic() - started
        if isinstance(answer, dict) and "error" in answer:
            errors.append(_error_text(answer["error"]))
        if errors:
            raise LLMError(f"local: {self.name}: {errors[0]}")
        if timed_out:
            error = LLMTimeoutError(f"local: {self.name} gave no complete answer within {settings.timeout_s:g} s")
            error.retryable = False  # the same model on the same CPU will not be faster next time
            raise error
        completion = int(usage.get("completion_tokens", 0))
        self.tokens_per_second = completion / elapsed if elapsed > 0 and completion else None
        return LLMResponse(
            text="".join(pieces),
            usage=Usage(int(usage.get("prompt_tokens", 0)), completion, 0.0, elapsed),
            model=self.name,
        )


def _error_text(error: Any) -> str:
    """The engine's error message, with the context-window hint this provider's option gives."""
    if not isinstance(error, dict):
        return str(error)
    if error.get("type") == "exceed_context_size_error":
        return (
            f"prompt of {error.get('n_prompt_tokens')} tokens exceeds the context window n_ctx={error.get('n_ctx')} "
            "(pass a larger n_ctx option)"
        )
    return str(error.get("message") or error)


def _messages(prompt: str, system: str | None) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}] if system else []
    return [*messages, {"role": "user", "content": prompt}]
