"""Local checkpoints load with ``weights_only=True`` only, and a checkpoint that does not fit is a clear error."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
from automl_gpt.errors import TrainingError
from automl_gpt_backend_vision.checkpoint import load_user_checkpoint, mmengine_safe_globals


class TinyDetector(torch.nn.Module):
    """Two parts named like a detector's: a backbone and a head."""

    def __init__(self, width: int = 4, classes: int = 3) -> None:
        super().__init__()
        self.backbone = torch.nn.Conv2d(3, width, 3)
        self.head = torch.nn.Conv2d(width, classes, 1)


class RunsCode:
    """A pickle payload that would create a file if unpickled without weights_only."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.target}",)


def test_loads_a_detector_state_dict_and_reports_head_mismatches(tmp_path: Path) -> None:
    source = TinyDetector(classes=80)  # e.g. a COCO detector fine-tuned to 3 classes
    path = tmp_path / "coco.pth"
    torch.save({"meta": {"epoch": 12}, "state_dict": source.state_dict()}, path)
    model = TinyDetector(classes=3)
    report = load_user_checkpoint(model, path)
    assert torch.equal(model.backbone.weight, source.backbone.weight)
    assert report.loaded == 2 and report.skipped == ["head.bias", "head.weight"]


def test_bare_backbone_weights_are_placed_under_backbone(tmp_path: Path) -> None:
    backbone = torch.nn.Conv2d(3, 4, 3)
    path = tmp_path / "resnet.pth"
    torch.save({**backbone.state_dict(), "fc.weight": torch.zeros(10, 4)}, path)  # an ImageNet classifier's head
    model = TinyDetector()
    report = load_user_checkpoint(model, path)
    assert torch.equal(model.backbone.weight, backbone.weight)
    assert report.missing == ["head.bias", "head.weight"] and report.unexpected == ["fc.weight"]
    assert report.summary() == (
        "loaded 2 tensors; initialised afresh, not in the checkpoint: head (2); unused from the checkpoint: fc (1)"
    )


def test_a_checkpoint_that_does_not_fit_names_the_tensor_and_shapes(tmp_path: Path) -> None:
    path = tmp_path / "wide.pth"
    torch.save({"state_dict": TinyDetector(width=8).state_dict()}, path)
    with pytest.raises(TrainingError, match=r"wide\.pth does not fit the model: 2 of 2 backbone tensors") as info:
        load_user_checkpoint(TinyDetector(width=4), path)
    assert "checkpoint (8, 3, 3, 3), model (4, 3, 3, 3)" in str(info.value)


def test_code_in_a_checkpoint_is_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "was-run"
    path = tmp_path / "evil.pth"
    with path.open("wb") as handle:
        pickle.dump({"state_dict": RunsCode(marker)}, handle, protocol=2)
    with pytest.raises(TrainingError, match=r"safe loading: .*unsupported GLOBAL (posix|os)\.system") as info:
        load_user_checkpoint(TinyDetector(), path)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_mmengine_checkpoint_meta_is_allowed_but_other_getattr_is_not(tmp_path: Path) -> None:
    from mmengine.logging import HistoryBuffer

    buffer = HistoryBuffer()
    buffer.update(1.5)
    path = tmp_path / "runner.pth"
    torch.save({"message_hub": {"loss": buffer}}, path)
    with mmengine_safe_globals():
        loaded = torch.load(path, weights_only=True)
    assert loaded["message_hub"]["loss"].current() == 1.5

    evil = tmp_path / "getattr.pth"
    with evil.open("wb") as handle:  # getattr(HistoryBuffer, "__init__") is not one of the statistics methods
        pickle.dump(_GetAttr(HistoryBuffer, "__init__"), handle, protocol=2)
    with pytest.raises(TrainingError, match="not allowed in a checkpoint"), mmengine_safe_globals():
        torch.load(evil, weights_only=True)


class _GetAttr:
    def __init__(self, owner: object, name: str) -> None:
        self.owner, self.name = owner, name

    def __reduce__(self) -> tuple[object, tuple[object, str]]:
        return getattr, (self.owner, self.name)
