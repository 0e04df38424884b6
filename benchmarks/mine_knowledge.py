"""Mine the tabular suite into a performance matrix: a pool of one model card's configurations trained on every
dataset.

    python benchmarks/mine_knowledge.py mine --workers 2           # resumable; stop it any time
    python benchmarks/mine_knowledge.py mine --blocks 2 --max-minutes 60
    python benchmarks/mine_knowledge.py build                      # the shipped matrix, from the cache only
    python benchmarks/mine_knowledge.py status                     # how far the mining got
    python benchmarks/mine_knowledge.py mine --model linear --workers 1   # another card of the tabular backend

``--model`` names a model card of the tabular backend (:data:`POOL_SIZES`; default ``xgboost``). Each card has
its own pool, cache folder (:func:`cache_dir`: ``knowledge_cache/`` for XGBoost, ``knowledge_cache/<card>/`` for
the others) and shipped matrix (:func:`matrix_path`: ``knowledge/<card>_matrix.json.gz``).

The pool (:func:`pool`, frozen in the cache folder's ``pool.json``) is the card's defaults, a few changes
practitioners try first (:data:`COMMON_PRACTICE`) and a seeded random (space-filling) sample of the card's space,
all with holdout validation so that every configuration of a dataset is scored on the same validation rows. (The
XGBoost pool also holds the best configuration of each of the 16 datasets of the earlier, TPE-searched knowledge
base.) It is trained in blocks of :data:`BLOCK` configurations, block by block over the whole suite (smallest
datasets first), so that an interrupted mining leaves a complete matrix over a prefix of the pool.

Every finished (dataset, configuration) training is appended at once to ``<cache>/<dataset>.jsonl.gz`` (one gzip
member per record: an append-only, compressed cache committed with the repository). A training killed mid-way
leaves at most a truncated last member, which the next read drops and rewrites away. ``build`` turns the cache
into the shipped matrix without training anything.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import multiprocessing
import os
import random
import sys
import tempfile
import time
import warnings
import zlib
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import describe, pmlb_card, suite_names

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "benchmarks" / "knowledge_cache"
KNOWLEDGE = REPO / "plugins" / "backend_tabular" / "knowledge"
BACKEND = "xgboost"
DEFAULT_MODEL = "xgboost"
LIMITS: dict[str, Any] = {"max_rows": 3000, "max_rounds": 1000, "threads": 1}
# Pool size per model card of the tabular backend (sized to what one loaded CPU core mines in a few hours).
POOL_SIZES = {"xgboost": 65, "hist_gradient_boosting": 24, "linear": 16}
POOL_SIZE = POOL_SIZES[DEFAULT_MODEL]
# The parameter that sets a card's number of boosting rounds (capped by the limits' max_rounds); a card without
# one fits once, and its log is one step.
ROUNDS_PARAM = {"xgboost": "n_estimators", "hist_gradient_boosting": "max_iter"}
BLOCK = 8
POOL_SEED = 0
TRAIN_SEED = 0
CURVE_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)
# Changes to the defaults that practitioners reach for first, per card, beside the random pool members. Boosting:
# a smaller learning rate with more rounds under early stopping, row and column subsampling, smaller trees;
# linear: stronger and weaker regularisation, an L1 penalty (binary tasks only), a was-missing indicator.
COMMON_PRACTICE: dict[str, tuple[dict[str, Any], ...]] = {
    "xgboost": (
        {"learning_rate": 0.1, "n_estimators": 1000},
        {"learning_rate": 0.05, "n_estimators": 2000, "subsample": 0.8, "colsample_bytree": 0.8},
        {"learning_rate": 0.05, "n_estimators": 2000, "max_depth": 4, "min_child_weight": 2.0},
        {"learning_rate": 0.1, "n_estimators": 1000, "max_depth": 3, "colsample_bytree": 0.5},
        # a small min_child_weight lets near-deterministic tables keep splitting at a low learning rate (added last)
        {"learning_rate": 0.05, "n_estimators": 2000, "min_child_weight": 0.1, "subsample": 0.8,
         "colsample_bytree": 0.8},
    ),
    "hist_gradient_boosting": (
        {"learning_rate": 0.05, "max_iter": 1000},
        {"learning_rate": 0.05, "max_iter": 1000, "max_leaf_nodes": 15, "l2_regularization": 1.0},
        {"learning_rate": 0.1, "max_iter": 500, "min_samples_leaf": 5, "max_features": 0.5},
    ),
    "linear": (
        {"C": 0.1, "alpha": 10.0},
        {"C": 10.0, "alpha": 0.1},
        {"penalty": "l1"},
        {"missing_values": "impute_indicator", "C": 0.1, "alpha": 10.0},
    ),
}


def quiet() -> None:
    """Silence library chatter in worker processes."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")
    logging.getLogger("automl_gpt").setLevel(logging.WARNING)


# -- the pool -------------------------------------------------------------------------------------------------


def cache_dir(model: str = DEFAULT_MODEL) -> Path:
    """The mining cache of a model card (XGBoost's, mined first, is the folder itself)."""
    return CACHE if model == DEFAULT_MODEL else CACHE / model


def matrix_path(model: str = DEFAULT_MODEL) -> Path:
    """Where the tabular backend ships the matrix of a model card."""
    return KNOWLEDGE / f"{model}_matrix.json.gz"


def model_cards(model: str) -> list[Any]:
    """The tabular backend's cards called ``model`` (one per group of tasks that share a parameter set)."""
    from automl_gpt.plugins import get_plugin_manager

    cards = [c for c in get_plugin_manager().backend(BACKEND).model_cards() if c.name == model]
    if not cards:
        raise SystemExit(f"model card {model!r}: not a card of the tabular backend (known: {', '.join(POOL_SIZES)})")
    return cards


def card_for(model: str, task: str) -> Any:
    """The card called ``model`` that trains ``task``."""
    return next(c for c in model_cards(model) if task in c.tasks)


def pool_space(model: str) -> Any:
    """Every parameter of the card's task variants, the first variant's first (for XGBoost: its binary card's
    space, a superset of the other variant's)."""
    from automl_gpt.cards.search_space import SearchSpace

    params: dict[str, Any] = {}
    for card in model_cards(model):
        for name, param in card.space().items():
            params.setdefault(name, param)
    return SearchSpace(params)


def pool(size: int | None = None, cache: Path | None = None, model: str = DEFAULT_MODEL) -> list[dict[str, Any]]:
    """The card's pool of configurations (size: the card's :data:`POOL_SIZES`), in mining order (defaults
    first), on :func:`pool_space`.

    Made once (:func:`make_pool`) and frozen in the cache folder's ``pool.json``, so the mining resumes with the
    same pool whatever changes around it.
    """
    size = size or POOL_SIZES[model]
    frozen = (cache or cache_dir(model)) / "pool.json"
    if frozen.exists():
        return list(json.loads(frozen.read_text(encoding="utf-8")))[:size]
    configs = make_pool(size, model=model)
    frozen.parent.mkdir(parents=True, exist_ok=True)
    frozen.write_text(json.dumps(configs, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return configs


def make_pool(size: int | None = None, seed: int = POOL_SEED, model: str = DEFAULT_MODEL) -> list[dict[str, Any]]:
    """A fresh pool: the card's defaults, its :data:`COMMON_PRACTICE`, then random samples. (The shipped XGBoost
    pool.json also holds, after those, the best configuration of each dataset of the earlier 16-dataset knowledge
    base, and its last common-practice change comes last, 65th: it was added after the mining, screened against five
    other variants of the usual advice on the suite's classification datasets, see docs/benchmarks.md.)"""
    from automl_gpt.planners import config_key
    from automl_gpt.planners.transfer import adapt_config

    size = size or POOL_SIZES[model]
    space = pool_space(model)
    configs = [space.defaults()] + [{**space.defaults(), **change} for change in COMMON_PRACTICE.get(model, ())]
    rng = random.Random(seed)
    while len(configs) < size * 4 and len({config_key(c) for c in configs}) < size:
        configs.append(space.sample(rng))
    unique: dict[str, dict[str, Any]] = {}
    for config in configs:
        holdout = adapt_config({**config, "validation": "holdout"}, space)
        unique.setdefault(config_key(holdout), holdout)
    return list(unique.values())[:size]


# -- the cache --------------------------------------------------------------------------------------------------


def cache_file(name: str, cache: Path = CACHE) -> Path:
    return cache / f"{name}.jsonl.gz"


def read_cache(name: str, cache: Path = CACHE) -> list[dict[str, Any]]:
    """The records of one dataset; a truncated last member (a killed writer) is dropped and rewritten away."""
    path = cache_file(name, cache)
    if not path.exists():
        return []
    raw = path.read_bytes()
    records: list[dict[str, Any]] = []
    good_end = offset = 0
    while offset < len(raw):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            text = decoder.decompress(raw[offset:])
            if not decoder.eof:
                break
            records.extend(json.loads(line) for line in text.decode("utf-8").splitlines() if line.strip())
        except (zlib.error, ValueError):
            break
        offset = len(raw) - len(decoder.unused_data)
        good_end = offset
    if good_end < len(raw):
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(raw[:good_end])
        os.replace(tmp, path)
    return records


def append_record(name: str, record: dict[str, Any], cache: Path = CACHE) -> None:
    """Append one record as its own gzip member (mtime 0: the same record gives the same bytes)."""
    path = cache_file(name, cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode("utf-8")
    member = gzip.compress(line, mtime=0)
    with path.open("ab") as handle:
        handle.write(member)
        handle.flush()
        os.fsync(handle.fileno())


def limits_tag(limits: dict[str, Any]) -> str:
    return "-".join(f"{k}{v}" for k, v in sorted(limits.items()) if k != "threads")


# -- training ---------------------------------------------------------------------------------------------------


def curve_points(log: Any, metric: str, rounds: int) -> list[list[float]]:
    """The validation metric at :data:`CURVE_FRACTIONS` of the planned rounds (the last value once stopped)."""
    points = log.curve("valid", metric)
    if not points:
        return []
    result = []
    for fraction in CURVE_FRACTIONS:
        step = max(1, round(rounds * fraction))
        value = next((v for s, v in points if s >= step), points[-1][1])
        result.append([fraction, round(float(value), 6)])
    return result


def mine_dataset(
    name: str, configs: list[tuple[int, dict[str, Any]]], limits: dict[str, Any], cache: Path,
    model: str = DEFAULT_MODEL,
) -> tuple[str, int, float]:
    """Train the card ``model`` on the configurations of ``configs`` that the dataset's cache lacks; returns
    (name, trained, seconds)."""
    from automl_gpt.planners import config_key
    from automl_gpt.planners.transfer import adapt_config
    from automl_gpt.plugins import get_plugin_manager
    from automl_gpt.training import TrainingRequest, TrialResult, TrialState

    started = time.monotonic()
    card = pmlb_card(name)
    backend = get_plugin_manager().backend(BACKEND)
    model_card = card_for(model, card.task)
    space = model_card.space()
    metric = backend.objective(card).metric
    tag = limits_tag(limits)
    done = {r["key"] for r in read_cache(name, cache) if r.get("limits") == tag}
    trained = 0
    for pool_index, raw in configs:
        config = adapt_config(raw, space)
        key = config_key(config)
        if key in done:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            request = TrainingRequest(config=dict(config), data_card=card, model_card=model_card,
                                      workdir=Path(tmp), seed=TRAIN_SEED, limits=dict(limits))
            t0 = time.monotonic()
            try:
                result = backend.train(request)
            except Exception as exc:  # recorded, as the run loop records a crashing trial
                result = TrialResult(TrialState.FAIL, error=f"{type(exc).__name__}: {exc}")
            seconds = time.monotonic() - t0
        rounds = planned_rounds(config, model, limits)
        record = {
            "key": key,
            "pool": pool_index,
            "config": config,
            "limits": tag,
            "seed": TRAIN_SEED,
            "state": result.state.value,
            "metrics": {k: round(float(v), 6) for k, v in result.metrics.items()},
            "curve": curve_points(result.log, metric, rounds) if result.state == TrialState.COMPLETE else [],
            "rounds_run": len(result.log.curve("valid", metric)),
            "error": (result.error or "")[:300] or None,
            "seconds": round(seconds, 2),
        }
        append_record(name, record, cache)
        done.add(key)
        trained += 1
    return name, trained, time.monotonic() - started


def planned_rounds(config: dict[str, Any], model: str, limits: dict[str, Any]) -> int:
    """The rounds a configuration of the card ``model`` plans under the limits (1 for a card that fits once)."""
    param = ROUNDS_PARAM.get(model)
    if param is None:
        return 1
    return min(int(config[param]), int(limits.get("max_rounds") or config[param]))


def mine(args: argparse.Namespace) -> int:
    quiet()
    configs = list(enumerate(pool(args.pool, args.cache, args.model)))
    names = [n for n in suite_names() if not args.only or n in args.only]
    names.sort(key=lambda n: (describe(n)["n_rows"] * max(1, describe(n)["n_features"]), n))
    blocks = [configs[i: i + BLOCK] for i in range(0, len(configs), BLOCK)][: args.blocks]
    deadline = time.monotonic() + args.max_minutes * 60 if args.max_minutes else None
    jobs = [(name, block) for block in blocks for name in names]
    total, finished, started = len(jobs), 0, time.monotonic()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.workers, initializer=quiet, mp_context=spawn) as workers:
        pending: dict[Future[tuple[str, int, float]], tuple[str, Any]] = {}
        queue = iter(jobs)
        busy: set[str] = set()
        waiting: list[tuple[str, Any]] = []

        def submit() -> None:
            while len(pending) < args.workers * 2:
                job = next((j for j in waiting if j[0] not in busy), None)
                if job is not None:
                    waiting.remove(job)
                else:
                    job = next(queue, None)
                    if job is None:
                        return
                    if job[0] in busy:  # one process per dataset file at a time
                        waiting.append(job)
                        continue
                if deadline and time.monotonic() > deadline:
                    return
                busy.add(job[0])
                pending[workers.submit(mine_dataset, job[0], job[1], LIMITS, args.cache, args.model)] = job

        submit()
        while pending:
            future = next(as_completed(pending))
            job = pending.pop(future)
            busy.discard(job[0])
            name, trained, seconds = future.result()
            finished += 1
            elapsed = time.monotonic() - started
            eta = elapsed / finished * (total - finished)
            print(f"[{finished}/{total}] block {job[1][0][0] // BLOCK} {name:40s} {trained} trained "
                  f"{seconds:6.1f} s | {elapsed / 60:5.1f} min elapsed, ETA {eta / 60:5.1f} min", flush=True)
            submit()
    print(status_line(args.cache, [c for _, c in configs], args.model))
    return 0


def status_line(cache: Path, configs: list[dict[str, Any]], model: str = DEFAULT_MODEL) -> str:
    """Trainings, datasets reached and datasets with the whole pool (pool members that differ only in parameters a
    dataset's task lacks, such as the linear card's alpha on classification, are one training there)."""
    from automl_gpt.planners import config_key
    from automl_gpt.planners.transfer import adapt_config

    tag = limits_tag(LIMITS)
    names = suite_names()
    trainings = complete = reached = 0
    seconds = 0.0
    for name in names:
        records = read_cache(name, cache)
        keys = {r["key"] for r in records if r.get("limits") == tag}
        space = card_for(model, pmlb_card(name).task).space()
        trainings += len(keys)
        reached += bool(keys)
        complete += all(config_key(adapt_config(c, space)) in keys for c in configs)
        seconds += sum(r.get("seconds", 0) for r in records)
    return (f"cache {cache}: {trainings} trainings over {reached}/{len(names)} datasets, "
            f"{complete} with the whole pool of {len(configs)}; {seconds / 3600:.2f} CPU-hours of training")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    mine_p = sub.add_parser("mine", help="train the pool on the suite (resumable)")
    mine_p.add_argument("--workers", type=int, default=2)
    mine_p.add_argument("--blocks", type=int, default=None, help="stop after this many blocks of the pool")
    mine_p.add_argument("--max-minutes", type=float, default=None, help="submit no new dataset after this")
    mine_p.add_argument("--only", action="append", default=[], help="mine only this dataset (repeatable)")
    for p in (mine_p, sub.add_parser("status", help="how far the mining got"),
              sub.add_parser("build", help="write the shipped matrix from the cache")):
        p.add_argument("--model", choices=sorted(POOL_SIZES), default=DEFAULT_MODEL,
                       help="the tabular backend's model card (default: %(default)s)")
        p.add_argument("--cache", type=Path, default=None, help="default: the card's folder, cache_dir()")
        p.add_argument("--pool", type=int, default=None, help="pool size (default: the card's POOL_SIZES)")
    build_p = sub.choices["build"]
    build_p.add_argument("--out", type=Path, default=None, help="default: knowledge/<card>_matrix.json.gz")
    args = parser.parse_args(argv)
    args.cache = args.cache or cache_dir(args.model)
    args.pool = args.pool or POOL_SIZES[args.model]
    if args.command == "mine":
        return mine(args)
    if args.command == "status":
        print(status_line(args.cache, pool(args.pool, args.cache, args.model), args.model))
        return 0
    from build_matrix import build_matrix

    out = args.out or matrix_path(args.model)
    matrix = build_matrix(args.cache, out, LIMITS, pool(args.pool, args.cache, args.model), args.model)
    print(f"wrote {out}: {len(matrix['datasets'])} datasets x {len(matrix['configs'])} configurations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
