"""The xgboost backend passes the backend conformance suite on Adult (binary) and a PMLB multiclass set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from automl_gpt.cards import DataCard
from automl_gpt.testing import BackendConformance
from automl_gpt_backend_tabular.backend import XGBoostBackend

from .conftest import SMALL, pmlb_card

pytestmark = pytest.mark.slow


class TestXGBoostConformance(BackendConformance):
    @pytest.fixture
    def backend(self) -> XGBoostBackend:
        return XGBoostBackend()

    @pytest.fixture
    def data_card(self, adult_card: DataCard) -> DataCard:
        return adult_card

    @pytest.fixture
    def limits(self) -> dict[str, Any]:
        return dict(SMALL)


class TestXGBoostMulticlassConformance(TestXGBoostConformance):
    @pytest.fixture
    def data_card(self, shared_data: Path) -> DataCard:
        return pmlb_card(shared_data, "wine_quality_red")
