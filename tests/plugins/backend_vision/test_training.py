"""Real training on a handful of BCCD images (CPU): COCO metric, artifacts, resume, checkpoints, no silent zero."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from automl_gpt.cards import DataCard
from automl_gpt.testing import train
from automl_gpt.training import TrialState
from automl_gpt_backend_vision.backend import MMDetBackend

from .conftest import CHEAP, TINY, card

pytestmark = pytest.mark.slow


def test_trains_a_detector_and_scores_it_with_the_coco_metric(
    backend: MMDetBackend, bccd_card: DataCard, tmp_path: Path
) -> None:
    model_card = card(backend, "retinanet")
    config = {**model_card.defaults(), **CHEAP}
    result, streamed = train(
        backend, bccd_card, model_card, tmp_path / "trial", config=config, limits={**TINY, "max_iters": 3}
    )
    assert result.state == TrialState.COMPLETE, result.error
    assert [r.step for r in streamed if r.metric == "loss"] == [1, 2, 3]
    assert all(r.value > 0 for r in streamed if r.split == "train")
    valid = {r.metric: r for r in streamed if r.split == "valid"}
    assert {"bbox_mAP", "bbox_mAP_50", "detections"} <= set(valid)
    assert valid["bbox_mAP"].step == 3
    assert 0.0 <= result.metrics["valid/bbox_mAP"] <= result.metrics["valid/bbox_mAP_50"] <= 1.0
    assert result.metrics["valid/detections"] > 0  # pycocotools scored real detections
    saved = json.loads(Path(result.artifacts["metrics"]).read_text())
    assert saved == result.metrics
    assert Path(result.artifacts["model"]).name == "iter_3.pth"
    assert "RetinaNet" in Path(result.artifacts["config"]).read_text()
    trial = json.loads(Path(result.artifacts["trial"]).read_text())
    assert trial["schedule"]["iters"] == 3 and trial["schedule"]["image_scale"] == 256
    assert trial["device"] in {"cpu", "cuda"}


def test_resumes_from_the_saved_checkpoint(backend: MMDetBackend, bccd_card: DataCard, tmp_path: Path) -> None:
    model_card = card(backend, "retinanet")
    config = {**model_card.defaults(), **CHEAP}
    workdir = tmp_path / "trial"
    first, _ = train(backend, bccd_card, model_card, workdir, config=config, limits=TINY)
    assert first.state == TrialState.COMPLETE, first.error
    longer = {**TINY, "max_iters": 4}
    second, streamed = train(backend, bccd_card, model_card, workdir, config=config, limits=longer)
    assert second.state == TrialState.COMPLETE, second.error
    assert [r.step for r in streamed if r.metric == "loss"] == [3, 4]  # iterations 1-2 came from the checkpoint
    assert Path(second.artifacts["model"]).name == "iter_4.pth"
    other = {**config, "lr": config["lr"] / 2}
    refused, _ = train(backend, bccd_card, model_card, workdir, config=other, limits=longer)
    assert refused.state == TrialState.FAIL and "another configuration" in (refused.error or "")


def test_starts_from_a_local_checkpoint_and_refuses_one_that_does_not_fit(
    backend: MMDetBackend, bccd_card: DataCard, tmp_path: Path
) -> None:
    model_card = card(backend, "retinanet")
    config = {**model_card.defaults(), **CHEAP}
    source, _ = train(backend, bccd_card, model_card, tmp_path / "source", config=config, limits=TINY)
    weights = source.artifacts["model"]
    fine_tune = card(backend, "retinanet", checkpoint=weights)
    result, _ = train(backend, bccd_card, fine_tune, tmp_path / "fine", config=config, limits=TINY)
    assert result.state == TrialState.COMPLETE, result.error
    deeper = {**config, "depth": 34}
    unfit, streamed = train(backend, bccd_card, fine_tune, tmp_path / "unfit", config=deeper, limits=TINY)
    assert unfit.state == TrialState.FAIL
    assert unfit.error is not None and "does not fit the model" in unfit.error and "iter_2.pth" in unfit.error
    assert streamed == []


def test_an_evaluation_without_detections_is_an_error_not_a_zero(
    backend: MMDetBackend, bccd_card: DataCard, tmp_path: Path
) -> None:
    model_card = card(backend, "retinanet", score_thr=0.99)  # a barely trained detector scores nothing this high
    config = {**model_card.defaults(), **CHEAP}
    result, streamed = train(backend, bccd_card, model_card, tmp_path / "trial", config=config, limits=TINY)
    assert result.state == TrialState.FAIL
    assert result.error is not None and "no detections on the valid split" in result.error
    assert not any(r.split == "valid" for r in streamed)
