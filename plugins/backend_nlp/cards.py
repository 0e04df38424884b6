"""Model cards of the transformers-qa backend: shipped YAML and Hugging Face README-style cards.

Two README shapes are understood, besides plain YAML:

* a Markdown card whose front-matter holds automl-gpt model-card fields next to the usual hub metadata
  (``license``, ``language``, ``library_name``, ``pipeline_tag``...), which are set aside;
* the README.md of a downloaded model folder (hub metadata only, no ``backend``): it becomes a card that trains
  that folder as a QA backbone, with the default card's search space and options.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from automl_gpt.cards import ModelCard, card_from_mapping, read_card_file

BACKEND_NAME = "transformers-qa"
MODEL_CARDS = Path(__file__).parent / "model_cards"
DEFAULT_CARD = "minilm-l6-qa.yaml"
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
    """The cards in ``model_cards/`` (YAML and Markdown), the offline default first."""
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
    if data.get("backend") == BACKEND_NAME:
        return card_from_mapping(ModelCard, {k: v for k, v in data.items() if k not in HF_METADATA}, path)
    if "backend" in data or path.suffix.lower() != ".md" or not (path.parent / "config.json").exists():
        return None
    if not HF_METADATA.intersection(data):
        return None
    return _card_for_model_folder(path, data)


def _card_for_model_folder(path: Path, data: dict[str, Any]) -> ModelCard:
    """A card that fine-tunes the model folder holding ``path`` (its README.md) for extractive QA."""
    default = yaml.safe_load((MODEL_CARDS / DEFAULT_CARD).read_text(encoding="utf-8"))
    folder = path.parent.resolve()
    summary = _first_paragraph(path)
    mapping = {
        "name": f"{folder.name}-qa",
        "backend": BACKEND_NAME,
        "tasks": ["extractive_qa"],
        "description": (
            f"{folder.name} (local model folder {folder}) with a new span head for extractive QA. " + summary
        ).strip(),
        "architecture": _architecture(folder),
        "options": dict(default["options"], backbone=str(folder)),
        "search_space": default["search_space"],
    }
    return card_from_mapping(ModelCard, mapping, path)


def _architecture(folder: Path) -> str:
    import json

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    parts = [str(config.get("model_type", "unknown model type"))]
    for key, label in (("num_hidden_layers", "layers"), ("hidden_size", "hidden")):
        if key in config:
            parts.append(f"{config[key]} {label}")
    return ", ".join(parts)


def _first_paragraph(path: Path) -> str:
    """The first prose paragraph of a README body (after the front-matter), for the card description."""
    text = path.read_text(encoding="utf-8")
    body = text.split("---", 2)[2] if text.startswith("---") and text.count("---") >= 2 else text
    for block in body.split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines()]
        prose = " ".join(line for line in lines if line and not line.startswith(("#", "<", "|", "```", "!")))
        if len(prose) > 40:
            return prose[:400]
    return ""
