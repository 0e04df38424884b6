"""Unseen datasets: does data-card similarity transfer beat plain search at equal budget?

Leave-one-dataset-out over the public tabular suite (``../shared/data/tabular``, 16 PMLB datasets): for each
held-out dataset the knowledge base is rebuilt without it (``build_knowledge_base.build(exclude={X})``: no entry for
X and none of X's configurations tried elsewhere; every training comes from the cache), the ``--neighbours``
(default: as many as ``automl-gpt run`` uses, 15) most similar datasets are retrieved from it, and each planner
searches X for up to ``max(budgets)`` real XGBoost trials:

* ``default``: the model card's defaults (1 trial);
* ``random``: uniform random configurations;
* ``tpe``: Optuna TPE seeded with the default configuration;
* ``transfer``: the best configurations of the similar datasets first, then TPE;
* ``llm+transfer`` (``--llm``): the LLM planner with the similar datasets in its prompt.

Score per dataset = the best validation log-loss after ``b`` trials, normalised so that 0 = the default
configuration and 1 = the best value any planner found on that dataset within the largest budget (clipped below
at -1, so a single disastrous random trial cannot dominate a mean). Ranks are per dataset, seed and budget
(1 = best, ties averaged). Seeds change the planners' randomness; the training seed and the holdout split are
fixed, so a configuration scores the same whichever planner proposes it (and is trained once, cached).

``--adult`` runs UCI Adult (``examples/adult/card.yaml``, full data, official test split) as an unseen dataset
with the full shipped knowledge base (which never contained Adult): test log-loss and accuracy of the best
validation trial within 10 trials, transfer vs TPE seeded with the default, 3 seeds.

    nice -n 10 python benchmarks/unseen.py                 # the suite, 3 seeds, budgets 1 3 5 10 20
    nice -n 10 python benchmarks/unseen.py --adult --skip-suite
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import build_knowledge_base as kb
from automl_gpt.experience import SIMILAR_DATASETS, ExperienceStore
from automl_gpt.planning import Experience
from automl_gpt.plugins import get_plugin_manager
from automl_gpt.training import TrialState

PLANNERS = ("default", "random", "tpe", "transfer")
BUDGETS = (1, 3, 5, 10, 20)
SEEDS = (0, 1, 2)
OUT = kb.REPO / "benchmarks" / "out" / "unseen"
ADULT_CARD = kb.REPO / "examples" / "adult" / "card.yaml"


def loo_experience(name: str, args: argparse.Namespace, searched: dict[str, list[kb.Row]]) -> list[Experience]:
    """The similar datasets of ``name`` from a knowledge base rebuilt without it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kb.json.gz"
        runs = kb.build(
            path,
            exclude={name},
            trials=args.kb_trials,
            cross=args.kb_cross,
            keep=args.kb_keep,
            limits=kb.LIMITS,
            cache=Path(args.cache),
            verbose=False,
            searched={k: v for k, v in searched.items() if k != name},
        )
        assert all(r.dataset != name for r in runs)
        store = ExperienceStore(Path(tmp) / "store.sqlite")
        store.import_(path)
        prepared = kb.setup(kb.pmlb_card(name))
        return store.find_similar(prepared.card, prepared.model_card, k=args.neighbours, exclude=[name])


def run_dataset(name: str, experience: list[Experience], args: argparse.Namespace) -> dict[str, Any]:
    """Every planner and seed on one held-out dataset: best-so-far validation curves."""
    kb.quiet()
    prepared = kb.setup(kb.pmlb_card(name))
    evaluate = kb.Evaluator(prepared, kb.LIMITS, Path(args.cache))
    objective = prepared.backend.objective(prepared.card)
    budget = max(args.budgets)
    curves: dict[str, dict[str, list[float]]] = {}
    firsts: dict[str, dict[str, list[str]]] = {}
    started = time.monotonic()
    for planner_name in args.planners:
        llm = planner_name == "llm+transfer"
        for seed in args.llm_seeds if llm else args.seeds:
            context = prepared.context(seed)
            if planner_name in {"transfer", "llm+transfer"}:
                context.experience = list(experience)
            if planner_name == "llm+transfer":
                context.options = {"llm": args.llm_name, "llm_cache": True}
            hook_name = "llm" if planner_name == "llm+transfer" else planner_name
            planner = get_plugin_manager().hook.plan_trials(name=hook_name, context=context)
            trials = 1 if planner_name == "default" else min(budget, args.llm_budget) if llm else budget
            history = kb.drive(planner, context, trials, evaluate, batch=args.llm_batch if llm else 1)
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
        "curves": curves,
        "trained": evaluate.trained,
        "seconds": time.monotonic() - started,
        "similar": [(e.dataset, e.similarity) for e in experience],
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


def plot(table: dict, budgets: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for planner, row in table.items():
        left.plot(budgets, [row[b]["score"] for b in budgets], marker="o", label=planner)
        right.plot(budgets, [row[b]["rank"] for b in budgets], marker="o", label=planner)
    for axis, label in ((left, "mean normalised score (0 = default, 1 = best found)"), (right, "mean rank")):
        axis.set_xscale("log")
        axis.set_xticks(budgets, [str(b) for b in budgets])
        axis.set_xlabel("trials")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    right.invert_yaxis()
    left.legend()
    fig.suptitle("Unseen datasets: leave-one-dataset-out over 16 PMLB datasets, 3 seeds")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def add_knowledge_base_arguments(parser: argparse.ArgumentParser) -> None:
    """The options :func:`search_suite` and :func:`loo_experience` read: neighbours, knowledge-base shape, cache."""
    parser.add_argument("--neighbours", type=int, default=SIMILAR_DATASETS, help="similar datasets the transfer fuses")
    parser.add_argument("--kb-trials", type=int, default=kb.KB_TRIALS)
    parser.add_argument("--kb-cross", type=int, default=kb.KB_CROSS)
    parser.add_argument("--kb-keep", type=int, default=kb.KB_KEEP)
    parser.add_argument("--cache", default=str(kb.CACHE))


def search_suite(args: argparse.Namespace) -> dict[str, list[kb.Row]]:
    """Step 1 of the knowledge-base build for every suite dataset (from the cache; it does not depend on what a
    leave-one-out excludes)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return {n: kb.search(n, args.kb_trials, kb.LIMITS, Path(args.cache)) for n in kb.suite_names()}


def suite(args: argparse.Namespace) -> None:
    names = args.datasets or kb.suite_names()
    print(f"building leave-one-out knowledge bases for {len(names)} datasets ...", flush=True)
    searched = search_suite(args)
    experience = {name: loo_experience(name, args, searched) for name in names}
    for name in names:
        similar = ", ".join(f"{e.dataset} {e.similarity:.2f}" for e in experience[name])
        print(f"  {name:25s} <- {similar}", flush=True)
    out = Path(args.out)
    (out / "datasets").mkdir(parents=True, exist_ok=True)
    results = []
    # spawn, not fork: this process has loaded the text encoder (torch threads), and a forked child can deadlock
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_dataset, name, experience[name], args): name for name in _cheap_first(names)}
        for future in as_completed(futures):
            item = future.result()
            results.append(item)
            (out / "datasets" / f"{item['dataset']}.json").write_text(json.dumps(item), encoding="utf-8")
            print(f"  done {item['dataset']:25s} {item['seconds']:6.1f} s, {item['trained']} trainings", flush=True)
    results.sort(key=lambda r: r["dataset"])
    (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    report(results, args)


def _cheap_first(names: list[str]) -> list[str]:
    """Smallest datasets (rows x features x classes) first, so a run cut short has the most datasets done."""

    def cost(name: str) -> float:
        card = kb.pmlb_card(name)
        return min(card.n_rows or 0, kb.LIMITS["max_rows"]) * (card.n_features or 1) * len(card.label_space or [0, 1])

    return sorted(names, key=cost)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Print and write the tables (and the plot) from the per-dataset results."""
    out = Path(args.out)
    planners = [p for p in args.planners if p != "llm+transfer"]
    budgets, seeds = list(args.budgets), list(args.seeds)
    table = summarise(results, planners, budgets, seeds)
    title = (
        f"mean normalised score / mean rank / share of (dataset, seed) beating the default, "
        f"{len(results)} datasets x {len(seeds)} seeds"
    )
    text = print_table(table, budgets, title)
    first = seeds[0]
    zero_shot = [
        r["dataset"]
        for r in results
        if "transfer" in planners
        and best_at(r["curves"]["transfer"][str(first)], 1) < r["curves"]["default"][str(first)][0] - 1e-12
    ]
    verdict = _verdict(table, zero_shot, len(results), planners)
    print(verdict, flush=True)
    parts = [text, verdict]
    if "llm+transfer" in args.planners:
        llm_budgets = [b for b in budgets if b <= args.llm_budget]
        llm_table = summarise(results, [*planners, "llm+transfer"], llm_budgets, list(args.llm_seeds))
        parts.append(
            print_table(llm_table, llm_budgets, f"with llm+transfer ({args.llm_name}), seeds {args.llm_seeds}")
        )
    (out / "table.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(table, indent=1), encoding="utf-8")
    plot(table, budgets, Path(args.plot))
    print(f"wrote {out}/results.json, table.md and {args.plot}", flush=True)


def _verdict(table: dict, zero_shot: list[str], n: int, planners: list[str]) -> str:
    if "transfer" not in planners:
        return ""
    lines = [
        f"zero-shot (1 trial): transfer beats the default on {len(zero_shot)}/{n} datasets "
        f"({100 * len(zero_shot) / max(n, 1):.0f}%; target >= 75%)"
    ]
    if 5 in table["transfer"]:
        rank = table["transfer"][5]["rank"]
        others = {p: table[p][5]["rank"] for p in ("tpe", "random") if p in table}
        met = all(rank < r for r in others.values())
        lines.append(
            f"5 trials: transfer mean rank {rank:.2f} vs "
            + ", ".join(f"{p} {r:.2f}" for p, r in others.items())
            + f" -> {'met' if met else 'missed'}"
        )
    return "\n".join(lines)


def adult(args: argparse.Namespace) -> None:
    """UCI Adult as an unseen dataset: the shipped knowledge base never saw it."""
    from automl_gpt.cards import load_data_card

    kb.quiet()
    card = load_data_card(ADULT_CARD)
    prepared = kb.setup(card)
    store = ExperienceStore(Path(tempfile.mkdtemp()) / "empty.sqlite")  # empty: the shipped knowledge base answers
    experience = store.find_similar(card, prepared.model_card, k=args.neighbours)
    assert all(e.dataset != "adult" for e in experience)
    print("adult <- " + ", ".join(f"{e.dataset} {e.similarity:.2f}" for e in experience), flush=True)
    limits = {"threads": args.adult_threads}
    evaluate = kb.Evaluator(prepared, limits, Path(args.cache))
    objective = prepared.backend.objective(card)
    rows = []
    for planner_name in ("transfer", "tpe"):
        for seed in args.seeds:
            context = prepared.context(seed)
            if planner_name == "transfer":
                context.experience = list(experience)
            planner = get_plugin_manager().hook.plan_trials(name=planner_name, context=context)
            started = time.monotonic()
            history = kb.drive(planner, context, args.adult_trials, evaluate)
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
        json.dumps({"similar": [(e.dataset, e.similarity) for e in experience], "rows": rows}, indent=1),
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", help="held-out datasets (default: all 16)")
    parser.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=list(SEEDS))
    parser.add_argument("--budgets", type=lambda s: [int(x) for x in s.split(",")], default=list(BUDGETS))
    parser.add_argument("--llm", action="store_true", help="add the llm+transfer planner (needs an LLM)")
    parser.add_argument("--llm-name", default="local", help="LLM for --llm (default: the local model)")
    parser.add_argument("--llm-budget", type=int, default=5, help="trials of the llm+transfer runs")
    parser.add_argument("--llm-batch", type=int, default=4, help="plans per LLM call")
    parser.add_argument("--llm-seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0])
    parser.add_argument("--workers", type=int, default=3, help="datasets searched in parallel")
    add_knowledge_base_arguments(parser)
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--plot", default=str(kb.REPO / "docs" / "unseen.png"))
    parser.add_argument("--adult", action="store_true", help="also run UCI Adult as an unseen dataset")
    parser.add_argument("--adult-trials", type=int, default=10)
    parser.add_argument("--adult-threads", type=int, default=2)
    parser.add_argument("--skip-suite", action="store_true", help="only --adult")
    parser.add_argument("--report-only", action="store_true", help="re-print the tables from results.json")
    args = parser.parse_args(argv)
    args.planners = list(PLANNERS) + (["llm+transfer"] if args.llm else [])
    kb.quiet()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; limits {kb.LIMITS}",
        flush=True,
    )
    if args.report_only:  # from the per-dataset files, so a partial run can be reported too
        files = sorted((Path(args.out) / "datasets").glob("*.json"))
        report([json.loads(f.read_text(encoding="utf-8")) for f in files], args)
    elif not args.skip_suite:
        suite(args)
    if args.adult:
        adult(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
