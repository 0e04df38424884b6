"""The ``mmdet`` backend: object detection on COCO-format data with MMDetection 3.x.

This module stays light (no torch, mmdet or mmengine at import); :mod:`.trainer` does the work.
"""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from automl_gpt.errors import AutomlGptError
from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend, Objective, TrainingRequest, TrialResult, TrialState

if TYPE_CHECKING:  # pydantic and yaml load only when cards are needed, keeping `plugins list` fast
    from automl_gpt.cards import DataCard, ModelCard
    from automl_gpt.prediction import Predictor

MODEL_CARDS = Path(__file__).parent / "model_cards"
CARD_ORDER = ("retinanet", "fcos", "faster_rcnn")  # the first is the default
REQUIREMENTS = Requirements(extra="vision", modules=("torch", "mmdet", "mmengine", "mmcv"))


class MMDetBackend(Backend):
    """MMDetection detectors trained by an mmengine Runner; the search maximises valid COCO bbox mAP."""

    name = "mmdet"
    description = "MMDetection 3.x object detectors (RetinaNet, FCOS, Faster R-CNN) on COCO-format data"
    tasks = frozenset({"object_detection"})
    requirements = REQUIREMENTS

    def model_cards(self) -> list[ModelCard]:
        """RetinaNet (default), FCOS and Faster R-CNN with ResNet backbones."""
        return list(_model_cards())

    def objective(self, data_card: DataCard) -> Objective:
        return Objective("bbox_mAP", "maximize")

    def check_data(self, data_card: DataCard) -> None:
        from automl_gpt_backend_vision.data import load_detection_data

        load_detection_data(data_card)

    def train(self, request: TrainingRequest) -> TrialResult:
        from automl_gpt_backend_vision.data import load_detection_data

        started = time.monotonic()
        try:
            config = request.model_card.space().check(request.config)
            data = load_detection_data(request.data_card)
        except AutomlGptError as exc:
            return TrialResult(TrialState.FAIL, error=str(exc).splitlines()[0], duration_s=time.monotonic() - started)
        from automl_gpt_backend_vision.trainer import run_trial

        return run_trial(request, config, data, started)

    def load_model(self, model_path: Path) -> Predictor:
        """A trial's checkpoint (or its folder); it detects objects in a folder of images into COCO results JSON."""
        from automl_gpt_backend_vision.predictor import DetectionPredictor

        return DetectionPredictor(Path(model_path))


@cache
def _model_cards() -> tuple[ModelCard, ...]:
    import yaml
    from automl_gpt.cards import ModelCard, card_from_mapping

    cards = []
    for name in CARD_ORDER:
        path = MODEL_CARDS / f"{name}.yaml"
        cards.append(card_from_mapping(ModelCard, yaml.safe_load(path.read_text(encoding="utf-8")), path))
    return tuple(cards)
