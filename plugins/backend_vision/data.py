"""Checking an object-detection data card against its COCO files (pure JSON, no ML library)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from automl_gpt.cards import DataCard
from automl_gpt.errors import CardError
from automl_gpt_backend_vision.coco import CocoSummary, check_classes, check_images, read_coco


@dataclass
class CocoSplit:
    """One checked split: its annotation file, image folder, raw COCO mapping and summary."""

    annotations: Path
    images: Path
    raw: dict[str, Any]
    summary: CocoSummary


@dataclass
class DetectionData:
    """The checked train and valid splits of a detection data card, and its classes in order."""

    train: CocoSplit
    valid: CocoSplit
    classes: tuple[str, ...]


def load_detection_data(card: DataCard) -> DetectionData:
    """Check a detection data card and its files; raises CardError or DataError naming the file and the fix.

    The card needs ``task: object_detection``, ``train`` and ``valid`` splits each with ``path`` (COCO annotation
    JSON) and ``images`` (folder), and ``label_space`` equal to the category names of both files.
    """
    where = str(card.source) if card.source else f"data card '{card.name}'"
    if card.task != "object_detection":
        raise CardError(
            card.source,
            f"task '{card.task}' is not object_detection",
            field="task",
            fix="use the mmdet backend only for object_detection cards",
        )
    train = _split(card, "train")
    valid = _split(card, "valid")
    first = train.summary.class_names
    if not card.label_space:
        raise CardError(
            card.source, "object detection needs the class names", field="label_space", fix=f"add label_space: {first}"
        )
    classes = tuple(str(c) for c in card.label_space)
    check_classes(train.summary, list(classes), where)
    check_classes(valid.summary, list(classes), where)
    return DetectionData(train=train, valid=valid, classes=classes)


def _split(card: DataCard, name: Literal["train", "valid"]) -> CocoSplit:
    entry = getattr(card, name)
    if entry is None:
        raise CardError(
            card.source,
            "object detection needs a valid split to compute bbox mAP",
            field=name,
            fix="add valid: {path: <COCO json>, images: <folder>}",
        )
    if not entry.images:
        raise CardError(
            card.source,
            "a COCO split needs the folder of its images",
            field=f"{name}.images",
            fix="add images: <folder holding the file_name entries>",
        )
    annotations = card.resolve(entry.path)
    images = card.resolve(entry.images)
    raw, summary = read_coco(annotations)
    check_images(summary, images)
    return CocoSplit(annotations=annotations, images=images, raw=raw, summary=summary)
