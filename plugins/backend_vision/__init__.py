"""automl-gpt vision backend: MMDetection object detectors on COCO-format data described by a data card.

Install with ``pip install 'automl-gpt[vision]'`` (see docs/vision-install.md for mmcv). Importing this package
is light: torch, mmdet, mmengine and mmcv load only when a trial trains.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from automl_gpt import hookimpl
from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend
from automl_gpt_backend_vision.backend import REQUIREMENTS, MMDetBackend

if TYPE_CHECKING:
    from automl_gpt.cards import DataCard

requirements: Requirements = REQUIREMENTS


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(MMDetBackend())


@hookimpl
def draft_card(path: Path, images: Path | None) -> DataCard | None:
    """``automl-gpt cards init instances_train.json [--images DIR]``: a COCO detection data card."""
    from automl_gpt_backend_vision.coco import looks_like_coco

    if not looks_like_coco(path):
        return None
    from automl_gpt_backend_vision.coco_card import draft_coco_card

    return draft_coco_card(path, images if images is not None else path.parent / "images")
