"""automl-gpt vision backend: MMDetection object detectors on COCO-format data described by a data card.

Install with ``pip install 'automl-gpt[vision]'`` (see docs/vision-install.md for mmcv). Importing this package
is light: torch, mmdet, mmengine and mmcv load only when a trial trains.
"""

from __future__ import annotations

from collections.abc import Callable

from automl_gpt import hookimpl
from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend
from automl_gpt_backend_vision.backend import REQUIREMENTS, MMDetBackend

requirements: Requirements = REQUIREMENTS


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(MMDetBackend())
