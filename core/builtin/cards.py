"""Default card hook: ``parse_card`` validates against the built-in schemas (plugins draft cards: ``draft_card``).

The card schemas (pydantic) load on first use, so listing plugins does not pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_gpt.hookspecs import hookimpl

if TYPE_CHECKING:
    from automl_gpt.cards import DataCard, ModelCard


@hookimpl(trylast=True)
def parse_card(path: Path, data: dict[str, Any], kind: str) -> DataCard | ModelCard:
    from automl_gpt.cards import DataCard, ModelCard, card_from_mapping

    if kind == "data":
        return card_from_mapping(DataCard, data, path)
    return card_from_mapping(ModelCard, data, path)
