"""Model cards of the transformers-qa backend: shipped YAML and Hugging Face README-style cards.

A card may be YAML, or a Markdown file (a Hugging Face ``README.md``) whose front-matter holds the automl-gpt
model-card fields next to the usual hub metadata (``license``, ``language``, ``library_name``,
``pipeline_tag``...); the hub metadata is set aside, everything else is validated as a model card.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from automl_gpt.cards import ModelCard, card_from_mapping, read_card_file
from automl_gpt_backend_nlp.backend import BACKEND_NAME

MODEL_CARDS = Path(__file__).parent / "model_cards"
DEFAULT_CARD = "distilbert-squad-qa.yaml"
# Front-matter keys of Hugging Face model cards (huggingface_hub's ModelCardData) that are not ours.
HF_METADATA = frozenset(
    {
        "language",
        "license",
        "license_name",
        "license_link",
        "library_name",
        "tags",
        "datasets",
        "metrics",
        "pipeline_tag",
        "base_model",
        "base_model_relation",
        "model-index",
        "model_name",
        "widget",
        "inference",
        "thumbnail",
        "co2_eq_emissions",
        "eval_results",
        "new_version",
        "extra_gated_prompt",
        "extra_gated_fields",
    }
)


@cache
def shipped_model_cards() -> tuple[ModelCard, ...]:
    """The cards in ``model_cards/`` (YAML and Markdown), the default (a reader already fine-tuned on SQuAD) first."""
    paths = sorted(MODEL_CARDS.glob("*.yaml")) + sorted(MODEL_CARDS.glob("*.md"))
    paths.sort(key=lambda p: p.name != DEFAULT_CARD)
    cards = []
    for path in paths:
        data, read = read_card_file(path)
        card = card_from_front_matter(read, data)
        if card is None:
            raise ValueError(f"{path} is not a {BACKEND_NAME} model card")
        cards.append(card)
    return tuple(cards)


def card_from_front_matter(path: Path, data: dict[str, Any]) -> ModelCard | None:
    """A transformers-qa model card from a card file's mapping, or None when the card is not for this backend."""
    if data.get("backend") != BACKEND_NAME:
        return None
    return card_from_mapping(ModelCard, {k: v for k, v in data.items() if k not in HF_METADATA}, path)
