"""automl-gpt NLP backend: extractive question answering with Hugging Face transformers.

Install with ``pip install 'automl-gpt[nlp]'``. Importing this package is light: torch and transformers load
only when a trial trains. Besides the ``transformers-qa`` backend it reads Hugging Face README.md model cards.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_gpt import hookimpl
from automl_gpt_backend_nlp.backend import REQUIREMENTS, TransformersQABackend

if TYPE_CHECKING:
    from automl_gpt.cards import DataCard, ModelCard
    from automl_gpt.training import Backend

requirements = REQUIREMENTS


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(TransformersQABackend())


@hookimpl
def parse_card(path: Path, data: dict[str, Any], kind: str) -> DataCard | ModelCard | None:
    """Read transformers-qa model cards with Hugging Face metadata, and model folders' README.md cards."""
    if kind != "model":
        return None
    from automl_gpt_backend_nlp.cards import card_from_front_matter

    return card_from_front_matter(path, data)
