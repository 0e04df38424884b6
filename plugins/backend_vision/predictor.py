"""Detecting objects in a folder of images with a trial's saved checkpoint: a COCO results JSON file.

Each detection is ``{"image_id", "file_name", "category_id", "bbox": [x, y, width, height], "score"}``; images are
numbered 1, 2, ... in file-name order and categories carry the ids of the training annotation file, so the file
loads with ``pycocotools``' ``COCO.loadRes`` against annotations that number images the same way. An image that
does not decode is skipped: logged, and listed in the report's warnings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from automl_gpt.errors import DataError, UsageError
from automl_gpt.prediction import PredictionReport, Predictor, check_output, warn

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class DetectionPredictor(Predictor):
    """A trial's mmengine checkpoint with the trial's ``mmdet_config.py`` and ``trial.json`` beside it."""

    output_suffix = ".json"

    def __init__(self, model_path: Path) -> None:
        super().__init__(model_path)
        if model_path.is_dir():  # a trial folder: its last checkpoint
            last = model_path / "mmdet" / "last_checkpoint"
            model_path = Path(last.read_text().strip()) if last.is_file() else model_path / "missing.pth"
        self.checkpoint = model_path
        self.trial_dir = model_path.parent.parent
        needed = [model_path, self.trial_dir / "mmdet_config.py", self.trial_dir / "trial.json"]
        missing = [str(p) for p in needed if not p.is_file()]
        if missing:
            raise UsageError(f"{self.model_path}: not a saved mmdet trial (missing {', '.join(missing)})")
        self.trial = json.loads((self.trial_dir / "trial.json").read_text(encoding="utf-8"))

    def predict_file(self, data: Path, out: Path) -> PredictionReport:
        """Detect objects in every image of the folder ``data``."""
        check_output(out, (".json",))
        if not data.is_dir():
            raise DataError(f"{data}: not a folder (give a folder of images: {', '.join(IMAGE_SUFFIXES)})")
        images = sorted(p for p in data.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise DataError(f"{data}: no images in the folder (expected files ending in {', '.join(IMAGE_SUFFIXES)})")
        warnings: list[str] = []
        detections = self._detect(images, warnings)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(detections, indent=1), encoding="utf-8")
        return PredictionReport(out, len(images) - len(warnings), warnings)

    def _detect(self, images: list[Path], warnings: list[str]) -> list[dict[str, Any]]:
        import mmcv
        import torch
        from automl_gpt_backend_vision.checkpoint import mmengine_safe_globals
        from mmcv.transforms import Compose
        from mmdet.apis import inference_detector, init_detector
        from mmdet.utils import register_all_modules

        register_all_modules()
        device = "cuda" if torch.cuda.is_available() else "cpu"
        with mmengine_safe_globals():
            # a palette given here spares init_detector the test dataset the trial's config does not have
            model = init_detector(str(self.trial_dir / "mmdet_config.py"), str(self.checkpoint), device=device,
                                  palette="random")
        scale = int(self.trial["schedule"]["image_scale"])
        pipeline = Compose([
            {"type": "mmdet.LoadImageFromNDArray"},
            {"type": "mmdet.Resize", "scale": (scale, scale), "keep_ratio": True},
            {"type": "mmdet.PackDetInputs", "meta_keys": ("img_id", "img_path", "ori_shape", "img_shape",
                                                          "scale_factor")},
        ])
        category_ids = self._category_ids()
        detections: list[dict[str, Any]] = []
        for image_id, path in enumerate(images, start=1):
            try:
                pixels = mmcv.imread(str(path))
            except Exception:  # mmcv raises on some undecodable files and returns None on others
                pixels = None
            if pixels is None:
                warn(warnings, f"{path}: the image does not decode; skipped (no detections for it)")
                continue
            result = inference_detector(model, pixels, test_pipeline=pipeline).pred_instances
            for box, label, score in zip(result.bboxes.tolist(), result.labels.tolist(), result.scores.tolist(),
                                         strict=True):
                x0, y0, x1, y1 = box
                detections.append({
                    "image_id": image_id, "file_name": path.name, "category_id": category_ids[int(label)],
                    "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
                    "score": round(float(score), 5),
                })
        return detections

    def _category_ids(self) -> list[int]:
        """COCO category id of each class index, from the annotation file the trial trained on."""
        classes = list(self.trial["data"]["classes"])
        annotations = Path(self.trial["data"]["train_ann"])
        if not annotations.is_file():
            return list(range(1, len(classes) + 1))
        categories = json.loads(annotations.read_text(encoding="utf-8"))["categories"]
        by_name = {str(c["name"]): int(c["id"]) for c in categories}
        return [by_name.get(name, index + 1) for index, name in enumerate(classes)]
