"""Fixtures of the tabular backend tests: the shipped Adult card, small limits, PMLB cards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from automl_gpt.cards import DataCard, ModelCard, load_data_card
from automl_gpt_backend_tabular.backend import XGBoostBackend

# Seconds, not minutes: 1,500 training rows and at most 40 boosting rounds.
SMALL = {"max_rows": 1500, "max_rounds": 40, "threads": 2}


@pytest.fixture
def backend() -> XGBoostBackend:
    return XGBoostBackend()


@pytest.fixture
def adult_card(repo: Path) -> DataCard:
    """The Adult card shipped in examples/adult (official adult.data / adult.test)."""
    return load_data_card(repo / "examples" / "adult" / "card.yaml")


@pytest.fixture
def small() -> dict[str, Any]:
    return dict(SMALL)


def model_card_for(backend: XGBoostBackend, card: DataCard) -> ModelCard:
    return next(c for c in backend.model_cards() if card.task in c.tasks)


def pmlb_card(shared_data: Path, name: str, task: str = "multiclass", target: str = "target") -> DataCard:
    """A data card for one of the shared PMLB files (header row, numeric columns)."""
    return DataCard(name=name, task=task, train=str(shared_data / "tabular" / f"{name}.csv.gz"), target=target)
