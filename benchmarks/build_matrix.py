"""Turn the mining cache (``knowledge_cache/``) into the shipped performance matrix, training nothing.

Called by ``python benchmarks/mine_knowledge.py build``. The pool is cut to its longest prefix of whole blocks that
at least :data:`COVERAGE` of the mined datasets hold, and the datasets to those holding all of it, so the matrix is
complete (a mining stopped mid-way gives a matrix over the blocks it finished).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl_gpt.cards.similarity import CardEmbedder, card_text, meta_features
from automl_gpt.planners import config_key
from automl_gpt.planners.knowledge import MatrixDataset, PerformanceMatrix, trivial_value
from automl_gpt.planners.transfer import adapt_config
from mine_knowledge import BACKEND, BLOCK, CURVE_FRACTIONS, DEFAULT_MODEL, card_for, limits_tag, read_cache
from suite import describe, families, pmlb_card, suite_names

COVERAGE = 0.8


def _embedder() -> CardEmbedder | None:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        return None
    return CardEmbedder()


def mined_prefix(per_dataset: dict[str, dict[int, Any]], pool_size: int, share: float = COVERAGE) -> int:
    """The longest prefix of the pool, in whole blocks, that at least ``share`` of the mined datasets hold."""
    for blocks in range(-(-pool_size // BLOCK), 0, -1):
        prefix = range(min(pool_size, blocks * BLOCK))
        covered = sum(all(i in rows for i in prefix) for rows in per_dataset.values())
        if per_dataset and covered >= share * len(per_dataset):
            return len(prefix)
    return 0


def build_matrix(cache: Path, out: Path, limits: dict[str, Any], pool: list[dict[str, Any]],
                 model: str = DEFAULT_MODEL) -> dict[str, Any]:
    """Write the matrix of the card ``model``'s cached results to ``out``; returns its dict."""
    from automl_gpt.plugins import get_plugin_manager

    backend = get_plugin_manager().backend(BACKEND)
    tag = limits_tag(limits)
    family_of = families()
    embedder = _embedder()
    per_dataset: dict[str, dict[int, dict[str, Any]]] = {}
    for name in suite_names():
        card = pmlb_card(name)
        space = card_for(model, card.task).space()
        found = {r["key"]: r for r in read_cache(name, cache) if r.get("limits") == tag}
        by_pool = {}
        for index, config in enumerate(pool):
            record = found.get(config_key(adapt_config(config, space)))
            if record is not None:
                by_pool[index] = record
        if 0 in by_pool:
            per_dataset[name] = by_pool
    complete = list(range(mined_prefix(per_dataset, len(pool))))
    per_dataset = {n: rows for n, rows in per_dataset.items() if all(i in rows for i in complete)}
    datasets = []
    for name, rows in per_dataset.items():
        card = pmlb_card(name)
        meta = describe(name)
        objective = backend.objective(card)
        trivial = trivial_value(card.task, list((card.class_balance or {}).values()),
                                meta.get("target_std"))
        values, curves = [], []
        for index in complete:
            record = rows[index]
            value = record["metrics"].get(f"valid/{objective.metric}") if record["state"] == "COMPLETE" else None
            values.append(None if value is None else round(float(value), 6))
            curves.append([round(v / trivial, 5) for _, v in record["curve"]] if record["curve"] else None)
        text = card_text(card)
        datasets.append(MatrixDataset(
            name=name, task=card.task, metric=objective.metric, family=family_of.get(name, name),
            trivial=round(trivial, 6), meta={k: round(v, 5) for k, v in meta_features(card).items()},
            values=values, curves=curves, text=text,
            embedding=[round(float(x), 4) for x in embedder.embed_text(text)] if embedder else [],
        ))
    matrix = PerformanceMatrix(
        backend=BACKEND, model_card=model, configs=[pool[i] for i in complete], datasets=datasets,
        fractions=list(CURVE_FRACTIONS), limits={k: v for k, v in limits.items() if k != "threads"},
        embedding_model=embedder.model_name if embedder else "",
    )
    matrix.write(out)
    return matrix.to_dict()
