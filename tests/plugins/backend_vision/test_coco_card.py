"""Drafting a data card from a COCO annotation file (the COCO branch of ``automl-gpt cards init``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from automl_gpt.cards import load_data_card
from automl_gpt.errors import DataError
from automl_gpt_backend_vision.backend import MMDetBackend
from automl_gpt_backend_vision.coco import looks_like_coco
from automl_gpt_backend_vision.coco_card import draft_coco_card

from .conftest import coco


def test_drafts_bccd_with_its_valid_split(bccd: Path, backend: MMDetBackend, tmp_path: Path) -> None:
    card = draft_coco_card(bccd / "annotations" / "instances_train.json", bccd / "images")
    assert card.task == "object_detection" and card.modality == "image"
    assert card.name == "bccd"
    assert card.label_space == ["RBC", "WBC", "Platelets"]
    assert card.n_rows == 205
    assert card.valid is not None and card.valid.path.endswith("instances_val.json")
    assert card.class_balance is not None and abs(sum(card.class_balance.values()) - 1) < 1e-3
    assert card.class_balance["RBC"] > card.class_balance["WBC"]
    assert "205 images, 2804 boxes" in card.description and "640x480" in card.description
    # The draft is a valid card file that the backend accepts as it is.
    path = tmp_path / "bccd.yaml"
    path.write_text(card.to_yaml())
    backend.check_data(load_data_card(path))


def test_no_valid_sibling_means_no_valid_split(bccd: Path, tmp_path: Path) -> None:
    source = (bccd / "annotations" / "instances_val.json").read_text()
    lone = tmp_path / "cells.json"
    lone.write_text(source)
    card = draft_coco_card(lone, bccd / "images")
    assert card.valid is None and card.n_rows == 87
    assert yaml.safe_load(card.to_yaml())["train"]["images"] == str((bccd / "images").resolve())


def test_drafting_refuses_a_file_that_is_not_coco(bccd: Path, tmp_path: Path) -> None:
    path = coco(tmp_path / "labels.json", {"boxes": [[1, 2, 3, 4]]})
    with pytest.raises(DataError, match=r"labels\.json: not a COCO annotation file"):
        draft_coco_card(path, bccd / "images")


def test_drafting_refuses_missing_images(bccd: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="images are missing"):
        draft_coco_card(bccd / "annotations" / "instances_train.json", tmp_path)


def test_looks_like_coco(tmp_path: Path) -> None:
    coco = tmp_path / "instances.json"
    coco.write_text('{"info": {}, "images": [{"id": 1}], "annotations": [], "categories": []}')
    other = tmp_path / "other.json"
    other.write_text('{"questions": []}')
    named = tmp_path / "instances.txt"
    named.write_text(coco.read_text())
    assert looks_like_coco(coco)
    assert not looks_like_coco(other) and not looks_like_coco(named)
    assert not looks_like_coco(tmp_path / "missing.json")
