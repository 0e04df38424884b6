"""Pre-trained starting points: ``options.checkpoint`` as a path or URL, downloaded once into a weight cache.

``options.checkpoint`` of a detection model card may be

* ``null``: train from scratch;
* a local ``.pth`` file (relative paths resolve against the card's folder);
* an ``http(s)://`` URL, such as a COCO-trained detector of the MMDetection model zoo;
* ``torchvision://resnet50`` or ``open-mmlab://NAME``: ImageNet backbone weights under the names MMDetection
  uses (``torchvision://`` names come from mmengine's table, so torchvision need not be installed).

``{depth}`` in the value is replaced by the trial's ResNet depth, so ``torchvision://resnet{depth}`` fits every
depth the search tries. Downloads go once into the weight cache: ``options.checkpoint_cache``, else
``$AUTOML_GPT_WEIGHTS_DIR``, else torch hub's ``checkpoints`` folder (``$TORCH_HOME/hub/checkpoints``, the folder
torch and mmengine use, so weights either of them fetched are found). When weights cannot be had (offline
switch set, no network, a bad download) the trial trains from scratch and says so in one line naming
``options.checkpoint``; a local file that is missing stays an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl_gpt.cards import ModelCard
from automl_gpt.errors import TrainingError

CACHE_ENV = "AUTOML_GPT_WEIGHTS_DIR"
# Switches that say "do not touch the network": ours, and Hugging Face's (which users and CI already set).
OFFLINE_ENVS = ("AUTOML_GPT_OFFLINE", "HF_HUB_OFFLINE")
REMOTE_PREFIXES = ("http://", "https://", "torchvision://", "open-mmlab://")
DOWNLOAD_TIMEOUT_S = 60.0
# torch hub's convention: a file named ``name-<first hex digits of its sha256>.pth`` is checked against them
HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
CHUNK = 1 << 20

# Sources that could not be fetched in this process (source -> reason): later trials do not wait on the network.
_UNAVAILABLE: dict[str, str] = {}


@dataclass(frozen=True)
class StartingPoint:
    """Where a trial's weights come from: ``path`` is None for training from scratch."""

    source: str | None
    path: Path | None
    fallback: str | None = None  # the one-line reason when a named source could not be had

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "path": str(self.path) if self.path else None, "fallback": self.fallback}


def starting_point(card: ModelCard, config: dict[str, Any], echo: Callable[[str], None]) -> StartingPoint:
    """Resolve the card's ``options.checkpoint`` for a trial configuration to a local file (downloading once)."""
    raw = card.options.get("checkpoint")
    if not raw:
        return StartingPoint(None, None)
    source = str(raw).replace("{depth}", str(config.get("depth", "")))
    if not source.startswith(REMOTE_PREFIXES):
        return StartingPoint(source, card.resolve(source))
    url = checkpoint_url(source)
    target = cache_dir(card) / Path(urllib.request.url2pathname(url.rsplit("/", 1)[-1])).name
    if target.is_file():
        return StartingPoint(source, target)
    reason = offline_reason() or _UNAVAILABLE.get(source)
    if reason is None:
        echo(f"downloading pre-trained weights {source} into {target.parent}")
        try:
            download(url, target)
            return StartingPoint(source, target)
        except (OSError, ValueError) as exc:  # URLError, HTTPError and timeouts are OSErrors
            reason = _reason(exc)
            _UNAVAILABLE[source] = reason
    return StartingPoint(
        source,
        None,
        f"pre-trained weights {source} cannot be fetched ({reason}): training from scratch; set options.checkpoint "
        "in the model card to a local .pth file, or to null to train from scratch without this note",
    )


def checkpoint_url(source: str) -> str:
    """The download URL of ``http(s)://``, ``torchvision://`` and ``open-mmlab://`` sources."""
    if source.startswith("torchvision://"):
        return _named(source, "torchvision://", _mmengine_hub("torchvision_0.12.json"), "torchvision")
    if source.startswith("open-mmlab://"):
        renamed = _mmengine_hub("deprecated.json").get(source.removeprefix("open-mmlab://"))
        if renamed:
            source = f"open-mmlab://{renamed}"
        return _named(source, "open-mmlab://", _mmengine_hub("openmmlab.json"), "open-mmlab")
    return source


def cache_dir(card: ModelCard) -> Path:
    """Where downloaded weights live: ``options.checkpoint_cache``, ``$AUTOML_GPT_WEIGHTS_DIR`` or torch hub's."""
    option = card.options.get("checkpoint_cache")
    if option:
        return card.resolve(str(option))
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def offline_reason() -> str | None:
    """``"HF_HUB_OFFLINE=1"`` when an offline switch is set, else None."""
    for name in OFFLINE_ENVS:
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{name}={os.environ[name]}"
    return None


def download(url: str, target: Path) -> None:
    """Fetch ``url`` into ``target`` through a temporary file in the same folder, checking a torch-hub-style hash
    in the file name; ``target`` appears only complete. Raises OSError or ValueError."""
    target.parent.mkdir(parents=True, exist_ok=True)
    expected = HASH_IN_NAME.search(target.name)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as partial:
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                while chunk := response.read(CHUNK):
                    partial.write(chunk)
                    digest.update(chunk)
            partial.close()
            if expected and not digest.hexdigest().startswith(expected.group(1)):
                raise ValueError(f"sha256 of the download does not start with {expected.group(1)} as its name says")
            os.replace(partial.name, target)
        finally:
            if os.path.exists(partial.name):
                os.unlink(partial.name)


def _named(source: str, prefix: str, table: dict[str, str], kind: str) -> str:
    name = source.removeprefix(prefix)
    if name not in table:
        known = ", ".join(sorted(n for n in table if "resnet" in n)[:8])
        raise TrainingError(f"options.checkpoint: no {kind} weights named '{name}' (e.g. {known})")
    return table[name]


def _mmengine_hub(file: str) -> dict[str, str]:
    import mmengine

    path = Path(mmengine.__file__).parent / "hub" / file
    table = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in table.items()}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"no network: {exc.reason}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
