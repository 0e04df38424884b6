"""Data cards for object detection: COCO files are checked, and bad input fails with one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from automl_gpt.cards import load_data_card
from automl_gpt.errors import CardError, DataError
from automl_gpt.testing import train
from automl_gpt.training import TrialState
from automl_gpt_backend_vision.backend import MMDetBackend

from .conftest import TINY, bccd_fields, card, coco, write_card


def two_images(bccd: Path) -> dict[str, Any]:
    """The first two BCCD training images with their boxes, as a COCO mapping."""
    data = json.loads((bccd / "annotations" / "instances_train.json").read_text())
    return {
        **data,
        "images": data["images"][:2],
        "annotations": [a for a in data["annotations"] if a["image_id"] in {i["id"] for i in data["images"][:2]}],
    }


def card_with_train(tmp_path: Path, bccd: Path, train_data: Any, **overrides: Any) -> Any:
    fields = bccd_fields(bccd)
    path = tmp_path / "bad.json"
    if isinstance(train_data, str):
        path.write_text(train_data)
    else:
        coco(path, train_data)
    fields["train"] = {"path": str(path), "images": fields["train"]["images"]}
    fields.update(overrides)
    return load_data_card(write_card(tmp_path / "card", **fields))


def test_bccd_card_is_accepted(backend: MMDetBackend, bccd_card: Any) -> None:
    backend.check_data(bccd_card)
    assert backend.objective(bccd_card).metric == "bbox_mAP"
    assert backend.objective(bccd_card).direction == "maximize"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('[{"image": "a.jpg"}]', "not a COCO annotation file"),
        ('{"images": [], "categories": []}', "not a COCO annotation file"),
    ],
)
def test_not_coco_is_refused(backend: MMDetBackend, bccd: Path, tmp_path: Path, content: str, expected: str) -> None:
    data_card = card_with_train(tmp_path, bccd, content)
    with pytest.raises(DataError, match=expected) as info:
        backend.check_data(data_card)
    assert "bad.json" in str(info.value) and "\n" not in str(info.value)


def test_box_outside_the_image_is_refused(backend: MMDetBackend, bccd: Path, tmp_path: Path) -> None:
    data = two_images(bccd)
    data["annotations"][0]["bbox"] = [600.0, 400.0, 100.0, 100.0]  # ends at x=700 in a 640-wide image
    with pytest.raises(DataError, match=r"annotations\[0\].*leaves the 640x480 image.*clip the box"):
        backend.check_data(card_with_train(tmp_path, bccd, data))


def test_degenerate_box_is_refused(backend: MMDetBackend, bccd: Path, tmp_path: Path) -> None:
    data = two_images(bccd)
    data["annotations"][1]["bbox"] = [10.0, 10.0, 0.0, 5.0]
    with pytest.raises(DataError, match=r"annotations\[1\].*has no area"):
        backend.check_data(card_with_train(tmp_path, bccd, data))


def test_missing_images_are_refused(backend: MMDetBackend, bccd: Path, tmp_path: Path) -> None:
    data = two_images(bccd)
    data["images"][1]["file_name"] = "no_such_image.jpg"
    with pytest.raises(DataError, match=r"1 of 2 images are missing .* 'no_such_image.jpg'"):
        backend.check_data(card_with_train(tmp_path, bccd, data))


def test_classes_mismatch_is_refused(backend: MMDetBackend, bccd: Path, tmp_path: Path) -> None:
    data = two_images(bccd)
    with pytest.raises(DataError, match=r"classes mismatch.*label_space classes not in the file: \['Neutrophil'\]"):
        backend.check_data(card_with_train(tmp_path, bccd, data, label_space=["RBC", "WBC", "Neutrophil"]))


def test_missing_label_space_names_the_classes(backend: MMDetBackend, bccd: Path, tmp_path: Path) -> None:
    fields = bccd_fields(bccd)
    del fields["label_space"]
    with pytest.raises(CardError, match=r"label_space.*add label_space: \['RBC', 'WBC', 'Platelets'\]"):
        backend.check_data(load_data_card(write_card(tmp_path, **fields)))


def test_valid_split_is_required(backend: MMDetBackend, bccd: Path, tmp_path: Path) -> None:
    fields = bccd_fields(bccd)
    del fields["valid"]
    with pytest.raises(CardError, match=r"field 'valid'.*valid split"):
        backend.check_data(load_data_card(write_card(tmp_path, **fields)))


def test_bad_data_fails_the_trial_in_one_line(backend: MMDetBackend, bccd: Path, tmp_path: Path) -> None:
    data = two_images(bccd)
    data["annotations"][0]["category_id"] = 99
    model_card = card(backend, "retinanet")
    result, streamed = train(
        backend, card_with_train(tmp_path, bccd, data), model_card, tmp_path / "trial", limits=TINY
    )
    assert result.state == TrialState.FAIL
    assert result.error is not None and "category_id 99" in result.error and "\n" not in result.error
    assert streamed == []
