"""``--model auto`` (the planner also picks XGBoost, histogram gradient boosting or the linear model) against
XGBoost alone, at equal budget, on small PMLB datasets of the shared suite, through ``automl_gpt.run``.

Protocol: each dataset is split once (seed 0, stratified for classification) into 75% training rows and a 25% test
file (``ensemble.split_card``); every run tunes with the ``tpe`` planner (first trials: the defaults, XGBoost's for
both arms, then for ``auto`` those of histogram gradient boosting and the linear model), no experience, no
ensemble, one XGBoost thread, on a fixed 20% holdout of the training rows, and refits each trial on all training
rows before testing. A budget-10 run also gives the budget-5
result: the best validation trial among its first 5 trials (the planner's sequence does not depend on the budget).
Per dataset, budget and arm the table gives the test objective (log-loss, RMSE) of the trial chosen on validation,
averaged over seeds, and which card the ``auto`` run chose; the summary gives wins/ties/losses of ``auto`` and the
geometric mean of the test-loss ratio auto/xgboost (below 1: auto better).

Run: ``nice -n 10 python benchmarks/model_choice.py`` (10 datasets, budgets 5 and 10, seeds 0 and 1),
``--datasets NAME,... --budget N --seeds 0``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

from ensemble import REPO, split_card  # the ensemble benchmark's 75/25 split of a shared PMLB dataset

DATASETS = ("credit_g,pima,breast_cancer_wisconsin,ionosphere,vowel,dermatology,yeast,1027_ESL,522_pm10,"
            "595_fri_c0_1000_10")
ARMS = ("xgboost", "auto")


def one_run(card: Any, model: str, budget: int, seed: int, out: Path) -> list[dict[str, Any]]:
    """A real run; returns its trials in order: card, state, validation and test objective."""
    from automl_gpt.runs.loop import run

    result = run(card, model=model, planner="tpe", budget=budget, seed=seed, out=out, limits={"threads": 1},
                 experience=False, ensemble=False, echo=lambda line: None)
    metric = result.summary["objective"]["metric"]
    return [{"card": t.config.get("model", model), "state": t.result.state.value,
             "valid": t.result.metrics.get(f"valid/{metric}"), "test": t.result.metrics.get(f"test/{metric}")}
            for t in sorted(result.trials, key=lambda t: t.number)]


def chosen(trials: list[dict[str, Any]], budget: int) -> dict[str, Any]:
    """The trial with the best validation objective among the first ``budget`` (all objectives are losses)."""
    done = [t for t in trials[:budget] if t["state"] == "COMPLETE" and t["valid"] is not None]
    return min(done, key=lambda t: t["valid"])


def table(rows: list[dict[str, Any]], budgets: list[int]) -> str:
    lines = ["| dataset | task | metric | budget | xgboost test | auto test | auto's chosen cards |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    ratios: dict[int, list[float]] = {b: [] for b in budgets}
    tally: dict[int, list[int]] = {b: [0, 0, 0] for b in budgets}
    for name in dict.fromkeys(r["dataset"] for r in rows):
        for budget in budgets:
            test = {}
            cards: list[str] = []
            for arm in ARMS:
                picks = [chosen(r["trials"], budget) for r in rows if r["dataset"] == name and r["arm"] == arm]
                test[arm] = statistics.mean(p["test"] for p in picks)
                if arm == "auto":
                    cards = [p["card"] for p in picks]
            first = next(r for r in rows if r["dataset"] == name)
            ratio = test["auto"] / test["xgboost"] if test["xgboost"] > 0 else 1.0
            ratios[budget].append(ratio)
            tally[budget][0 if ratio < 0.999 else 1 if ratio <= 1.001 else 2] += 1
            lines.append(f"| {name} | {first['task']} | {first['metric']} | {budget} | {test['xgboost']:.4f} | "
                         f"{test['auto']:.4f} | {', '.join(cards)} |")
    lines.append("")
    for budget in budgets:
        geo = math.exp(statistics.mean(math.log(r) for r in ratios[budget]))
        wins, ties, losses = tally[budget]
        lines.append(f"budget {budget}: auto better on {wins}, equal on {ties}, worse on {losses} of "
                     f"{len(ratios[budget])} datasets; geometric mean test-loss ratio auto/xgboost {geo:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=DATASETS, help="comma-separated PMLB names of the shared suite")
    parser.add_argument("--budgets", default="5,10", help="the largest is run; smaller ones are its prefixes")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--out", default=str(REPO / "runs" / "benchmarks" / "model_choice"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    budgets = sorted(int(b) for b in args.budgets.split(","))
    rows: list[dict[str, Any]] = []
    print(f"--model auto vs xgboost: {args.datasets}, planner tpe, budgets {budgets}, seeds {args.seeds}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    for name in args.datasets.split(","):
        card = split_card(name, out / "data" / name)
        for seed in (int(s) for s in args.seeds.split(",")):
            for arm in ARMS:
                started = time.monotonic()
                trials = one_run(card, arm, budgets[-1], seed, out / "runs")
                metric = "rmse" if card.task == "regression" else "logloss"
                rows.append({"dataset": name, "task": card.task, "metric": metric, "seed": seed, "arm": arm,
                             "trials": trials})
                best = chosen(trials, budgets[-1])
                print(f"  {name} seed {seed} {arm}: test {metric} {best['test']:.4f} ({best['card']}); "
                      f"cards tried {sorted({t['card'] for t in trials})}; {time.monotonic() - started:.0f} s",
                      flush=True)
                (out / "results.json").write_text(json.dumps(rows, indent=1))
    print("\n" + table(rows, budgets), flush=True)


if __name__ == "__main__":
    main()
