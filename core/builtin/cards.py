"""Default ``parse_card``: validate the mapping against the built-in DataCard/ModelCard schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.hookspecs import hookimpl


@hookimpl(trylast=True)
def parse_card(path: Path, data: dict[str, Any], kind: str) -> DataCard | ModelCard:
    schema: type[DataCard] | type[ModelCard] = DataCard if kind == "data" else ModelCard
    return card_from_mapping(schema, data, path)
