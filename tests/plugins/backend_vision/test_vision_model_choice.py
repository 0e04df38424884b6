"""A mixed-architecture detection run on the bundled BCCD images: ``--model auto`` trains RetinaNet, FCOS and
Faster R-CNN once each (TPE starts from every card's defaults), and the report compares them (bbox mAP)."""

from __future__ import annotations

from pathlib import Path

import pytest
from automl_gpt.cards.model_choice import MODEL_PARAM
from automl_gpt.runs import loop

pytestmark = pytest.mark.slow

TINY = {"max_iters": 2, "max_images": 2, "max_image_scale": 256, "evaluations": 1, "max_batch_size": 2}


def test_auto_run_trains_every_detector_card(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_GPT_OFFLINE", "1")  # no weight download: from scratch, said in one line
    result = loop.run(repo / "examples" / "bccd" / "card.yaml", model="auto", planner="tpe", budget=3,
                      out=tmp_path / "runs", limits=TINY, experience=False, echo=lambda _: None)
    cards = ["retinanet", "fcos", "faster_rcnn"]
    assert [t.config[MODEL_PARAM] for t in result.trials] == cards
    assert all(t.result.state.value == "COMPLETE" for t in result.trials), [t.result.error for t in result.trials]
    assert list(result.summary["models"]) == cards
    assert all(row["complete"] == 1 for row in result.summary["models"].values())
