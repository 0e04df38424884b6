"""The run's ensemble against its best single trial, on PMLB datasets of the shared suite (binary, multiclass,
regression), through ``automl_gpt.run`` exactly as ``automl-gpt run`` builds it.

Protocol: each dataset is split once (seed 0, stratified for classification) into 75% training rows and a 25% test
file; the run tunes on a fixed 20% holdout of the training rows (the backend's default validation), refits every
trial on all training rows (the card has a test file) and the ensemble reuses those refitted models. Per dataset
and seed the table gives the best single trial's and the ensemble's validation and test objective (log-loss,
RMSE), how many seeds' ensembles beat the best trial on validation (then ``predict`` serves them) and the mean
number of members.

Run: ``nice -n 10 python benchmarks/ensemble.py`` (churn, segmentation, 225_puma8NH; budget 10; seeds 0, 1, 2),
``--datasets NAME,... --budget N --seeds 0,1 --planner tpe``. ``results.json`` is written after every run; a rerun
with the same ``--out`` skips the (dataset, seed) pairs already in it (``--fresh`` starts over).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUTOML_GPT_SHARED_DATA", REPO.parent / "shared" / "data"))
DATASETS = "churn,segmentation,225_puma8NH"


def split_card(name: str, folder: Path) -> Any:
    """A data card for the PMLB dataset ``name`` split 75/25 (seed 0) into train.csv and test.csv."""
    import pandas as pd
    from automl_gpt.cards import DataCard
    from sklearn.model_selection import train_test_split

    meta = json.loads((SHARED / "tabular" / f"{name}.json").read_text())
    frame = pd.read_csv(SHARED / "tabular" / f"{name}.csv.gz")
    target = meta.get("target_column", "target")
    stratify = frame[target] if meta["task"] != "regression" else None
    train, test = train_test_split(frame, test_size=0.25, random_state=0, stratify=stratify)
    folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    return DataCard(name=name, task=meta["task"], train=str(folder / "train.csv"), test=str(folder / "test.csv"),
                    target=target)


def one_run(card: Any, planner: str, budget: int, seed: int, out: Path, threads: int) -> dict[str, Any]:
    """A real run; returns the best trial's and the ensemble's scores from its summary."""
    from automl_gpt.runs.loop import run

    started = time.monotonic()
    result = run(card, planner=planner, budget=budget, seed=seed, out=out, limits={"threads": threads},
                 experience=planner in ("transfer", "llm"), echo=lambda line: None)
    summary = result.summary
    metric = summary["objective"]["metric"]
    ensemble, best = summary["ensemble"], summary["best"]
    return {
        "dataset": card.name,
        "task": card.task,
        "metric": metric,
        "seed": seed,
        "best_valid": best["value"],
        "best_test": best["metrics"][f"test/{metric}"],
        "ensemble_valid": ensemble["value"],
        "ensemble_test": ensemble["metrics"][f"test/{metric}"],
        "served": ensemble["served"],
        "members": len(ensemble["members"]),
        "wall_s": time.monotonic() - started,
        "run": str(result.folder),
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | task | metric | seeds | best trial valid | ensemble valid | best trial test | ensemble test "
        "| ensemble beats best (valid) | members |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in dict.fromkeys(r["dataset"] for r in rows):
        group = [r for r in rows if r["dataset"] == name]
        mean = {k: statistics.mean(r[k] for r in group) for k in ("best_valid", "ensemble_valid", "best_test",
                                                                   "ensemble_test", "members")}
        lines.append(
            f"| {name} | {group[0]['task']} | {group[0]['metric']} | {len(group)} | {mean['best_valid']:.4f} | "
            f"{mean['ensemble_valid']:.4f} | {mean['best_test']:.4f} | {mean['ensemble_test']:.4f} | "
            f"{sum(r['served'] for r in group)}/{len(group)} | {mean['members']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=DATASETS, help="comma-separated PMLB names of the shared suite")
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--planner", default="tpe")
    parser.add_argument("--threads", type=int, default=1, help="XGBoost threads")
    parser.add_argument("--out", default=str(REPO / "runs" / "benchmarks" / "ensemble"))
    parser.add_argument("--fresh", action="store_true", help="ignore the results already saved in --out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = out / "results.json"
    rows: list[dict[str, Any]] = [] if args.fresh or not results.exists() else json.loads(results.read_text())
    print(f"ensemble vs best trial: {args.datasets}, planner {args.planner}, budget {args.budget}, seeds "
          f"{args.seeds}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    for name in args.datasets.split(","):
        card = split_card(name, out / "data" / name)
        for seed in (int(s) for s in args.seeds.split(",")):
            if any(r["dataset"] == name and r["seed"] == seed for r in rows):
                continue
            row = one_run(card, args.planner, args.budget, seed, out / "runs", args.threads)
            rows.append(row)
            print(f"  {name} seed {seed}: best trial valid {row['best_valid']:.4f} test {row['best_test']:.4f}; "
                  f"ensemble of {row['members']} valid {row['ensemble_valid']:.4f} test {row['ensemble_test']:.4f}"
                  f"{' (served)' if row['served'] else ''}; {row['wall_s']:.0f} s", flush=True)
            results.write_text(json.dumps(rows, indent=1))
    print("\n" + table(rows), flush=True)


if __name__ == "__main__":
    main()
