"""The vision plugin registers the ``mmdet`` backend without importing torch or mmdet."""

from __future__ import annotations

import subprocess
import sys

import automl_gpt_backend_vision
from automl_gpt.testing import plugins_loaded
from automl_gpt_backend_vision.backend import MMDetBackend


def test_registers_the_mmdet_backend() -> None:
    with plugins_loaded(automl_gpt_backend_vision) as manager:
        backend = manager.backend("mmdet")
    assert isinstance(backend, MMDetBackend)
    assert backend.tasks == frozenset({"object_detection"})
    assert automl_gpt_backend_vision.requirements.extra == "vision"
    assert set(automl_gpt_backend_vision.requirements.modules) == {"torch", "mmdet", "mmengine", "mmcv"}


def test_import_and_model_cards_stay_light() -> None:
    code = (
        "import sys, automl_gpt_backend_vision as m; from automl_gpt_backend_vision.backend import MMDetBackend;"
        "from automl_gpt_backend_vision.coco_card import draft_coco_card;"
        "cards = MMDetBackend().model_cards();"
        "heavy = [n for n in ('torch', 'mmdet', 'mmengine', 'mmcv', 'cv2') if n in sys.modules];"
        "print(len(cards), heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "3 []"


def test_model_cards_cover_three_detectors_with_typed_spaces() -> None:
    cards = MMDetBackend().model_cards()
    assert [c.name for c in cards] == ["retinanet", "fcos", "faster_rcnn"]
    for card in cards:
        space = card.space()
        assert card.options["detector"] == card.name
        assert card.options["checkpoint"] == "torchvision://resnet{depth}"  # ImageNet weights for every depth tried
        assert {
            "optimizer",
            "lr",
            "momentum",
            "weight_decay",
            "batch_size",
            "max_iters",
            "warmup_iters",
            "image_scale",
            "flip_prob",
            "depth",
            "frozen_stages",
        } <= set(space)
        assert space["lr"].log and space["weight_decay"].log
        assert not space["momentum"].is_active({"optimizer": "adamw"})
        assert set(space.by_stage()) == {"data_processing", "model", "hyperparameters"}
