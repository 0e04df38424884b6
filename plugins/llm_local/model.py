"""A GGUF model in-process: loaded once per process, chat template of the model, grammar-constrained JSON."""

from __future__ import annotations

import atexit
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl_gpt.errors import LLMError, LLMTimeoutError
from automl_gpt.llm import GenerationSettings, LLMModel, LLMResponse, Usage

DEFAULT_SETTINGS = GenerationSettings()

JSON_INSTRUCTION = "Answer with one JSON value that matches this JSON schema (respect every minimum, maximum and enum):"


@dataclass
class _Loaded:
    llama: Any
    formatter: Any
    load_seconds: float
    lock: threading.Lock


_LOADED: dict[tuple[str, int], _Loaded] = {}
_LOAD_LOCK = threading.Lock()
_GRAMMARS: dict[str, Any] = {}


def load(path: Path, n_ctx: int, n_threads: int) -> _Loaded:
    """The process-wide llama.cpp model for ``(path, n_ctx)``, loaded on first use."""
    key = (str(path), n_ctx)
    with _LOAD_LOCK:
        if key not in _LOADED:
            from llama_cpp import Llama

            started = time.monotonic()
            try:
                llama = Llama(
                    model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, verbose=False
                )
            except (ValueError, RuntimeError) as exc:
                raise LLMError(f"local: cannot load {path}: {exc} (is it a GGUF model file?)") from None
            if not _LOADED:
                atexit.register(_close_all)
            _LOADED[key] = _Loaded(llama, _chat_formatter(llama), time.monotonic() - started, threading.Lock())
        return _LOADED[key]


def _close_all() -> None:
    """Free the models before interpreter shutdown tears down the modules their finalizers need."""
    with _LOAD_LOCK:
        for loaded in _LOADED.values():
            loaded.llama.close()
        _LOADED.clear()


def _chat_formatter(llama: Any) -> Any:
    """The model's own chat template (from the GGUF metadata), or ChatML when the file has none."""
    from llama_cpp import llama_chat_format

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return llama_chat_format.format_chatml
    eos, bos = llama.token_eos(), llama.token_bos()
    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
        stop_token_ids=[eos],
    )


def grammar_for(schema: dict[str, Any]) -> Any:
    """A llama.cpp grammar that only admits JSON shaped by ``schema`` (cached per schema)."""
    text = json.dumps(schema, sort_keys=True)
    if text not in _GRAMMARS:
        from llama_cpp import LlamaGrammar

        try:
            _GRAMMARS[text] = LlamaGrammar.from_json_schema(text, verbose=False)
        except Exception as exc:  # the converter raises bare exceptions on schema features it lacks
            raise LLMError(f"local: cannot turn the JSON schema into a grammar: {exc}") from None
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

    def _complete(self, messages: list[dict[str, str]], settings: GenerationSettings, grammar: Any) -> LLMResponse:
        from llama_cpp import StoppingCriteriaList

        loaded = load(self.path, self.n_ctx, self.n_threads)
        formatted = loaded.formatter(messages=messages)
        deadline = time.monotonic() + settings.timeout_s
        timed_out = False

        def past_deadline(_tokens: Any, _logits: Any) -> bool:
            nonlocal timed_out
            timed_out = time.monotonic() > deadline
            return timed_out

        criteria = StoppingCriteriaList([past_deadline])
        if formatted.stopping_criteria is not None:
            criteria.extend(formatted.stopping_criteria)
        with loaded.lock:
            llama = loaded.llama
            tokens = llama.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
            if len(tokens) + settings.max_tokens > self.n_ctx:
                raise LLMError(
                    f"local: prompt of {len(tokens)} tokens plus max_tokens={settings.max_tokens} exceeds "
                    f"the context window n_ctx={self.n_ctx} (pass a larger n_ctx option)"
                )
            started = time.monotonic()
            result = llama.create_completion(
                prompt=tokens,
                max_tokens=settings.max_tokens,
                temperature=settings.temperature,
                seed=settings.seed,
                stop=_stops(formatted.stop),
                stopping_criteria=criteria,
                grammar=grammar,
            )
            elapsed = time.monotonic() - started
        if timed_out:
            error = LLMTimeoutError(f"local: {self.name} gave no complete answer within {settings.timeout_s:g} s")
            error.retryable = False  # the same model on the same CPU will not be faster next time
            raise error
        usage = result["usage"]
        self.tokens_per_second = usage["completion_tokens"] / elapsed if elapsed > 0 else None
        return LLMResponse(
            text=result["choices"][0]["text"],
            usage=Usage(usage["prompt_tokens"], usage["completion_tokens"], 0.0, elapsed),
            model=self.name,
        )


def _stops(stop: str | list[str] | None) -> list[str]:
    if stop is None:
        return []
    return [stop] if isinstance(stop, str) else list(stop)


def _messages(prompt: str, system: str | None) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}] if system else []
    return [*messages, {"role": "user", "content": prompt}]
