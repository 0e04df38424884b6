"""Starting weights named by URL: downloaded once from a real HTTP server on 127.0.0.1 into the weight cache,
checked as they load (the head re-initialised for another class count), and an offline fallback in one line."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import torch
from automl_gpt.errors import TrainingError
from automl_gpt.training import TrainingRequest, TrialState
from automl_gpt_backend_vision import pretrained
from automl_gpt_backend_vision.backend import MMDetBackend
from automl_gpt_backend_vision.checkpoint import load_user_checkpoint
from automl_gpt_backend_vision.detectors import model_config
from automl_gpt_backend_vision.pretrained import checkpoint_url, starting_point

from .conftest import CHEAP, TINY, card

CONFIG = {"depth": 18, "fpn_channels": 64, "norm": "BN", "frozen_stages": -1}


def build_detector(classes: int) -> Any:
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    return MODELS.build(model_config("retinanet", CONFIG, classes, {}))


class CheckpointServer:
    """http.server on 127.0.0.1 serving a folder, counting the requests it answered."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.requests: list[str] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[CheckpointServer, str]]:
    """A freshly built 80-class RetinaNet (a stand-in for a COCO detector), saved with torch.save as an mmengine
    checkpoint under a torch-hub-style name carrying its sha256 prefix, served over HTTP."""
    folder = tmp_path / "served"
    folder.mkdir()
    raw = folder / "detector.pth"
    torch.save({"meta": {"epoch": 12}, "state_dict": build_detector(80).state_dict()}, raw)
    name = f"retinanet_coco-{hashlib.sha256(raw.read_bytes()).hexdigest()[:8]}.pth"
    raw.rename(folder / name)
    server = CheckpointServer(folder)
    server.thread.start()
    try:
        yield server, name
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """No offline switch, and no memory of earlier failures (the tests' conftest sets HF_HUB_OFFLINE=1)."""
    for name in pretrained.OFFLINE_ENVS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pretrained, "_UNAVAILABLE", {})


def test_downloads_once_into_the_cache_and_loads_with_a_new_head(
    served: tuple[CheckpointServer, str], online: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, name = served
    monkeypatch.setenv(pretrained.CACHE_ENV, str(tmp_path / "cache"))
    model_card = card(MMDetBackend(), "retinanet", checkpoint=server.url(name))
    lines: list[str] = []
    first = starting_point(model_card, CONFIG, lines.append)
    assert first.path == tmp_path / "cache" / name and first.path.is_file() and first.fallback is None
    assert lines == [f"downloading pre-trained weights {server.url(name)} into {tmp_path / 'cache'}"]
    again = starting_point(model_card, CONFIG, lines.append)
    assert again.path == first.path and server.requests == [f"/{name}"]  # the second trial reads the cache
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [name]  # no partial files left

    model = build_detector(3)
    report = load_user_checkpoint(model, first.path)
    assert report.mismatched == ["bbox_head.retina_cls.bias", "bbox_head.retina_cls.weight"]  # 80 -> 3 classes
    assert not report.missing and not report.unexpected
    served_state = torch.load(first.path, weights_only=True)["state_dict"]
    assert torch.equal(model.state_dict()["backbone.conv1.weight"], served_state["backbone.conv1.weight"])
    assert "re-initialised, shape differs: bbox_head.retina_cls (2)" in report.summary()


def test_the_card_option_overrides_the_cache_folder(
    served: tuple[CheckpointServer, str], online: None, tmp_path: Path
) -> None:
    server, name = served
    model_card = card(MMDetBackend(), "retinanet", checkpoint=server.url(name), checkpoint_cache=str(tmp_path / "w"))
    assert starting_point(model_card, CONFIG, print).path == tmp_path / "w" / name


def test_a_download_that_does_not_match_its_hash_falls_back_and_leaves_nothing(
    served: tuple[CheckpointServer, str], online: None, tmp_path: Path
) -> None:
    server, name = served
    (server.folder / name).rename(server.folder / "detector-00000000.pth")
    model_card = card(MMDetBackend(), "retinanet", checkpoint=server.url("detector-00000000.pth"),
                      checkpoint_cache=str(tmp_path / "cache"))
    start = starting_point(model_card, CONFIG, print)
    assert start.path is None and start.fallback is not None
    assert "sha256 of the download does not start with 00000000" in start.fallback
    assert list((tmp_path / "cache").iterdir()) == []


def test_offline_it_falls_back_in_one_line_naming_the_option_without_a_request(
    served: tuple[CheckpointServer, str], online: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, name = served
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_card = card(MMDetBackend(), "retinanet", checkpoint=server.url(name), checkpoint_cache=str(tmp_path / "c"))
    start = starting_point(model_card, CONFIG, print)
    assert start.path is None and server.requests == []
    assert start.fallback == (
        f"pre-trained weights {server.url(name)} cannot be fetched (HF_HUB_OFFLINE=1): training from scratch; set "
        "options.checkpoint in the model card to a local .pth file, or to null to train from scratch without this note"
    )


def test_an_unreachable_server_is_tried_once_per_process(online: None, tmp_path: Path) -> None:
    closed = CheckpointServer(tmp_path)
    url = closed.url("resnet18-f37072fd.pth")
    closed.httpd.server_close()  # nothing listens on that port any more
    model_card = card(MMDetBackend(), "retinanet", checkpoint=url, checkpoint_cache=str(tmp_path / "c"))
    lines: list[str] = []
    first = starting_point(model_card, CONFIG, lines.append)
    second = starting_point(model_card, CONFIG, lines.append)
    assert first.fallback is not None and "no network" in first.fallback and second.fallback == first.fallback
    assert len([line for line in lines if line.startswith("downloading")]) == 1


def test_named_weights_map_to_their_urls_and_the_depth_is_filled_in(tmp_path: Path) -> None:
    assert checkpoint_url("torchvision://resnet50") == "https://download.pytorch.org/models/resnet50-0676ba61.pth"
    assert checkpoint_url("open-mmlab://resnet50_caffe").startswith("https://download.openmmlab.com/pretrain/")
    with pytest.raises(TrainingError, match="no torchvision weights named 'resnet19'"):
        checkpoint_url("torchvision://resnet19")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "resnet34-b627a593.pth").write_bytes(b"cached earlier")
    shipped = card(MMDetBackend(), "retinanet", checkpoint_cache=str(cache))
    assert shipped.options["checkpoint"] == "torchvision://resnet{depth}"
    start = starting_point(shipped, {**CONFIG, "depth": 34}, print)
    assert start.source == "torchvision://resnet34" and start.path == cache / "resnet34-b627a593.pth"


@pytest.mark.slow
def test_a_trial_starts_from_served_weights_and_says_what_loaded(
    served: tuple[CheckpointServer, str], online: None, bccd_card: Any, tmp_path: Path
) -> None:
    server, name = served
    model_card = card(MMDetBackend(), "retinanet", checkpoint=server.url(name), checkpoint_cache=str(tmp_path / "c"))
    lines: list[str] = []
    request = TrainingRequest(config={**model_card.defaults(), **CHEAP}, data_card=bccd_card, model_card=model_card,
                              workdir=tmp_path / "trial", limits=TINY, echo=lines.append)
    result = MMDetBackend().train(request)
    assert result.state == TrialState.COMPLETE, result.error
    loaded = [line for line in lines if line.startswith("starting weights")]
    assert loaded and "re-initialised, shape differs: bbox_head.retina_cls (2)" in loaded[0]
    assert lines[-1].startswith("iteration 2/2, loss ")
    trial = json.loads((tmp_path / "trial" / "trial.json").read_text())
    assert trial["starting_weights"]["source"] == server.url(name)
    mmdet_config = (tmp_path / "trial" / "mmdet_config.py").read_text()
    assert "norm_eval=True" in mmdet_config  # loaded batch-norm statistics are kept, as MMDetection fine-tunes
    assert "starting weights" in (tmp_path / "trial" / "train.log").read_text()


@pytest.mark.slow
def test_offline_the_default_card_trains_from_scratch_after_one_line(bccd_card: Any, tmp_path: Path) -> None:
    model_card = card(MMDetBackend(), "retinanet")  # torchvision://resnet{depth}; the tests run with HF_HUB_OFFLINE=1
    lines: list[str] = []
    request = TrainingRequest(config={**model_card.defaults(), **CHEAP}, data_card=bccd_card, model_card=model_card,
                              workdir=tmp_path / "trial", limits=TINY, echo=lines.append)
    result = MMDetBackend().train(request)
    assert result.state == TrialState.COMPLETE, result.error
    fallback = [line for line in lines if "cannot be fetched" in line]
    assert len(fallback) == 1 and "options.checkpoint" in fallback[0] and "torchvision://resnet18" in fallback[0]
    assert not any(line.startswith("starting weights") for line in lines)
    assert not any(line.startswith("no GPU") for line in lines)  # every cap was set by the limits
