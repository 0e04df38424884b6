"""Reading and checking COCO-format detection annotations (pure JSON, no ML library).

:func:`looks_like_coco` tells a COCO file from other JSON by its first bytes; :func:`read_coco` loads an annotation
file and checks that it is a COCO *detection* file whose boxes lie inside their images; :func:`check_images` checks
that every image file exists. Errors are one line naming the file, the offending entry and the fix.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_gpt.errors import DataError

REQUIRED_KEYS = ("images", "annotations", "categories")
BOX_TOLERANCE_PX = 1.0  # VOC-converted boxes often end exactly one pixel past the last column
SNIFF_BYTES = 4096


@dataclass
class CocoSummary:
    """What a COCO detection file holds, in the terms a data card and a trainer need."""

    path: Path
    categories: dict[int, str]
    n_images: int
    n_boxes: int
    boxes_per_class: dict[str, int]
    image_sizes: Counter[tuple[int, int]] = field(default_factory=Counter)
    file_names: list[str] = field(default_factory=list)

    @property
    def class_names(self) -> list[str]:
        """Category names in category-id order (the order mmdet assigns class indices when given them)."""
        return [self.categories[i] for i in sorted(self.categories)]


def looks_like_coco(path: Path) -> bool:
    """Whether ``path`` is a JSON file that names COCO's ``images``/``annotations``/``categories`` in its first
    bytes: a file to draft as COCO, whose problems :func:`read_coco` then reports."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES).decode("utf-8", errors="ignore")
    return any(f'"{key}"' in head for key in REQUIRED_KEYS)


def read_coco(path: str | Path) -> tuple[dict[str, Any], CocoSummary]:
    """Load and check a COCO detection annotation file; returns the raw mapping and its summary.

    Raises :class:`DataError` for a file that is not JSON, not COCO detection, refers to unknown images or
    categories, or has a box that is degenerate or leaves its image.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: annotation file not found (check the split's 'path' in the data card)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a COCO annotation file: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or any(not isinstance(data.get(key), list) for key in REQUIRED_KEYS):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise DataError(
            f"{path}: not a COCO annotation file: expected lists 'images', 'annotations' and 'categories' at the "
            f"top level, found {found} (convert the labels to COCO detection format)"
        )
    categories = _categories(path, data["categories"])
    images = _images(path, data["images"])
    if not images:
        raise DataError(f"{path}: the COCO file lists no images (add images and their boxes)")
    counts: Counter[str] = Counter()
    for index, ann in enumerate(data["annotations"]):
        _check_annotation(path, index, ann, images, categories)
        counts[categories[ann["category_id"]]] += 1
    summary = CocoSummary(
        path=path,
        categories=categories,
        n_images=len(images),
        n_boxes=sum(counts.values()),
        boxes_per_class={name: counts.get(name, 0) for name in (categories[i] for i in sorted(categories))},
        image_sizes=Counter((int(img["width"]), int(img["height"])) for img in images.values()),
        file_names=[str(img["file_name"]) for img in images.values()],
    )
    if summary.n_boxes == 0:
        raise DataError(f"{path}: the COCO file has no boxes (a detector needs annotated objects)")
    return data, summary


def check_images(summary: CocoSummary, images_dir: str | Path) -> None:
    """Raise :class:`DataError` when an image the annotation file names is not in ``images_dir``."""
    folder = Path(images_dir)
    if not folder.is_dir():
        raise DataError(f"{folder}: image folder not found (check the split's 'images' in the data card)")
    missing = [name for name in summary.file_names if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"{summary.path}: {len(missing)} of {summary.n_images} images are missing from {folder}, "
            f"e.g. '{missing[0]}' (put the files there or fix 'images' in the data card)"
        )


def check_classes(summary: CocoSummary, classes: list[str], where: str) -> None:
    """Raise :class:`DataError` unless the file's category names are exactly ``classes`` (any order)."""
    names = summary.class_names
    if len(set(classes)) != len(classes):
        raise DataError(f"{where}: label_space lists a class twice: {classes} (list each class once)")
    if set(names) != set(classes):
        extra = sorted(set(names) - set(classes))
        absent = sorted(set(classes) - set(names))
        detail = []
        if extra:
            detail.append(f"categories not in label_space: {extra}")
        if absent:
            detail.append(f"label_space classes not in the file: {absent}")
        raise DataError(
            f"{summary.path}: classes mismatch with {where}: {'; '.join(detail)} "
            f"(set label_space to {names} or fix the categories)"
        )


def subset(data: dict[str, Any], max_images: int) -> dict[str, Any]:
    """The first ``max_images`` images (by id) of a COCO mapping with their annotations (for budget caps)."""
    images = sorted(data["images"], key=lambda img: img["id"])[:max_images]
    keep = {img["id"] for img in images}
    annotations = [ann for ann in data["annotations"] if ann["image_id"] in keep]
    return {**data, "images": images, "annotations": annotations}


def _categories(path: Path, items: list[Any]) -> dict[int, str]:
    categories: dict[int, str] = {}
    for index, cat in enumerate(items):
        if not isinstance(cat, dict) or not isinstance(cat.get("id"), int) or not isinstance(cat.get("name"), str):
            raise DataError(f"{path}: categories[{index}] needs an integer 'id' and a string 'name' (found {cat!r})")
        if cat["id"] in categories:
            raise DataError(f"{path}: category id {cat['id']} appears twice (give each category its own id)")
        if cat["name"] in categories.values():
            raise DataError(f"{path}: category name '{cat['name']}' appears twice (merge or rename it)")
        categories[cat["id"]] = cat["name"]
    if not categories:
        raise DataError(f"{path}: the COCO file has no categories (list the object classes under 'categories')")
    return categories


def _images(path: Path, items: list[Any]) -> dict[Any, dict[str, Any]]:
    images: dict[Any, dict[str, Any]] = {}
    for index, img in enumerate(items):
        ok = isinstance(img, dict) and "id" in img and isinstance(img.get("file_name"), str)
        ok = ok and all(isinstance(img.get(k), (int, float)) and img[k] > 0 for k in ("width", "height"))
        if not ok:
            raise DataError(
                f"{path}: images[{index}] needs 'id', 'file_name' and positive 'width'/'height' (found {img!r})"
            )
        if img["id"] in images:
            raise DataError(f"{path}: image id {img['id']} appears twice (give each image its own id)")
        images[img["id"]] = img
    return images


def _check_annotation(
    path: Path, index: int, ann: Any, images: dict[Any, dict[str, Any]], categories: dict[int, str]
) -> None:
    where = f"{path}: annotations[{index}]"
    if not isinstance(ann, dict):
        raise DataError(f"{where} is not an object (found {ann!r})")
    if ann.get("image_id") not in images:
        raise DataError(f"{where} refers to image_id {ann.get('image_id')!r}, which 'images' does not list")
    if ann.get("category_id") not in categories:
        raise DataError(f"{where} refers to category_id {ann.get('category_id')!r}, which 'categories' does not list")
    box = ann.get("bbox")
    if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
        raise DataError(f"{where}: 'bbox' must be [x, y, width, height] numbers (found {box!r})")
    x, y, w, h = (float(v) for v in box)
    image = images[ann["image_id"]]
    if w <= 0 or h <= 0:
        raise DataError(f"{where} (image '{image['file_name']}'): box {box} has no area (drop or fix it)")
    width, height = float(image["width"]), float(image["height"])
    tol = BOX_TOLERANCE_PX
    if x < -tol or y < -tol or x + w > width + tol or y + h > height + tol:
        raise DataError(
            f"{where} (image '{image['file_name']}'): box {box} leaves the {width:g}x{height:g} image "
            "(COCO boxes are [x, y, width, height] in pixels; clip the box to the image)"
        )
