"""``--model auto`` (the planner also picks XGBoost, histogram gradient boosting or the linear model) against
XGBoost alone, at equal budget, trained for real: the leave-one-family-out suite of the knowledge-base benchmark
(``unseen.py``) and UCI Adult on its official split.

Suite protocol: a seeded subset of the public tabular suite, one dataset per family, stratified by task
(``unseen.stratified_subset``); each dataset is split once 75/25 (seed 0, stratified for classification;
``ensemble.split_card``) into training rows and a test file, and keeps its suite card's description. Trials train
under the limits the shipped matrix was mined with (``harness.LIMITS``: at most 3000 training rows, 1000 rounds, one
thread), tune on the model card's fixed holdout of the training rows, and are refitted on all (capped) training rows
and scored once on the test file. Planners, each for both arms (``xgboost``: XGBoost's card alone; ``auto``: the
union of the backend's cards for the task, ``automl_gpt.cards.model_choice``):

* ``tpe``: Optuna TPE seeded with the defaults (``auto``: XGBoost's, then histogram gradient boosting's, then the
  linear model's);
* ``transfer``: the shipped knowledge, as ``unseen.py`` gives it: the learned portfolio from the shipped matrix
  without the dataset's family (``harness.leave_family_out``), then TPE. The matrix describes the XGBoost card
  only, so ``auto`` gets the same XGBoost portfolio (``portfolio_by_member``), and its TPE fallback brings the other
  cards' defaults after it.

Both planners hand out the same sequence whatever the budget, so one 20-trial search per (dataset, planner, arm,
seed) gives budgets 5 and 10 as its prefixes. Per budget: the trial with the best validation objective among the
first B (log-loss, RMSE) is the run's choice. Reported per task family (classification, regression): mean
normalised validation score (0 = XGBoost's defaults, 1 = the best any row found on that dataset within the largest
budget, clipped below at -1), mean rank of the four rows (1 = best), how often each card is the ``auto`` run's
choice, and the geometric mean over (dataset, seed) of the test-loss ratio auto/xgboost of the chosen trials
(below 1: auto better). Seeds change the planners' randomness; the split and training seed are fixed, so a
configuration scores the same whichever arm or planner proposes it and trains once (cache in
``benchmarks/out/model_choice/cache``). Every finished (dataset, planner, arm, seed) is appended to
``cells.jsonl`` at once; a rerun skips those.

``--adult``: UCI Adult (``examples/adult/card.yaml``, all 32,561 training rows, the official 16,281 test rows) as
the unseen dataset of ``unseen.py --adult``: the full shipped matrix (it never held Adult), trials with the card's
holdout, refit on all of adult.data, scored once on adult.test. XGBoost trainings are read from and added to
``benchmarks/out/cache`` (``unseen.py --adult``'s cache: same card, configuration and training seed).

    nice -n 10 python benchmarks/model_choice.py --max-datasets 16                 # suite, 3 seeds, budgets 5,10,20
    nice -n 10 python benchmarks/model_choice.py --adult --planners tpe --budgets 5,10
    python benchmarks/model_choice.py --max-datasets 16 --report-only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import harness
import unseen
from automl_gpt.cards import DataCard, ModelCard
from automl_gpt.cards.model_choice import choose, member_of, resolve
from automl_gpt.cards.search_space import SearchSpace
from automl_gpt.planners.base import Candidate
from automl_gpt.planners.knowledge import PerformanceMatrix, portfolio_by_member, portfolio_candidates, task_family
from automl_gpt.plugins import get_plugin_manager
from automl_gpt.training import TrialResult, TrialState
from ensemble import split_card
from suite import pmlb_card, suite_names

ARMS = ("xgboost", "auto")
PLANNERS = ("tpe", "transfer")
OUT = harness.REPO / "benchmarks" / "out" / "model_choice"


class ChoiceEvaluator:
    """Trains a configuration of a card or of a choice of cards: each member card with its own cached evaluator."""

    def __init__(self, card: DataCard, members: list[ModelCard], limits: dict[str, Any], cache: dict[str, Path]):
        backend = get_plugin_manager().backend("xgboost")
        self.evaluators = {m.name: harness.Evaluator(harness.Setup(card, backend, m), limits, cache[m.name])
                           for m in members}
        self.model_card: ModelCard = members[0]

    def __call__(self, config: dict[str, Any]) -> TrialResult:
        member, own = resolve(self.model_card, config)
        return self.evaluators[member.name](own)


def search(card: DataCard, evaluate: ChoiceEvaluator, model_card: ModelCard, planner: str, seed: int, budget: int,
           portfolio: list[Candidate]) -> list[dict[str, Any]]:
    """One search of ``budget`` real trials over ``model_card`` (a card or a choice); its trials in order."""
    backend = get_plugin_manager().backend("xgboost")
    objective = backend.objective(card)
    context = harness.Setup(card, backend, model_card).context(seed)
    if planner == "transfer":
        context.portfolio = portfolio_by_member(model_card, lambda _: list(portfolio))
    evaluate.model_card = model_card
    history = harness.drive(get_plugin_manager().hook.plan_trials(name=planner, context=context), context, budget,
                            evaluate)  # type: ignore[arg-type]
    return [{"card": member_of(p.config, model_card), "state": p.result.state.value,
             "valid": p.result.metrics.get(objective.key), "test": p.result.metrics.get(f"test/{objective.metric}")}
            for p in history]


def chosen(trials: list[dict[str, Any]], budget: int) -> dict[str, Any] | None:
    """The trial with the best validation objective among the first ``budget`` (all objectives are losses)."""
    done = [t for t in trials[:budget] if t["state"] == TrialState.COMPLETE.value and t["valid"] is not None]
    return min(done, key=lambda t: t["valid"]) if done else None


def run_cells(name: str, card: DataCard, portfolio: list[Candidate], cache: Path, limits: dict[str, Any],
              args: argparse.Namespace, cells: Path, done: set[str], xgboost_cache: Path | None = None) -> None:
    """Every planner, arm and seed on one dataset; each finished cell appended to ``cells`` at once."""
    backend = get_plugin_manager().backend("xgboost")
    backend.check_data(card)
    members = [c for c in backend.model_cards() if card.task in c.tasks]
    caches = {m.name: cache / m.name for m in members}
    if xgboost_cache is not None:
        caches[members[0].name] = xgboost_cache
    evaluate = ChoiceEvaluator(card, members, limits, caches)
    cards = {"xgboost": members[0], "auto": choose(members, "auto", backend.name, card.task)}
    key = f"{name}|default"
    if key not in done:  # XGBoost's defaults: score 0 of the normalisation
        evaluate.model_card = members[0]
        result = evaluate(members[0].defaults())
        objective = backend.objective(card)
        trial = {"card": members[0].name, "state": result.state.value, "valid": result.metrics.get(objective.key),
                 "test": result.metrics.get(f"test/{objective.metric}")}
        _append(cells, {"key": key, "dataset": name, "task": card.task, "planner": "default", "trials": [trial]})
        done.add(key)
    for planner in args.planners:
        for seed in args.seeds:
            for arm in ARMS:
                key = f"{name}|{planner}|{arm}|{seed}"
                if key in done:
                    continue
                started = time.monotonic()
                trials = search(card, evaluate, cards[arm], planner, seed, max(args.budgets), portfolio)
                cell = {"key": key, "dataset": name, "task": card.task, "planner": planner, "arm": arm, "seed": seed,
                        "trials": trials, "seconds": round(time.monotonic() - started, 1)}
                _append(cells, cell)
                done.add(key)
                best = chosen(trials, max(args.budgets))
                print(f"  {key}: best valid {best['valid'] if best else float('nan'):.4f} ({best and best['card']}), "
                      f"cards tried {dict(Counter(t['card'] for t in trials))}, {cell['seconds']:.0f} s", flush=True)


def _append(path: Path, cell: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(cell) + "\n")


def read_cells(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    latest = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            cell = json.loads(line)
            latest[cell["key"]] = cell
    return list(latest.values())


def finished(cells: list[dict[str, Any]], budget: int) -> set[str]:
    """Keys of the cells done to ``budget`` trials (a longer search replays a shorter one's trials from the cache)."""
    return {c["key"] for c in cells if c["planner"] == "default" or len(c["trials"]) >= budget}


# -- summary ----------------------------------------------------------------------------------------------------


def curves_by_dataset(cells: list[dict[str, Any]], planners: list[str], seeds: list[int]) -> list[dict[str, Any]]:
    """``unseen.summarise``'s input: per dataset with every cell done, best-so-far validation curves per row
    (``arm/planner``) and seed, and ``default``: XGBoost's defaults (the same for every seed)."""
    by_name: dict[str, dict[str, Any]] = {}
    for cell in cells:
        item = by_name.setdefault(cell["dataset"], {"dataset": cell["dataset"], "task": cell["task"], "curves": {},
                                                    "trials": {}})
        if cell["planner"] == "default":
            item["curves"]["default"] = {str(s): [cell["trials"][0]["valid"]] for s in seeds}
            continue
        curve, best = [], math.inf
        for trial in cell["trials"]:
            if trial["state"] == TrialState.COMPLETE.value and trial["valid"] is not None:
                best = min(best, trial["valid"])
            curve.append(best)
        row = f"{cell['arm']}/{cell['planner']}"
        item["curves"].setdefault(row, {})[str(cell["seed"])] = curve
        item["trials"].setdefault(row, {})[str(cell["seed"])] = cell["trials"]
    rows = [*(f"{arm}/{p}" for p in planners for arm in ARMS), "default"]
    complete = [item for item in by_name.values()
                if all(str(s) in item["curves"].get(r, {}) for r in rows for s in seeds)]
    return sorted(complete, key=lambda c: c["dataset"])


def card_wins(items: list[dict[str, Any]], row: str, budget: int, seeds: list[int]) -> Counter[str]:
    """How often each card is the chosen trial's card of ``row`` within ``budget`` over (dataset, seed)."""
    wins: Counter[str] = Counter()
    for item in items:
        for seed in seeds:
            pick = chosen(item["trials"][row][str(seed)], budget)
            if pick is not None:
                wins[pick["card"]] += 1
    return wins


def test_ratio(items: list[dict[str, Any]], planner: str, budget: int, seeds: list[int]) -> tuple[float, list[int]]:
    """Geometric mean over (dataset, seed) of test loss auto/xgboost of the chosen trials, and wins/ties/losses of
    auto (ratio below 0.999, within, above 1.001)."""
    logs, tally = [], [0, 0, 0]
    for item in items:
        for seed in seeds:
            picks = [chosen(item["trials"][f"{arm}/{planner}"][str(seed)], budget) for arm in ARMS]
            if any(p is None or not p["test"] for p in picks):
                continue
            ratio = picks[1]["test"] / picks[0]["test"]  # type: ignore[index]
            logs.append(math.log(ratio))
            tally[0 if ratio < 0.999 else 1 if ratio <= 1.001 else 2] += 1
    return (math.exp(statistics.mean(logs)) if logs else math.nan), tally


def report(cells: list[dict[str, Any]], args: argparse.Namespace, title: str) -> str:
    """The tables per task family and over all, printed and returned."""
    budgets, seeds, planners = sorted(args.budgets), list(args.seeds), list(args.planners)
    rows = [f"{arm}/{p}" for p in planners for arm in ARMS]
    items = curves_by_dataset(cells, planners, seeds)
    parts = [title]
    groups = [(family, [i for i in items if task_family(i["task"]) == family])
              for family in ("classification", "regression")]
    if all(mine for _, mine in groups):
        groups.append(("all", items))
    for family, mine in groups:
        if not mine:
            continue
        table = unseen.summarise(mine, rows, budgets, seeds)
        lines = [f"\n{family}: {len(mine)} datasets x {len(seeds)} seeds ({', '.join(i['dataset'] for i in mine)})",
                 "", "| row | budget | mean normalised score | mean rank (of 4) | chosen card (auto: wins per card) "
                 "| test-loss ratio auto/xgboost (geo. mean; auto better/equal/worse) |", "|---|---|---|---|---|---|"]
        for row in rows:
            planner = row.split("/")[1]
            for budget in budgets:
                cell = table[row][budget]
                wins = card_wins(mine, row, budget, seeds)
                ratio = ""
                if row.startswith("auto/"):
                    geo, (better, equal, worse) = test_ratio(mine, planner, budget, seeds)
                    ratio = f"{geo:.4f} ({better}/{equal}/{worse})"
                lines.append(f"| {row} | {budget} | {cell['score']:+.3f} | {cell['rank']:.2f} | "
                             + ", ".join(f"{c} {n}" for c, n in wins.most_common()) + f" | {ratio} |")
        parts.append("\n".join(lines))
    parts.append(per_dataset(items, planners, max(budgets), seeds))
    text = "\n".join(parts)
    print(text, flush=True)
    return text


def per_dataset(items: list[dict[str, Any]], planners: list[str], budget: int, seeds: list[int]) -> str:
    """Per dataset at ``budget``: the card each ``auto`` seed chose and the test-loss ratio auto/xgboost."""
    header = " | ".join(f"auto/{p}: chosen cards | test-loss ratio" for p in planners)
    lines = [f"\nper dataset at {budget} trials (chosen card per seed; geometric mean over seeds of the test-loss "
             "ratio auto/xgboost)", "", f"| dataset | task | {header} |", "|---|---|" + "---|---|" * len(planners)]
    for item in items:
        cells = []
        for planner in planners:
            picks = [chosen(item["trials"][f"auto/{planner}"][str(s)], budget) for s in seeds]
            ratio, _ = test_ratio([item], planner, budget, seeds)
            cells.append(", ".join(p["card"] if p else "-" for p in picks) + f" | {ratio:.3f}")
        lines.append(f"| {item['dataset']} | {item['task']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- suite and Adult --------------------------------------------------------------------------------------------


def suite_cards(names: list[str], out: Path) -> dict[str, DataCard]:
    """Each dataset's suite card with its 75/25 split as the training and test files."""
    cards = {}
    for name in names:
        split = split_card(name, out / "data" / name)
        cards[name] = pmlb_card(name).model_copy(update={"train": split.train, "test": split.test})
    return cards


def xgboost_space(card: DataCard) -> SearchSpace:
    """The search space of the XGBoost card for the card's task (the card the shipped matrix describes)."""
    return harness.setup(card).model_card.space()


def run_suite(args: argparse.Namespace) -> str:
    names = args.datasets or unseen.stratified_subset(suite_names(), args.max_datasets, args.subset_seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cells = out / "cells.jsonl"
    title = (f"suite: {len(names)} datasets, one per family, stratified by task (subset seed {args.subset_seed}): "
             + ", ".join(names) + f"; planners {args.planners}; budgets {args.budgets}; seeds {args.seeds}; "
             f"limits {harness.LIMITS}")
    if not args.report_only:
        print(title, flush=True)
        done = finished(read_cells(cells), max(args.budgets))
        matrix = PerformanceMatrix.read(Path(args.matrix))
        weight = unseen.text_weight(matrix)
        cards = suite_cards(names, out)
        for name in unseen._cheap_first(names):
            card = cards[name]
            portfolio: list[Candidate] = []
            if "transfer" in args.planners:
                portfolio = portfolio_candidates(harness.leave_family_out(matrix, name),
                                                 unseen.card_profile(card, weight), xgboost_space(card),
                                                 text_weight=weight)
            started = time.monotonic()
            run_cells(name, card, portfolio, out / "cache", harness.LIMITS, args, cells, done)
            print(f"done {name} ({card.task}) in {time.monotonic() - started:.0f} s, "
                  f"{time.strftime('%H:%M UTC', time.gmtime())}", flush=True)
    mine = [c for c in read_cells(cells) if c["dataset"] in names]
    return report(mine, args, title)


def run_adult(args: argparse.Namespace) -> str:
    from automl_gpt.cards import load_data_card

    out = Path(args.out) / "adult"
    out.mkdir(parents=True, exist_ok=True)
    cells = out / "cells.jsonl"
    title = (f"UCI Adult (official split, all rows): planners {args.planners}; budgets {args.budgets}; "
             f"seeds {args.seeds}; {args.adult_threads} thread(s) per training")
    if not args.report_only:
        print(title, flush=True)
        card = load_data_card(unseen.ADULT_CARD)
        matrix = PerformanceMatrix.read(Path(args.matrix))
        weight = unseen.text_weight(matrix)
        portfolio = portfolio_candidates(matrix, unseen.card_profile(card, weight), xgboost_space(card),
                                         text_weight=weight)
        run_cells("adult", card, portfolio, out / "cache", {"threads": args.adult_threads}, args, cells,
                  finished(read_cells(cells), max(args.budgets)), xgboost_cache=Path(args.xgboost_cache))
    return report(read_cells(cells), args, title)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", help="suite datasets (default: the seeded subset)")
    parser.add_argument("--max-datasets", type=int, default=16, help="one per family, stratified by task")
    parser.add_argument("--subset-seed", type=int, default=0)
    parser.add_argument("--planners", type=lambda t: t.split(","), default=list(PLANNERS))
    parser.add_argument("--budgets", type=_ints, default=[5, 10, 20], help="the largest is run, the others read")
    parser.add_argument("--seeds", type=_ints, default=[0, 1, 2])
    parser.add_argument("--matrix", default=str(unseen.MATRIX), help="performance matrix (default: the shipped one)")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--adult", action="store_true", help="UCI Adult instead of the suite")
    parser.add_argument("--adult-threads", type=int, default=1)
    parser.add_argument("--xgboost-cache", default=str(harness.CACHE), help="Adult's cached XGBoost trainings")
    parser.add_argument("--report-only", action="store_true", help="tables from cells.jsonl, no training")
    args = parser.parse_args(argv)
    unknown = set(args.planners) - set(PLANNERS)
    if unknown:
        parser.error(f"unknown planner(s) {', '.join(sorted(unknown))} (known: {', '.join(PLANNERS)})")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\ncommand: "
          + " ".join(["python", *sys.argv]), flush=True)
    harness.quiet()
    text = run_adult(args) if args.adult else run_suite(args)
    target = Path(args.out) / ("adult" if args.adult else "") / "table.md"
    target.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {target}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
