"""Detecting objects in a folder of images with a trial's checkpoint: COCO results JSON, broken images skipped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from automl_gpt.cards import DataCard
from automl_gpt.errors import DataError
from automl_gpt.testing import train
from automl_gpt.training import TrialState
from automl_gpt_backend_vision.backend import MMDetBackend

from .conftest import TINY, cheap_card

pytestmark = pytest.mark.slow


def test_folder_of_images_to_coco_results(bccd_card: DataCard, bccd: Path, tmp_path: Path) -> None:
    backend = MMDetBackend()
    result, _ = train(backend, bccd_card, cheap_card(backend), tmp_path / "trial", limits=TINY)
    assert result.state == TrialState.COMPLETE, result.error
    folder = tmp_path / "images"
    folder.mkdir()
    for image in sorted((bccd / "images").glob("*.jpg"))[:2]:
        shutil.copy(image, folder / image.name)
    (folder / "a-broken.png").write_bytes(b"\x89PNG but not really")
    predictor = backend.load_model(tmp_path / "trial")  # the trial folder: its last checkpoint
    report = predictor.predict_file(folder, tmp_path / "detections.json")
    assert report.count == 2
    assert len(report.warnings) == 1 and "a-broken.png" in report.warnings[0]
    detections = json.loads(report.path.read_text())
    assert isinstance(detections, list)
    numbered = sorted(p.name for p in folder.iterdir())  # images are numbered 1, 2... in file-name order
    for detection in detections:
        assert detection["category_id"] in (1, 2, 3) and 0 <= detection["score"] <= 1
        assert numbered[detection["image_id"] - 1] == detection["file_name"] != "a-broken.png"
        assert len(detection["bbox"]) == 4 and detection["bbox"][2] >= 0 and detection["bbox"][3] >= 0
    with pytest.raises(DataError, match="no images"):
        predictor.predict_file(tmp_path / "trial" / "mmdet", tmp_path / "none.json")
