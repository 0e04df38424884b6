"""Trials per minute with 1, 2 and 4 workers on one PostgreSQL study, and the share of time spent on the store.

    python benchmarks/workers.py [--url postgresql+psycopg://...] [--trials 24] [--trial-seconds 1.0]

Each worker is a real process running the loop against the shared study; the "training" is the analytic
backend of the test suite with a fixed sleep per step, so the figures measure coordination, not learning.
Store time per trial = time waiting for the planning lock plus every store call (queue checks, enqueue, take,
finish, history refresh, the blocking part of the heartbeat), measured around those calls in each worker and
also printed call by call; SQL/trial counts the statements those calls sent. Target: under 2% of each trial.
Starts a throwaway server with tests/support/postgres.sh when --url is not given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Every RunStore call a worker makes while it runs trials (the lock wait and the blocking part of the heartbeat
# are added separately); start-up and the final report are not per-trial costs and are left out.
STORE_METHODS = ("enqueue", "take", "finish", "history", "trials", "slots_used", "waiting", "running", "fail_stale",
                 "requeue_interrupted")
WORKER_CODE = """
import contextlib, json, sys, threading, time
from collections import defaultdict
from pathlib import Path
import sqlalchemy
from automl_gpt.runs import loop
from automl_gpt.runs.store import RunStore
from automl_gpt.testing import plugins_loaded
from tests.core import loop_support

seconds = defaultdict(float)
calls = defaultdict(int)
depth = 0
statements = 0
@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, "before_cursor_execute")
def count(*args):
    global statements
    if depth and threading.current_thread() is threading.main_thread():
        statements += 1
def timed(name, method):
    def wrapper(*args, **kwargs):
        global depth
        if depth:  # a store call made by another store call is counted once, in the outer one
            return method(*args, **kwargs)
        depth += 1
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            depth -= 1
            seconds[name] += time.perf_counter() - started
            calls[name] += 1
    return wrapper
for name in STORE_METHODS:
    setattr(RunStore, name, timed(name, getattr(RunStore, name)))
original_heartbeat = RunStore.heartbeat
@contextlib.contextmanager
def heartbeat(self, trial):  # the first beat and the thread's join block the trial; later beats run beside it
    started = time.perf_counter()
    with original_heartbeat(self, trial):
        seconds["heartbeat"] += time.perf_counter() - started
        calls["heartbeat"] += 1
        yield
        started = time.perf_counter()
    seconds["heartbeat"] += time.perf_counter() - started
RunStore.heartbeat = heartbeat
stores = []
original_init = RunStore.__init__
def init(self, *args, **kwargs):
    original_init(self, *args, **kwargs)
    stores.append(self)
RunStore.__init__ = init
mode, url, study, out, budget, card_dir, step = sys.argv[1:8]
with plugins_loaded(loop_support):
    started = time.perf_counter()
    if mode == "first":
        result = loop.run(loop_support.data_card(Path(card_dir)), planner="random", budget=int(budget), out=out,
                          storage=url, study_name=study, prune=False, batch_size=1,
                          limits={"sleep_per_step": float(step)}, echo=lambda line: None)
    else:
        result = loop.work(url, study, out=out, echo=lambda line: None)
seconds["lock_wait"] = sum(store.lock_wait_s for store in stores)
print(json.dumps({"store_s": sum(seconds.values()), "wall_s": time.perf_counter() - started,
                  "seconds": seconds, "calls": calls, "statements": statements}))
""".replace("STORE_METHODS", repr(STORE_METHODS))


def start_postgres() -> str:
    output = subprocess.run(
        [str(REPO / "tests" / "support" / "postgres.sh"), "start"], capture_output=True, text=True, check=True
    )
    return output.stdout.strip().splitlines()[-1]


def run_workers(url: str, n_workers: int, trials: int, step_s: float) -> dict[str, float]:
    study = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "runs")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        started = time.perf_counter()
        args = [url, study, out, str(trials), tmp, str(step_s)]
        first = subprocess.Popen(
            [sys.executable, "-c", WORKER_CODE, "first", *args], stdout=subprocess.PIPE, env=env, cwd=REPO
        )
        time.sleep(1.5)  # the first worker creates the study
        others = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER_CODE, "worker", *args], stdout=subprocess.PIPE, env=env, cwd=REPO
            )
            for _ in range(n_workers - 1)
        ]
        reports = []
        for process in [first, *others]:
            output, _ = process.communicate(timeout=1800)
            if process.returncode != 0:
                raise SystemExit(f"a worker failed (exit {process.returncode})")
            reports.append(json.loads(output.decode().strip().splitlines()[-1]))
        wall = time.perf_counter() - started
    store = sum(r["store_s"] for r in reports)
    busy = sum(r["wall_s"] for r in reports)
    breakdown: dict[str, float] = {}
    calls: dict[str, int] = {}
    for report in reports:
        for name, seconds in report["seconds"].items():
            breakdown[name] = breakdown.get(name, 0.0) + seconds
        for name, count in report["calls"].items():
            calls[name] = calls.get(name, 0) + count
    return {
        "workers": n_workers,
        "wall_s": wall,
        "trials_per_min": trials / wall * 60,
        "store_share": store / busy,
        "store_ms_per_trial": store / trials * 1000,
        "sql_per_trial": sum(r["statements"] for r in reports) / trials,
        "ms_per_trial": {name: seconds / trials * 1000 for name, seconds in breakdown.items()},
        "calls": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=None)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--trial-seconds", type=float, default=1.0, help="simulated training time per trial")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    url = args.url or start_postgres()
    step = args.trial_seconds / 20  # the analytic backend logs 20 steps
    rows = [run_workers(url, int(n), args.trials, step) for n in args.workers.split(",")]
    base = rows[0]["trials_per_min"]
    print(
        f"{args.trials} trials of ~{args.trial_seconds:g} s each, PostgreSQL at {url.split('@')[-1]}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'workers':>7} {'wall s':>8} {'trials/min':>10} {'speed-up':>8} {'store ms/trial':>14} {'store share':>11} "
          f"{'SQL/trial':>9}")
    for row in rows:
        print(
            f"{row['workers']:>7} {row['wall_s']:>8.1f} {row['trials_per_min']:>10.1f} "
            f"{row['trials_per_min'] / base:>8.2f} {row['store_ms_per_trial']:>14.1f} {row['store_share']:>10.2%} "
            f"{row['sql_per_trial']:>9.1f}"
        )
    print("store ms per trial by call (number of calls):")
    for row in rows:
        parts = sorted(row["ms_per_trial"].items(), key=lambda item: -item[1])
        print(f"{row['workers']:>7} " + ", ".join(
            f"{name} {ms:.1f}" + (f" ({row['calls'][name]})" if name in row["calls"] else "") for name, ms in parts
        ))
    worst = max(row["store_share"] for row in rows)
    print(f"target: store share under 2% per trial -> {'met' if worst < 0.02 else 'MISSED'} (worst {worst:.2%})")


if __name__ == "__main__":
    main()
