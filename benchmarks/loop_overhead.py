"""Share of a run's wall time spent outside training and LLM calls (the loop's own overhead).

    python benchmarks/loop_overhead.py [--budget 10] [--planners tpe,llm] [--max-rows 8000]

Runs the real loop (`automl_gpt.run`) on UCI Adult with the real XGBoost backend. Wall time is measured around
the whole call (card loading, study, planning, predictions, store writes, report), training time is the sum of
the trials' own durations, LLM time the planner's time inside LLM calls. Overhead = wall - training - LLM.
Target: under 3 % of the wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[1]
CARD = REPO / "examples" / "adult" / "card.yaml"


def measure(planner: str, budget: int, max_rows: int | None, llm: str) -> dict[str, float]:
    from automl_gpt import run

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = run(CARD, planner=planner, llm=llm, budget=budget, seed=0, out=out, prune=False,
                     limits={"max_rows": max_rows} if max_rows else {}, echo=lambda line: None)
        wall = time.perf_counter() - started
    timing = result.summary["time"]
    overhead = wall - timing["training_s"] - timing["llm_s"]
    return {"wall_s": wall, "training_s": timing["training_s"], "llm_s": timing["llm_s"], "overhead_s": overhead,
            "share": overhead / wall, "per_trial_ms": overhead / budget * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--planners", default="tpe,llm")
    parser.add_argument("--max-rows", type=int, default=None, help="cap on Adult training rows per trial")
    parser.add_argument("--llm", default="local")
    args = parser.parse_args()
    rows = {name: measure(name, args.budget, args.max_rows, args.llm) for name in args.planners.split(",")}
    print(f"UCI Adult, {args.budget} trials, {args.max_rows or 'all'} training rows, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}")
    print(f"{'planner':<8} {'wall s':>8} {'train s':>8} {'LLM s':>8} {'overhead s':>10} {'ms/trial':>9} {'share':>7}")
    for name, row in rows.items():
        print(f"{name:<8} {row['wall_s']:>8.1f} {row['training_s']:>8.1f} {row['llm_s']:>8.1f} "
              f"{row['overhead_s']:>10.2f} {row['per_trial_ms']:>9.0f} {row['share']:>7.2%}")
    worst = max(row["share"] for row in rows.values())
    print(f"target: overhead under 3% of wall time -> {'met' if worst < 0.03 else 'MISSED'} (worst {worst:.2%})")


if __name__ == "__main__":
    main()
