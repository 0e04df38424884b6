"""Unseen datasets: does the shipped knowledge beat plain search at equal budget, trained for real?

Leave-one-family-out over the public tabular suite (``../shared/data/tabular``, 222 PMLB datasets, families from
``suite.families()``): for each held-out dataset X the shipped performance matrix
(``plugins/backend_tabular/knowledge/xgboost_matrix.json.gz``) loses X's whole family
(``harness.leave_family_out``: siblings of the same generator or records never help), the learned portfolio for
X's card is built from the rest (``automl_gpt.planners.knowledge.portfolio_candidates``: similarity by meta-features,
plus the card text with weight 0.5 when sentence-transformers is installed and the matrix carries embeddings), and each
planner searches X for up to ``max(budgets)`` real XGBoost trials (under the limits the matrix was mined with):

* ``default``: the model card's defaults (1 trial);
* ``random``: uniform random configurations;
* ``tpe``: Optuna TPE seeded with the default configuration;
* ``transfer``: the portfolio first (its first pick, the defaults, then the rest), then TPE;
* ``llm+transfer`` (``--llm``): the LLM planner with the same portfolio in its context.

The transfer planners get the portfolio only: ``context.experience`` stays empty (the fused configurations of
similar datasets come after the 9 portfolio configurations in a run's queue, beyond the budgets that matter here,
and the shipped experience would need a store that cannot see X's family).

Score per dataset = the best validation objective (log-loss, or RMSE for regression) after ``b`` trials,
normalised so that 0 = the default configuration and 1 = the best value any planner found on that dataset within
the largest budget (clipped below at -1, so a single disastrous random trial cannot dominate a mean). Ranks are
per dataset, seed and budget (1 = best, ties averaged). Classification and regression are reported separately.
Seeds change the planners' randomness; the training seed and the holdout split are fixed, so a configuration
scores the same whichever planner proposes it (and is trained once, cached in ``benchmarks/out/cache``).

Each finished dataset is written to ``<out>/datasets/<name>.json`` at once; a rerun into the same ``--out`` resumes
(:func:`saved_result`: a dataset searched with the same portfolio, planners, seeds and budget is not searched again).
The whole suite's results are committed in ``benchmarks/results/unseen-suite/``, so the full protocol continues
across sessions.

``--adult`` runs UCI Adult (``examples/adult/card.yaml``, full data, official test split) as an unseen dataset
with the full shipped matrix (which never contained Adult): test log-loss and accuracy of the best validation
trial within 10 trials, transfer vs TPE seeded with the default.

    nice -n 10 python benchmarks/unseen.py --out benchmarks/results/unseen-suite   # the whole suite, 3 seeds
    nice -n 10 python benchmarks/unseen.py --max-datasets 24 --seeds 0 --budgets 1,3,5,10 --workers 2
    nice -n 10 python benchmarks/unseen.py --adult --skip-suite --seeds 0,1,2
    python benchmarks/unseen.py --report-only                                # tables from the per-dataset files
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import harness
from automl_gpt.cards import DataCard
from automl_gpt.cards.similarity import CardEmbedder, CardProfile, meta_features, text_encoder_installed
from automl_gpt.planners.base import Candidate
from automl_gpt.planners.knowledge import PerformanceMatrix, portfolio_candidates, task_family
from automl_gpt.plugins import get_plugin_manager
from automl_gpt.training import TrialState
from mine_knowledge import matrix_path
from suite import describe, families, pmlb_card, suite_names

PLANNERS = ("default", "random", "tpe", "transfer")
BUDGETS = (1, 3, 5, 10, 20)
SEEDS = (0, 1, 2)
TEXT_WEIGHT = 0.5
OUT = harness.REPO / "benchmarks" / "out" / "unseen"
ADULT_CARD = harness.REPO / "examples" / "adult" / "card.yaml"
MATRIX = matrix_path()  # the shipped XGBoost matrix


def stratified_subset(names: list[str], n: int, seed: int = 0) -> list[str]:
    """``n`` datasets, at most one per family, with each task (binary, multiclass, regression) in proportion to
    its share of the families (largest remainders), drawn with ``seed``."""
    rng = random.Random(seed)
    by_family: dict[str, list[str]] = {}
    for name in sorted(names):
        by_family.setdefault(families().get(name, name), []).append(name)
    by_task: dict[str, list[str]] = {}
    for _, members in sorted(by_family.items()):
        pick = rng.choice(members)
        by_task.setdefault(describe(pick)["task"], []).append(pick)
    total = sum(len(v) for v in by_task.values())
    n = min(n, total)
    exact = {task: n * len(v) / total for task, v in by_task.items()}
    quota = {task: int(x) for task, x in exact.items()}
    for task in sorted(exact, key=lambda t: (quota[t] - exact[t], t))[: n - sum(quota.values())]:
        quota[task] += 1
    return sorted(name for task, members in by_task.items() for name in rng.sample(members, quota[task]))


def text_weight(matrix: PerformanceMatrix, no_text: bool = False) -> float:
    """0.5 when the card text can be embedded like the matrix's datasets were, else 0 (meta-features alone)."""
    return TEXT_WEIGHT if not no_text and text_encoder_installed() and bool(matrix.embedding_model) else 0.0


def card_profile(card: DataCard, weight: float) -> CardProfile:
    """The card's profile as the matrix's datasets were profiled (no embedding without text similarity)."""
    embedding = CardEmbedder().embed(card) if weight > 0 else CardEmbedder(text=False).embed(card)
    return CardProfile(embedding, meta_features(card), card.task)


def loo_portfolio(name: str, matrix: PerformanceMatrix, weight: float) -> list[Candidate]:
    """The learned portfolio for suite dataset ``name`` from the matrix without its family."""
    prepared = harness.setup(pmlb_card(name))
    loo = harness.leave_family_out(matrix, name)
    return portfolio_candidates(loo, card_profile(prepared.card, weight), prepared.model_card.space(),
                                text_weight=weight)


def planner_runs(planner_name: str, args: argparse.Namespace) -> tuple[list[int], int]:
    """The seeds a planner searches with and its trials per seed: 1 for the defaults, ``--llm-budget`` at most for
    the LLM (with ``--llm-seeds``), the largest budget for the others."""
    if planner_name == "llm+transfer":
        return list(args.llm_seeds), min(max(args.budgets), args.llm_budget)
    return list(args.seeds), 1 if planner_name == "default" else max(args.budgets)


def run_dataset(name: str, portfolio: list[Candidate], args: argparse.Namespace) -> dict[str, Any]:
    """Every planner and seed on one held-out dataset: best-so-far validation curves."""
    harness.quiet()
    prepared = harness.setup(pmlb_card(name))
    evaluate = harness.Evaluator(prepared, harness.LIMITS, Path(args.cache))
    objective = prepared.backend.objective(prepared.card)
    curves: dict[str, dict[str, list[float]]] = {}
    firsts: dict[str, dict[str, list[str]]] = {}
    started = time.monotonic()
    for planner_name in args.planners:
        llm = planner_name == "llm+transfer"
        seeds, trials = planner_runs(planner_name, args)
        for seed in seeds:
            context = prepared.context(seed)
            if planner_name in {"transfer", "llm+transfer"}:
                context.portfolio = list(portfolio)
            if llm:
                context.options = {"llm": args.llm_name, "llm_cache": True}
            hook_name = "llm" if llm else planner_name
            planner = get_plugin_manager().hook.plan_trials(name=hook_name, context=context)
            history = harness.drive(planner, context, trials, evaluate, batch=args.llm_batch if llm else 1)
            curve, best = [], float("inf")
            for past in history:
                value = past.result.value(objective)
                if past.result.state == TrialState.COMPLETE and value is not None:
                    best = min(best, value)
                curve.append(best)
            curves.setdefault(planner_name, {})[str(seed)] = curve
            firsts.setdefault(planner_name, {})[str(seed)] = [json.dumps(p.config, sort_keys=True) for p in history[:3]]
    return {
        "dataset": name,
        "task": prepared.card.task,
        "family": families().get(name, name),
        "metric": prepared.card.metric,
        "curves": curves,
        "trained": evaluate.trained,
        "seconds": time.monotonic() - started,
        "portfolio": [c.rationale for c in portfolio],
        "first_configs": firsts,
    }


def best_at(curve: list[float], budget: int) -> float:
    return curve[min(budget, len(curve)) - 1] if curve else float("inf")


def summarise(results: list[dict[str, Any]], planners: list[str], budgets: list[int], seeds: list[int]) -> dict:
    """Mean normalised score, mean rank and wins over the default per planner and budget."""
    table: dict[str, dict[int, dict[str, float]]] = {p: {} for p in planners}
    for budget in budgets:
        scores: dict[str, list[float]] = {p: [] for p in planners}
        ranks: dict[str, list[float]] = {p: [] for p in planners}
        beats: dict[str, list[bool]] = {p: [] for p in planners}
        for item in results:
            curves = item["curves"]
            default = curves["default"][str(seeds[0])][0]
            overall = min(best_at(c, max(budgets)) for by_seed in curves.values() for c in by_seed.values())
            span = default - overall
            for seed in seeds:
                values = {p: best_at(curves[p][str(seed)], budget) for p in planners}
                for p in planners:
                    score = (default - values[p]) / span if span > 1e-12 else 0.0
                    scores[p].append(max(-1.0, score))
                    beats[p].append(values[p] < default - 1e-12)
                for p, rank in _ranks(values).items():
                    ranks[p].append(rank)
        for p in planners:
            table[p][budget] = {
                "score": statistics.mean(scores[p]),
                "rank": statistics.mean(ranks[p]),
                "beats_default": statistics.mean(beats[p]),
            }
    return table


def _ranks(values: dict[str, float]) -> dict[str, float]:
    ordered = sorted(values, key=lambda p: values[p])
    ranks: dict[str, float] = {}
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and abs(values[ordered[j + 1]] - values[ordered[i]]) <= 1e-12:
            j += 1
        for k in range(i, j + 1):
            ranks[ordered[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def print_table(table: dict, budgets: list[int], title: str) -> str:
    header = "| planner | " + " | ".join(f"{b} trials" for b in budgets) + " |"
    lines = [title, "", header, "|---|" + "---|" * len(budgets)]
    for planner, row in table.items():
        cells = [
            f"{row[b]['score']:+.3f} / {row[b]['rank']:.2f} / {100 * row[b]['beats_default']:.0f}%" for b in budgets
        ]
        lines.append(f"| {planner} | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def suite(args: argparse.Namespace) -> None:
    matrix = PerformanceMatrix.read(Path(args.matrix))
    weight = text_weight(matrix, args.no_text)
    names = args.datasets or suite_names()
    if args.max_datasets:
        names = stratified_subset(names, args.max_datasets, args.subset_seed)
    print(f"matrix {Path(args.matrix).name}: {len(matrix.datasets)} datasets x {len(matrix.configs)} configurations; "
          f"similarity by {'card text and ' if weight else ''}meta-features; limits {harness.LIMITS}; "
          f"{len(names)} held-out datasets: "
          + ", ".join(names), flush=True)
    portfolios = {name: loo_portfolio(name, matrix, weight) for name in names}
    for name in names:
        first = portfolios[name][0].rationale.removeprefix("portfolio: ") if portfolios[name] else "none"
        print(f"  {name:28s} family {families().get(name, name)}: first {first}", flush=True)
    out = Path(args.out)
    (out / "datasets").mkdir(parents=True, exist_ok=True)
    results = [item for item in (saved_result(out, name, portfolios[name], args) for name in names) if item]
    if results:
        print(f"resumed {len(results)} of {len(names)} datasets from {out / 'datasets'} (same portfolio, planners, "
              "seeds and budget)", flush=True)
    todo = [name for name in _cheap_first(names) if name not in {r["dataset"] for r in results}]
    # spawn, not fork: this process may have loaded the text encoder (torch threads); a forked child can deadlock
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_dataset, name, portfolios[name], args): name for name in todo}
        for future in as_completed(futures):
            item = future.result()
            results.append(item)
            (out / "datasets" / f"{item['dataset']}.json").write_text(json.dumps(item), encoding="utf-8")
            print(f"  done {item['dataset']:28s} {item['seconds']:6.1f} s, {item['trained']} trainings", flush=True)
    results.sort(key=lambda r: r["dataset"])
    (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    report(results, args)


def saved_result(out: Path, name: str, portfolio: list[Candidate], args: argparse.Namespace) -> dict[str, Any] | None:
    """The dataset's result from an earlier run into ``out`` when it searched with the same portfolio, every planner
    and seed asked for, and at least the budget asked for; else None (searched again). A run cut short resumes."""
    path = out / "datasets" / f"{name}.json"
    if not path.exists():
        return None
    item: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if item.get("portfolio") != [c.rationale for c in portfolio]:
        return None
    for planner_name in args.planners:
        seeds, trials = planner_runs(planner_name, args)
        by_seed = item["curves"].get(planner_name, {})
        if any(len(by_seed.get(str(seed), [])) < trials for seed in seeds):
            return None
    return item


def _cheap_first(names: list[str]) -> list[str]:
    """Smallest datasets (rows x features x classes) first, so a run cut short has the most datasets done."""

    def cost(name: str) -> float:
        card = pmlb_card(name)
        rows = min(card.n_rows or 0, harness.LIMITS["max_rows"])
        return rows * (card.n_features or 1) * len(card.label_space or [0, 1])

    return sorted(names, key=cost)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Print and write the tables (classification and regression apart) from the per-dataset results."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    planners = [p for p in args.planners if p != "llm+transfer"]
    budgets, seeds = list(args.budgets), list(args.seeds)
    parts, summary = [], {}
    for family in ("classification", "regression"):
        mine = [r for r in results if task_family(r["task"]) == family]
        if not mine:
            continue
        table = summarise(mine, planners, budgets, seeds)
        summary[family] = table
        title = (f"{family}: mean normalised score / mean rank / share of (dataset, seed) beating the default, "
                 f"{len(mine)} held-out datasets x {len(seeds)} seeds")
        parts.append(print_table(table, budgets, title))
        verdict = _verdict(table, mine, seeds[0], planners)
        print(verdict, flush=True)
        parts.append(verdict)
        if "llm+transfer" in args.planners:
            llm_budgets = [b for b in budgets if b <= args.llm_budget]
            llm_table = summarise(mine, [*planners, "llm+transfer"], llm_budgets, list(args.llm_seeds))
            parts.append(print_table(llm_table, llm_budgets,
                                     f"{family} with llm+transfer ({args.llm_name}), seeds {args.llm_seeds}"))
    (out / "table.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(f"wrote {out}/table.md and summary.json ({len(results)} datasets)", flush=True)


def _verdict(table: dict, results: list[dict[str, Any]], seed: int, planners: list[str]) -> str:
    if "transfer" not in planners:
        return ""
    zero_shot = [r for r in results
                 if best_at(r["curves"]["transfer"][str(seed)], 1) < r["curves"]["default"][str(seed)][0] - 1e-12]
    n = len(results)
    lines = [f"first trial: transfer beats the default on {len(zero_shot)}/{n} datasets "
             f"({100 * len(zero_shot) / max(n, 1):.0f}%)"]
    for budget in (b for b in (3, 5, 10) if b in table["transfer"]):
        others = {p: table[p][budget]["rank"] for p in ("tpe", "random") if p in table}
        lines.append(f"{budget} trials: transfer mean rank {table['transfer'][budget]['rank']:.2f} vs "
                     + ", ".join(f"{p} {r:.2f}" for p, r in others.items()))
    return "\n".join(lines)


def adult(args: argparse.Namespace) -> None:
    """UCI Adult as an unseen dataset: the full shipped matrix never saw it."""
    from automl_gpt.cards import load_data_card

    harness.quiet()
    card = load_data_card(ADULT_CARD)
    prepared = harness.setup(card)
    matrix = PerformanceMatrix.read(Path(args.matrix))
    assert all(d.name != "adult" for d in matrix.datasets)
    weight = text_weight(matrix, args.no_text)
    portfolio = portfolio_candidates(matrix, card_profile(card, weight), prepared.model_card.space(),
                                     text_weight=weight)
    print(f"matrix {Path(args.matrix).name}: {len(matrix.datasets)} datasets x {len(matrix.configs)} configurations; "
          "adult portfolio: " + "; ".join(c.rationale.removeprefix("portfolio: ") for c in portfolio[:3]), flush=True)
    limits = {"threads": args.adult_threads}  # full data and rounds, as automl-gpt run trains Adult
    evaluate = harness.Evaluator(prepared, limits, Path(args.cache))
    objective = prepared.backend.objective(card)
    rows = []
    for planner_name in ("transfer", "tpe"):
        for seed in args.seeds:
            context = prepared.context(seed)
            if planner_name == "transfer":
                context.portfolio = list(portfolio)
            planner = get_plugin_manager().hook.plan_trials(name=planner_name, context=context)
            started = time.monotonic()
            history = harness.drive(planner, context, args.adult_trials, evaluate)
            done = [p for p in history if p.result.state == TrialState.COMPLETE]
            best = min(done, key=lambda p: p.result.value(objective))
            metrics = best.result.metrics
            row = {
                "planner": planner_name,
                "seed": seed,
                "trials": len(history),
                "valid_logloss": metrics.get("valid/logloss"),
                "test_logloss": metrics.get("test/logloss"),
                "test_accuracy": metrics.get("test/accuracy"),
                "best_trial": best.number,
                "train_seconds": sum(p.result.duration_s for p in history),
                "wall_seconds": time.monotonic() - started,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    lines = [
        "| planner | seed | valid log-loss | test log-loss | test accuracy | best trial | training s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['planner']} | {r['seed']} | {r['valid_logloss']:.4f} | {r['test_logloss']:.4f} | "
            f"{100 * r['test_accuracy']:.2f}% | {r['best_trial'] + 1} | {r['train_seconds']:.0f} |"
        )
    for name in ("transfer", "tpe"):
        mine = [r for r in rows if r["planner"] == name]
        met = sum(r["test_logloss"] <= 0.2725 and r["test_accuracy"] >= 0.875 for r in mine)
        lines.append(
            f"\n{name}: mean test log-loss {statistics.mean(r['test_logloss'] for r in mine):.4f}, "
            f"mean test accuracy {100 * statistics.mean(r['test_accuracy'] for r in mine):.2f}%, "
            f"target (<= 0.2725 and >= 87.5%) met on {met}/{len(mine)} seeds"
        )
    text = "\n".join(lines)
    print(text, flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "adult.md").write_text(text + "\n", encoding="utf-8")
    (out / "adult.json").write_text(
        json.dumps({"portfolio": [c.rationale for c in portfolio], "rows": rows}, indent=1), encoding="utf-8"
    )


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", help="held-out datasets (default: the whole suite)")
    parser.add_argument("--max-datasets", type=int, default=0,
                        help="a seeded subset of N datasets, one per family, stratified by task")
    parser.add_argument("--subset-seed", type=int, default=0)
    parser.add_argument("--seeds", type=_ints, default=list(SEEDS))
    parser.add_argument("--budgets", type=_ints, default=list(BUDGETS))
    parser.add_argument("--llm", action="store_true", help="add the llm+transfer planner (needs an LLM)")
    parser.add_argument("--llm-name", default="local", help="LLM for --llm (default: the local model)")
    parser.add_argument("--llm-budget", type=int, default=5, help="trials of the llm+transfer runs")
    parser.add_argument("--llm-batch", type=int, default=4, help="plans per LLM call")
    parser.add_argument("--llm-seeds", type=_ints, default=[0])
    parser.add_argument("--workers", type=int, default=2, help="datasets searched in parallel")
    parser.add_argument("--matrix", default=str(MATRIX), help="performance matrix (default: the shipped one)")
    parser.add_argument("--no-text", action="store_true", help="similarity by meta-features only")
    parser.add_argument("--cache", default=str(harness.CACHE), help="folder of cached trainings")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--adult", action="store_true", help="also run UCI Adult as an unseen dataset")
    parser.add_argument("--adult-trials", type=int, default=10)
    parser.add_argument("--adult-threads", type=int, default=2)
    parser.add_argument("--skip-suite", action="store_true", help="only --adult")
    parser.add_argument("--report-only", action="store_true", help="re-print the tables from the per-dataset files")
    args = parser.parse_args(argv)
    args.planners = list(PLANNERS) + (["llm+transfer"] if args.llm else [])
    unknown = set(args.datasets or []) - set(suite_names())
    if unknown:
        parser.error(f"unknown dataset(s): {', '.join(sorted(unknown))} (see ../shared/data/tabular/INDEX.md)")
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        flush=True,
    )
    if args.report_only:  # from the per-dataset files, so a partial run can be reported too
        files = sorted((Path(args.out) / "datasets").glob("*.json"))
        if not files:
            parser.error(f"no per-dataset results in {Path(args.out) / 'datasets'} (run without --report-only)")
        report([json.loads(f.read_text(encoding="utf-8")) for f in files], args)
    elif not args.skip_suite:
        harness.quiet()
        suite(args)
    if args.adult:
        adult(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
