"""The mmdet backend passes the backend conformance suite on a handful of BCCD images."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from automl_gpt.cards import DataCard, ModelCard
from automl_gpt.testing import BackendConformance
from automl_gpt_backend_vision.backend import MMDetBackend

from .conftest import TINY, cheap_card

pytestmark = pytest.mark.slow


class TestMMDetConformance(BackendConformance):
    @pytest.fixture
    def backend(self) -> MMDetBackend:
        return MMDetBackend()

    @pytest.fixture
    def data_card(self, bccd_card: DataCard) -> DataCard:
        return bccd_card

    @pytest.fixture
    def model_card(self, backend: MMDetBackend) -> ModelCard:
        return cheap_card(backend)  # the default RetinaNet, narrowed so that CPU runs take seconds

    @pytest.fixture
    def limits(self) -> dict[str, Any]:
        return dict(TINY)

    @pytest.fixture
    def prediction_data(self, bccd: Path, tmp_path: Path) -> Path:
        """Two BCCD images and one file that is not an image, which is skipped with a warning."""
        folder = tmp_path / "to-predict"
        folder.mkdir()
        for image in sorted((bccd / "images").glob("*.jpg"))[:2]:
            shutil.copy(image, folder / image.name)
        (folder / "broken.jpg").write_bytes(b"not a jpeg")
        return folder
