"""Drafting an object-detection data card from a COCO annotation file (pure JSON, no ML library).

``automl-gpt cards init`` calls :func:`draft_coco_card` when its input is a COCO annotation JSON.
"""

from __future__ import annotations

from pathlib import Path

from automl_gpt.cards import DataCard, DataSplit
from automl_gpt_backend_vision.coco import CocoSummary, check_images, read_coco

SPLIT_WORDS = {"train": ("val", "valid", "validation"), "training": ("validation", "val")}


def draft_coco_card(annotation_path: str | Path, images_dir: str | Path) -> DataCard:
    """A data card for a COCO detection dataset: train split, valid split when a sibling file is found.

    ``annotation_path`` is the training annotation file; ``images_dir`` the folder its ``file_name`` entries are
    relative to. A validation file next to it whose name swaps ``train`` for ``val``/``valid``/``validation``
    (``instances_train.json`` -> ``instances_val.json``) becomes the valid split, with the same image folder.
    Paths in the card are absolute. Raises :class:`~automl_gpt.errors.DataError` for a file that is not COCO,
    boxes outside their image, or missing images.
    """
    path = Path(annotation_path).resolve()
    images = Path(images_dir).resolve()
    _, train = read_coco(path)
    check_images(train, images)
    valid_path = _sibling_valid(path)
    valid = None
    if valid_path is not None:
        _, valid = read_coco(valid_path)
        check_images(valid, images)
    name = _dataset_name(path)
    return DataCard(
        name=name,
        task="object_detection",
        modality="image",
        description=_describe(train, valid),
        train=DataSplit(path=str(path), images=str(images)),
        valid=DataSplit(path=str(valid_path), images=str(images)) if valid_path is not None else None,
        metric="bbox_mAP",
        label_space=list(train.class_names),
        class_balance={k: round(v / train.n_boxes, 4) for k, v in train.boxes_per_class.items()},
        n_rows=train.n_images,
    )


def _sibling_valid(path: Path) -> Path | None:
    stem = path.stem
    for word, replacements in SPLIT_WORDS.items():
        if word not in stem:
            continue
        for replacement in replacements:
            candidate = path.with_name(stem.replace(word, replacement) + path.suffix)
            if candidate.is_file():
                return candidate
    return None


def _dataset_name(path: Path) -> str:
    """The folder holding the annotations (its parent when that folder is called ``annotations``)."""
    folder = path.parent
    if folder.name.lower() in {"annotations", "annotation", "labels"} and folder.parent.name:
        folder = folder.parent
    return folder.name or path.stem


def _describe(train: CocoSummary, valid: CocoSummary | None) -> str:
    sizes = ", ".join(f"{w}x{h} ({n})" for (w, h), n in train.image_sizes.most_common(3))
    per_class = ", ".join(f"{k} {v}" for k, v in train.boxes_per_class.items())
    text = (
        f"Object detection, COCO format: {len(train.categories)} classes ({', '.join(train.class_names)}). "
        f"Train: {train.n_images} images, {train.n_boxes} boxes ({train.n_boxes / train.n_images:.1f} per image; "
        f"{per_class}). Image sizes: {sizes}."
    )
    if valid is not None:
        text += f" Valid: {valid.n_images} images, {valid.n_boxes} boxes."
    return text
