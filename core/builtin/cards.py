"""Default card hooks: ``parse_card`` validates against the built-in schemas; ``draft_card`` drafts tables.

The card schemas (pydantic) load on first use, so listing plugins does not pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_gpt.errors import UsageError
from automl_gpt.hookspecs import hookimpl

if TYPE_CHECKING:
    from automl_gpt.cards import DataCard, ModelCard


@hookimpl(trylast=True)
def parse_card(path: Path, data: dict[str, Any], kind: str) -> DataCard | ModelCard:
    from automl_gpt.cards import DataCard, ModelCard, card_from_mapping

    schema: type[DataCard] | type[ModelCard] = DataCard if kind == "data" else ModelCard
    return card_from_mapping(schema, data, path)


@hookimpl(trylast=True)
def draft_card(
    path: Path, target: str | None, task: str | None, name: str | None, test: Path | None
) -> DataCard | None:
    from automl_gpt.cards.draft import check_data_file, draft_data_card, looks_like_coco

    if looks_like_coco(path):
        return None
    check_data_file(path)
    if not target:
        raise UsageError(f"{path}: --target is required to draft a card for a table (name the column to predict)")
    return draft_data_card(path, target=target, task=task, name=name, test=test)
