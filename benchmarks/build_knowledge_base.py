"""Build the xgboost backend's shipped knowledge base from the public tabular suite (reproducible, seeded).

For every dataset of ``../shared/data/tabular/`` (16 PMLB datasets with JSON cards, converted to data cards
here):

1. a seeded TPE search (seeded with the default configuration) runs ``--trials`` real XGBoost trials under the
   ``--max-rows``/``--max-rounds`` limits;
2. the ``--cross`` best configurations of every *other* dataset are trained on it too, so each dataset's list
   of best configurations also holds configurations that were found elsewhere and proved good here;
3. the best ``--keep`` configurations, the card, its embedding and its meta-features go into a gzipped
   experience export (the format of ``automl-gpt experience export``).

    python benchmarks/build_knowledge_base.py                      # all 16, into the plugin's knowledge/ folder
    python benchmarks/build_knowledge_base.py --exclude magic --out /tmp/kb-without-magic.json.gz

``--exclude X`` leaves X out entirely: no entry for X, and none of X's configurations trained elsewhere. Every
training is cached (``--cache``, keyed by dataset, configuration, limits and seed), so rebuilding without one
dataset (as the leave-one-out benchmark does) trains nothing new.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from automl_gpt.cards import DataCard, ModelCard
from automl_gpt.experience import ExperienceStore, StoredRun, StoredTrial, write_export
from automl_gpt.planners import TPEPlanner, config_key
from automl_gpt.planning import PastTrial, Planner, PlanningContext
from automl_gpt.plugins import get_plugin_manager
from automl_gpt.training import Backend, TrainingRequest, TrialResult, TrialState
from automl_gpt.transfer import adapt_config

REPO = Path(__file__).resolve().parents[1]
SUITE = Path(os.environ.get("AUTOML_GPT_SHARED_DATA", REPO.parent / "shared" / "data")) / "tabular"
KNOWLEDGE_BASE = REPO / "plugins" / "backend_tabular" / "knowledge" / "xgboost_pmlb.json.gz"
CACHE = REPO / "benchmarks" / "out" / "cache"
BUILD_SEED = 0
TRAIN_SEED = 0
KB_TRIALS, KB_CROSS, KB_KEEP = 30, 2, 5
LIMITS: dict[str, Any] = {"max_rows": 5000, "max_rounds": 2000, "threads": 1}


def quiet() -> None:
    """Silence Optuna's per-study chatter and experimental-feature warnings in benchmark output."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)


def suite_names(folder: Path = SUITE) -> list[str]:
    """Dataset names of the public tabular suite, sorted."""
    return sorted(p.stem for p in folder.glob("*.json"))


def pmlb_card(name: str, folder: Path = SUITE) -> DataCard:
    """The data card of one suite dataset, from its PMLB JSON description."""
    meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    counts = {str(k): int(v) for k, v in meta["class_counts"].items()}
    total = sum(counts.values())
    labels = sorted(counts, key=lambda k: float(k))
    description = f"Domain: {meta.get('domain', 'unknown')}. {meta.get('description', '')}".strip()
    source = meta["source"]
    return DataCard(
        name=meta["name"],
        task=meta["task"],
        description=description,
        train=str((folder / meta["file"]).resolve()),
        target=meta.get("target_column", "target"),
        metric="logloss",
        label_space=[int(float(k)) for k in labels],
        class_balance={k: round(counts[k] / total, 4) for k in labels},
        n_rows=int(meta["n_rows"]),
        n_features=int(meta["n_features"]),
        source_url=f"https://{source['repo']}/tree/{source['commit']}/{source['path']}",
        license=meta.get("license"),
    )


@dataclass
class Setup:
    """A dataset resolved against a backend: the model card and objective the run loop would pick."""

    card: DataCard
    backend: Backend
    model_card: ModelCard

    def context(self, seed: int) -> PlanningContext:
        space = self.model_card.space()
        return PlanningContext(self.card, self.model_card, space, self.backend.objective(self.card), seed=seed)


def setup(card: DataCard, backend_name: str = "xgboost") -> Setup:
    """Check the data and pick the backend's first model card for the task."""
    backend = get_plugin_manager().backend(backend_name)
    backend.check_data(card)
    model_card = next(c for c in backend.model_cards() if card.task in c.tasks)
    return Setup(card, backend, model_card)


class Evaluator:
    """Trains configurations on one dataset through the backend, with a persistent cache of results.

    A result depends only on (dataset, configuration, limits, training seed): the holdout split is fixed by the
    model card, so the same configuration always scores the same and is trained once.
    """

    def __init__(self, prepared: Setup, limits: dict[str, Any], cache: Path | None, seed: int = TRAIN_SEED) -> None:
        self.prepared = prepared
        self.limits = dict(limits)
        self.seed = seed
        self.trained = 0
        tag = "-".join(f"{k}{v}" for k, v in sorted(limits.items()) if k != "threads")
        self.file = cache / f"{prepared.card.name}-{tag}-s{seed}.jsonl" if cache else None
        self._known: dict[str, dict[str, Any]] = {}
        if self.file is not None and self.file.exists():
            for line in self.file.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    item = json.loads(line)
                    self._known[item["key"]] = item

    def __call__(self, config: dict[str, Any]) -> TrialResult:
        key = config_key(config)
        item = self._known.get(key)
        if item is None:
            result = self._train(config)
            item = {
                "key": key,
                "state": result.state.value,
                "metrics": result.metrics,
                "error": result.error,
                "duration_s": round(result.duration_s, 3),
            }
            self._known[key] = item
            self.trained += 1
            if self.file is not None:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                with self.file.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(item) + "\n")
        return TrialResult(
            TrialState(item["state"]),
            metrics=dict(item["metrics"]),
            error=item.get("error"),
            duration_s=float(item.get("duration_s") or 0.0),
        )

    def _train(self, config: dict[str, Any]) -> TrialResult:
        with tempfile.TemporaryDirectory() as tmp:
            request = TrainingRequest(
                config=dict(config),
                data_card=self.prepared.card,
                model_card=self.prepared.model_card,
                workdir=Path(tmp),
                seed=self.seed,
                limits=dict(self.limits),
            )
            started = time.monotonic()
            try:
                result = self.prepared.backend.train(request)
            except Exception as exc:  # recorded like the run loop records it
                result = TrialResult(TrialState.FAIL, error=f"{type(exc).__name__}: {exc}")
            result.duration_s = result.duration_s or time.monotonic() - started
            return result


def drive(planner: Planner, context: PlanningContext, budget: int, evaluate: Evaluator,
          batch: int = 1) -> list[PastTrial]:
    """The run loop's ask/train/tell cycle (``batch`` candidates per ask), without its run folder and report."""
    seen = {config_key(p.config) for p in context.history}
    for _ in range(budget * 5):
        wanted = min(batch, budget - len(context.history))
        if wanted <= 0:
            break
        for candidate in planner.ask(wanted):
            if config_key(candidate.config) in seen or len(context.history) >= budget:
                continue
            seen.add(config_key(candidate.config))
            result = evaluate(candidate.config)
            context.history.append(PastTrial(len(context.history), dict(candidate.config), result))
            planner.tell(candidate, result)
    return context.history


Row = tuple[dict[str, Any], "float | None", str, dict[str, float]]


def search(name: str, trials: int, limits: dict[str, Any], cache: Path | None) -> list[Row]:
    """Step 1: the seeded TPE search (seeded with the default) on one suite dataset; (config, value, state, metrics)."""
    started = time.monotonic()
    prepared = setup(pmlb_card(name))
    context = prepared.context(BUILD_SEED)
    objective = context.objective
    history = drive(TPEPlanner(context), context, trials, Evaluator(prepared, limits, cache))
    rows = [(p.config, p.result.value(objective), p.result.state.value, p.result.metrics) for p in history]
    values = [r[1] for r in rows if r[1] is not None]
    print(
        f"search {name:25s} {len(rows)} trials {time.monotonic() - started:6.1f} s  default {rows[0][1]:.5g}  "
        f"best {min(values):.5g}",
        flush=True,
    )
    return rows


def cross_evaluate(name: str, configs: list[dict[str, Any]], limits: dict[str, Any], cache: Path | None) -> list[Row]:
    """Step 2: other datasets' best configurations, adapted to this dataset's space and trained on it."""
    prepared = setup(pmlb_card(name))
    space = prepared.model_card.space()
    objective = prepared.backend.objective(prepared.card)
    evaluate = Evaluator(prepared, limits, cache)
    rows = []
    for config in configs:
        adapted = adapt_config(config, space)
        result = evaluate(adapted)
        rows.append((adapted, result.value(objective), result.state.value, result.metrics))
    return rows


def build(
    out: Path,
    *,
    exclude: set[str],
    trials: int,
    cross: int,
    keep: int,
    limits: dict[str, Any],
    cache: Path | None,
    workers: int = 1,
    verbose: bool = True,
    searched: dict[str, list[Row]] | None = None,
) -> list[StoredRun]:
    """Search, cross-evaluate and write the knowledge base without the excluded datasets; returns its runs.

    ``workers`` > 1 runs the datasets in parallel processes (each writes only its own cache file). ``searched``
    passes step 1's results when they are already known (they do not depend on what is excluded).
    """
    names = [n for n in suite_names() if n not in exclude]
    known = searched or {}
    todo = [n for n in names if n not in known]
    with contextlib.redirect_stdout(sys.stdout if verbose else io.StringIO()):
        fresh = _map(search, [(n, trials, limits, cache) for n in todo], workers)
    searched = {**known, **dict(zip(todo, fresh, strict=True))}
    portfolio = {name: _top_configs(rows, cross) for name, rows in searched.items()}
    jobs = []
    for name in names:
        tried = {config_key(r[0]) for r in searched[name]}
        others = [c for origin in names if origin != name for c in portfolio[origin]]
        jobs.append((name, [c for c in others if config_key(c) not in tried], limits, cache))
    crossed = dict(zip(names, _map(cross_evaluate, jobs, workers), strict=True))
    with tempfile.TemporaryDirectory() as tmp:
        store = ExperienceStore(Path(tmp) / "kb.sqlite")
        for name in names:
            prepared = setup(pmlb_card(name))
            rows, seen = [], set()
            for row in searched[name] + crossed[name]:
                if config_key(row[0]) not in seen:
                    seen.add(config_key(row[0]))
                    rows.append(row)
            store.add_run(
                prepared.card,
                prepared.model_card.name,
                [r[:3] for r in rows],
                prepared.backend.objective(prepared.card),
                run_id=f"kb-{name}",
                metrics=[{k: round(v, 6) for k, v in r[3].items()} for r in rows],
            )
            if verbose:
                print(f"cross  {name:25s} {len(crossed[name])} configurations from other datasets", flush=True)
        runs = store.runs()
    for run in runs:
        run.trials = [StoredTrial(t.config, t.value, t.state, t.metrics) for t in run.best_trials()[:keep]]
        run.created = 0.0  # reproducible bytes
    runs.sort(key=lambda r: r.dataset)
    write_export(out, runs, logs=False, digits=5)
    return runs


def _map(function: Any, jobs: list[tuple[Any, ...]], workers: int) -> list[Any]:
    if workers <= 1:
        return [function(*job) for job in jobs]
    # spawn, not fork: this process may already run torch's threads (card embeddings), and a child forked while
    # one of them holds a lock waits on it forever
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, initializer=quiet, mp_context=spawn) as pool:
        return list(pool.map(function, *zip(*jobs, strict=True)))


def _top_configs(rows: list[Row], n: int) -> list[dict[str, Any]]:
    done = [(r[1], i, r[0]) for i, r in enumerate(rows) if r[2] == "COMPLETE" and r[1] is not None]
    return [config for _, _, config in sorted(done)[:n]]  # log-loss: lower is better


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=KNOWLEDGE_BASE, help="export file to write (.json.gz)")
    parser.add_argument("--exclude", action="append", default=[], help="dataset to leave out (repeatable)")
    parser.add_argument("--trials", type=int, default=KB_TRIALS, help="TPE trials per dataset")
    parser.add_argument("--cross", type=int, default=KB_CROSS, help="best configs of each dataset tried elsewhere")
    parser.add_argument("--keep", type=int, default=KB_KEEP, help="best configurations kept per dataset")
    parser.add_argument("--max-rows", type=int, default=LIMITS["max_rows"])
    parser.add_argument("--max-rounds", type=int, default=LIMITS["max_rounds"])
    parser.add_argument("--threads", type=int, default=LIMITS["threads"])
    parser.add_argument("--workers", type=int, default=2, help="datasets searched in parallel processes")
    parser.add_argument("--cache", default=str(CACHE), help="folder of cached trainings ('' to disable)")
    args = parser.parse_args(argv)
    unknown = set(args.exclude) - set(suite_names())
    if unknown:
        parser.error(f"unknown dataset(s) to exclude: {', '.join(sorted(unknown))} (known: {', '.join(suite_names())})")
    quiet()
    limits = {"max_rows": args.max_rows, "max_rounds": args.max_rounds, "threads": args.threads}
    runs = build(
        args.out,
        exclude=set(args.exclude),
        trials=args.trials,
        cross=args.cross,
        keep=args.keep,
        limits=limits,
        cache=Path(args.cache) if args.cache else None,
    )
    print(f"wrote {args.out} ({len(runs)} datasets, {args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
