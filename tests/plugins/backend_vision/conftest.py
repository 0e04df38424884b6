"""Fixtures for the vision backend: BCCD data cards and tiny training limits (CPU, seconds per trial)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping, load_data_card
from automl_gpt_backend_vision.backend import MMDetBackend

# A handful of images, a few iterations at a small scale: enough to run the real pipeline and COCO metric.
TINY: dict[str, Any] = {"max_iters": 2, "max_images": 2, "max_image_scale": 256, "evaluations": 1, "max_batch_size": 2}
# The cheapest point of the shipped space (narrow FPN and head), used where the detector itself does not matter.
CHEAP = {"fpn_channels": 64, "depth": 18, "image_scale": 256}


@pytest.fixture(scope="session")
def bccd(shared_data: Path) -> Path:
    return shared_data / "detection" / "bccd"


def write_card(folder: Path, **fields: Any) -> Path:
    """Write a data card YAML into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data_card.yaml"
    path.write_text(yaml.safe_dump(fields, sort_keys=False))
    return path


def bccd_fields(bccd: Path) -> dict[str, Any]:
    images = str(bccd / "images")
    return {
        "name": "bccd",
        "task": "object_detection",
        "modality": "image",
        "train": {"path": str(bccd / "annotations" / "instances_train.json"), "images": images},
        "valid": {"path": str(bccd / "annotations" / "instances_val.json"), "images": images},
        "label_space": ["RBC", "WBC", "Platelets"],
    }


@pytest.fixture
def bccd_card(bccd: Path, tmp_path: Path) -> DataCard:
    return load_data_card(write_card(tmp_path / "card", **bccd_fields(bccd)))


@pytest.fixture
def backend() -> MMDetBackend:
    return MMDetBackend()


def card(backend: MMDetBackend, name: str, **options: Any) -> ModelCard:
    """A shipped model card by name, with some options changed."""
    found = next(c for c in backend.model_cards() if c.name == name)
    if not options:
        return found
    changed = found.model_copy(update={"options": {**found.options, **options}})
    changed._source = found.source
    return changed


def cheap_card(backend: MMDetBackend) -> ModelCard:
    """The default RetinaNet card with the CHEAP values as its defaults (for suites that train card defaults)."""
    found = card(backend, "retinanet")
    assert found.source is not None
    data = yaml.safe_load(found.source.read_text())
    for name, value in CHEAP.items():
        data["search_space"][name]["default"] = value
    return card_from_mapping(ModelCard, data, found.source)


def coco(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path
