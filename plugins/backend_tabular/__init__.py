"""automl-gpt tabular backend: XGBoost, histogram gradient boosting and linear models on CSV/Parquet tables.

Install with ``pip install 'automl-gpt[tabular]'``. Importing this package is light: XGBoost, pandas and
scikit-learn load only when data is checked, a card is drafted or a trial trains.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from automl_gpt import hookimpl
from automl_gpt.errors import UsageError
from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend
from automl_gpt_backend_tabular.backend import XGBoostBackend

if TYPE_CHECKING:
    from automl_gpt.cards import DataCard

requirements = Requirements(extra="tabular", modules=("xgboost", "sklearn"))


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(XGBoostBackend())


@hookimpl(trylast=True)
def draft_card(path: Path, target: str | None, task: str | None, name: str | None, test: Path | None) -> DataCard:
    """``automl-gpt cards init table.csv --target COLUMN``: a data card for a CSV or Parquet table.

    Answers last, so every file that no other plugin drafts is read as a table. Without the ``[tabular]`` extra it
    refuses with the install command: nothing could train on the card (nor read a Parquet file) before that.
    """
    if not requirements.available:
        raise UsageError(f"{path}: drafting a card for a table needs the tabular plugin, which is unavailable "
                         f"({requirements.reason})")
    from automl_gpt_backend_tabular.draft import draft_table_card

    return draft_table_card(path, target=target, task=task, name=name, test=test)
