"""UCI Adult on the official split: XGBoost defaults vs random search vs Optuna TPE vs FLAML, in one run.

Protocol (the same for every row): tune on a fixed stratified 80/20 split of ``adult.data`` (validation
log-loss), then refit the chosen configuration on all of ``adult.data`` with its best number of rounds and score
it once on ``adult.test`` (16,281 rows). Rows:

``defaults``   the model card's defaults (XGBoost's own defaults, early stopping on the 20% split), one trial.
``random``     :class:`automl_gpt.planners.RandomPlanner`, ask/tell with the xgboost backend.
``tpe``        :class:`automl_gpt.planners.TPEPlanner` (Optuna TPE, first trial = the default configuration).
``flaml``      FLAML ``AutoML`` (xgboost only, log-loss, holdout 20%, retrain on all data) given the wall time our
               TPE search took at the same budget and seed: what a user would run instead.
any other      a planner from the ``plan_trials`` hook (e.g. ``--planners transfer,llm --llm local``), driven
               exactly like ``random`` and ``tpe`` by :func:`planner_search`. ``llm`` and ``transfer`` get what
               ``automl-gpt run`` gives them: the 15 most similar datasets of the shipped knowledge base (which
               never held Adult), unless ``--no-experience``.
``P+ensemble`` (``--ensemble``) planner P's first B trials combined as ``automl-gpt run`` combines a run's trials:
               the tabular backend's greedy ensemble selection on their 20% validation predictions, then every
               member refitted on all of ``adult.data`` (as the single best is) and their test probabilities
               averaged with the selected weights.

``random``, ``tpe`` and ``transfer`` (:data:`PREFIX_PLANNERS`) search once per seed up to the largest budget and
every budget reads its prefix (wall time = the prefix's time + the final refit): they never read the stated budget,
so their first B trials are exactly a B-trial run (checked: the first 10 configurations of a 30-trial search equal a
10-trial search's, same seed). Any other planner (``llm``: its prompt states the budget) searches once per budget.
Results are written after every (planner, budget, seed) cell to ``results.json`` and each search's trials to
``<planner>-s<seed>[-b<budget>]-trials.json``; a rerun with the same ``--out`` skips the cells already in
``results.json`` and reuses saved searches (``--fresh`` starts over). The search model card is the backend's with
``validation`` fixed to ``holdout`` (the protocol's 80/20 split). The thread check times one 400-round fit in
fresh processes: nthread 2 vs 1, with and without ``OMP_WAIT_POLICY=PASSIVE``, idle and next to a busy process.

Run: ``nice -n 10 python benchmarks/adult.py`` (full), ``--budgets 10,30 --seeds 0,1,2``, or ``--quick``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before XGBoost loads OpenMP in this process

REPO = Path(__file__).resolve().parents[1]
CARD = REPO / "examples" / "adult" / "card.yaml"
THREAD_FIT_ROUNDS = 400
# Planners whose first B trials are a B-trial search (they never read context.constraints["budget"]).
PREFIX_PLANNERS = ("random", "tpe", "transfer")


@dataclass
class Row:
    """One method at one budget and seed: test scores of the refitted choice and the wall time it took."""

    method: str
    budget: int
    seed: int
    test_accuracy: float
    test_logloss: float
    valid_logloss: float | None
    wall_s: float
    trials: int
    config: dict[str, Any] = field(default_factory=dict)


# -- our backend ------------------------------------------------------------------------------------------------


def setup(threads: int, max_rows: int | None) -> dict[str, Any]:
    """Cards, backend and the search model card (validation fixed to the 80/20 holdout)."""
    from automl_gpt.cards import ModelCard, card_from_mapping, load_data_card
    from automl_gpt.plugins import get_plugin_manager

    card = load_data_card(CARD)
    backend = get_plugin_manager().backend("xgboost")
    base = backend.model_cards()[0]
    data = base.model_dump(mode="json")
    data["search_space"]["validation"] = dict(data["search_space"]["validation"], choices=["holdout"])
    data["search_space"].pop("folds")
    model_card = card_from_mapping(ModelCard, data, None)
    limits: dict[str, Any] = {"threads": threads}
    if max_rows:
        limits["max_rows"] = max_rows
    return {
        "card": card,
        "tune_card": card.model_copy(update={"test": None}),
        "backend": backend,
        "model_card": model_card,
        "limits": limits,
    }


def train_once(env: dict[str, Any], config: dict[str, Any], *, card: Any, seed: int, workdir: Path) -> Any:
    """One real trial through the backend (the same call the run loop makes)."""
    from automl_gpt.training import TrainingRequest

    request = TrainingRequest(
        config=config,
        data_card=card,
        model_card=env["model_card"],
        workdir=workdir,
        seed=seed,
        limits=dict(env["limits"]),
    )
    return env["backend"].train(request)


def shipped_experience(env: dict[str, Any]) -> list[Any]:
    """The similar datasets ``automl-gpt run`` would warm-start from on a fresh machine: an empty experience store
    answers from the backend's shipped knowledge base."""
    import tempfile

    from automl_gpt.runs.experience import ExperienceStore

    with tempfile.TemporaryDirectory() as tmp:
        store = ExperienceStore(Path(tmp) / "empty.sqlite")
        experience = store.find_similar(env["tune_card"], env["model_card"])
    print("experience: " + ", ".join(f"{e.dataset} ({e.similarity:.2f})" for e in experience), flush=True)
    return experience


def planner_search(
    name: str,
    env: dict[str, Any],
    *,
    seed: int,
    budget: int,
    workdir: Path,
    options: dict[str, Any] | None = None,
    experience: list[Any] | None = None,
    tag: str | None = None,
) -> list[dict[str, Any]]:
    """Drive the planner called ``name`` (from the ``plan_trials`` hook: random, tpe, llm...) for ``budget`` trials.

    Ask one candidate, train it for real on the tuning card, tell the result, repeat (duplicates are skipped as
    the run loop does). Returns every trial with its config, validation log-loss and cumulative wall time. Trial
    folders go under ``workdir / tag`` (default ``<name>-s<seed>``).
    """
    from automl_gpt.planners import config_key
    from automl_gpt.planners.base import PastTrial, PlanningContext
    from automl_gpt.plugins import get_plugin_manager
    from automl_gpt.training import TrialState

    model_card = env["model_card"]
    objective = env["backend"].objective(env["tune_card"])
    context = PlanningContext(
        data_card=env["tune_card"],
        model_card=model_card,
        space=model_card.space(),
        objective=objective,
        seed=seed,
        constraints={"budget": f"{budget} training runs"},
        options=dict(options or {}),
        experience=list(experience or []),
    )
    _quiet_optuna()
    planner = get_plugin_manager().hook.plan_trials(name=name, context=context)
    if planner is None:
        raise SystemExit(f"no planner called '{name}' (see the plan_trials hook implementations)")
    started = time.monotonic()
    seen: set[str] = set()
    trials: list[dict[str, Any]] = []
    stale = 0
    while len(trials) < budget and stale < 20:
        candidates = [c for c in planner.ask(1) if config_key(c.config) not in seen]
        if not candidates:
            stale += 1
            continue
        candidate = candidates[0]
        seen.add(config_key(candidate.config))
        number = len(trials)
        result = train_once(
            env,
            candidate.config,
            card=env["tune_card"],
            seed=seed * 1000 + number,
            workdir=workdir / (tag or f"{name}-s{seed}") / f"trial-{number:03d}",
        )
        planner.tell(candidate, result)
        context.history.append(PastTrial(number, dict(candidate.config), result, list(candidate.predictions)))
        value = result.value(objective)
        ok = result.state == TrialState.COMPLETE and value is not None and not math.isnan(value)
        trials.append(
            {
                "config": candidate.config,
                "artifacts": result.artifacts,
                "valid_logloss": value if ok else None,
                "state": result.state.value,
                "error": result.error,
                "elapsed_s": time.monotonic() - started,
                "predicted": {p.predictor: p.final for p in candidate.predictions if p.final is not None},
            }
        )
    _print_prediction_quality(name, seed, trials)
    return trials


def _print_prediction_quality(name: str, seed: int, trials: list[dict[str, Any]]) -> None:
    """Spearman rank correlation of each predictor's predicted vs the real validation log-loss."""
    import numpy as np
    from automl_gpt.runs.report import spearman

    predictors = sorted({p for t in trials for p in t["predicted"]})
    for predictor in predictors:
        pairs = [
            (t["predicted"][predictor], t["valid_logloss"])
            for t in trials
            if predictor in t["predicted"] and t["valid_logloss"] is not None
        ]
        rho = spearman(np.asarray([a for a, _ in pairs]), np.asarray([b for _, b in pairs])) if pairs else None
        shown = "n/a" if rho is None else f"{rho:+.2f}"
        print(
            f"{name} seed {seed}: {predictor} predicted vs real valid log-loss, Spearman {shown} over {len(pairs)}"
            " trials",
            flush=True,
        )


def _quiet_optuna() -> None:
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def refit_and_test(env: dict[str, Any], config: dict[str, Any], *, seed: int, workdir: Path) -> tuple[dict, float]:
    """Train the chosen config on the card with its test file: holdout run, refit on all adult.data, test."""
    started = time.monotonic()
    result = train_once(env, config, card=env["card"], seed=seed, workdir=workdir)
    if result.state.value != "COMPLETE":
        raise SystemExit(f"final refit failed: {result.error}")
    return result.metrics, time.monotonic() - started


def rows_from_search(
    method: str, trials: list[dict[str, Any]], budgets: list[int], env: dict[str, Any], seed: int, workdir: Path,
    tag: str | None = None,
) -> list[Row]:
    """One row per budget: the best of the first B trials, refitted and tested (folders named ``tag``, default
    ``<method>-s<seed>``)."""
    rows = []
    for budget in budgets:
        prefix = [t for t in trials[:budget] if t["valid_logloss"] is not None]
        if not prefix:
            continue
        best = min(prefix, key=lambda t: t["valid_logloss"])
        metrics, refit_s = refit_and_test(
            env, best["config"], seed=seed, workdir=workdir / f"{tag or f'{method}-s{seed}'}-b{budget}-best"
        )
        search_s = trials[min(budget, len(trials)) - 1]["elapsed_s"]
        rows.append(
            Row(
                method,
                budget,
                seed,
                metrics["test/accuracy"],
                metrics["test/logloss"],
                best["valid_logloss"],
                search_s + refit_s,
                min(budget, len(trials)),
                best["config"],
            )
        )
    return rows


def ensemble_rows(
    method: str, trials: list[dict[str, Any]], budgets: list[int], env: dict[str, Any], seed: int, workdir: Path,
    tag: str | None = None,
) -> list[Row]:
    """One ``<method>+ensemble`` row per budget: selection on the first B trials' validation predictions only,
    members refitted on all of adult.data (each once per seed), test probabilities averaged with the weights."""
    import numpy as np
    from automl_gpt.planners.base import PastTrial
    from automl_gpt.runs.ensemble import EnsembleRequest
    from automl_gpt.training import TrialResult, TrialState
    from automl_gpt_backend_tabular import data
    from automl_gpt_backend_tabular import ensemble as tabular_ensemble
    from automl_gpt_backend_tabular.saved_model import SavedModel
    from automl_gpt_backend_tabular.trainer import score

    objective = env["backend"].objective(env["tune_card"])
    tag = tag or f"{method}-s{seed}"
    refits: dict[int, tuple[Any, float]] = {}  # trial number -> (refitted model, refit seconds)
    test = None
    rows = []
    for budget in budgets:
        library = [
            PastTrial(n, t["config"], TrialResult(TrialState.COMPLETE, metrics={objective.key: t["valid_logloss"]},
                                                  artifacts=t["artifacts"]))
            for n, t in enumerate(trials[:budget]) if t["valid_logloss"] is not None
        ]
        if not library:
            continue
        folder = workdir / f"{tag}-b{budget}-ensemble"
        folder.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        built = tabular_ensemble.build(EnsembleRequest(env["tune_card"], objective, library, folder))
        selection_s = time.monotonic() - started
        for number in built.weights:
            if number not in refits:
                refit_dir = workdir / f"{tag}-refit-{number:03d}"
                _, seconds = refit_and_test(env, trials[number]["config"], seed=seed, workdir=refit_dir)
                refits[number] = (SavedModel.load(refit_dir), seconds)
        first = refits[next(iter(built.weights))][0]
        if test is None:
            test = data.load_split(env["card"], "test", first.labels)
        combined = sum(w * refits[n][0].predict(test.features).astype("float64") for n, w in built.weights.items())
        tested = score("binary", test.target, np.asarray(combined), 2)
        search_s = trials[min(budget, len(trials)) - 1]["elapsed_s"]
        refit_s = sum(refits[n][1] for n in built.weights)
        rows.append(
            Row(
                f"{method}+ensemble",
                budget,
                seed,
                tested["accuracy"],
                tested["logloss"],
                built.metrics[objective.key],
                search_s + selection_s + refit_s,
                min(budget, len(trials)),
                {"weights": {str(n): w for n, w in built.weights.items()}, "best_trial": built.best_trial,
                 "best_valid_logloss": built.best_metrics[objective.key]},
            )
        )
    return rows


# -- FLAML ------------------------------------------------------------------------------------------------------


def adult_frames() -> tuple[Any, Any, Any, Any]:
    """adult.data and adult.test as FLAML gets them: typed features (categories as pandas categories), labels 0/1."""
    from automl_gpt.cards import load_data_card
    from automl_gpt_backend_tabular import data

    card = load_data_card(CARD)
    out = []
    for split in ("train", "test"):
        table = data.load_split(card, split)
        frame = table.features.copy()
        for column, kind in table.column_types.items():
            if kind == "categorical":
                frame[column] = frame[column].astype("category")
        out += [frame, table.target]
    return out[0], out[1], out[2], out[3]


def flaml_row(time_budget_s: float, budget: int, seed: int, threads: int, frames: tuple[Any, ...]) -> Row:
    """FLAML AutoML with xgboost only, log-loss, 20% holdout, retrained on all training rows, then tested."""
    import numpy as np
    from flaml import AutoML
    from sklearn.metrics import log_loss

    x_train, y_train, x_test, y_test = frames
    automl = AutoML()
    started = time.monotonic()
    automl.fit(
        x_train,
        y_train,
        task="classification",
        metric="log_loss",
        estimator_list=["xgboost"],
        time_budget=max(1.0, time_budget_s),
        eval_method="holdout",
        split_ratio=0.2,
        seed=seed,
        n_jobs=threads,
        retrain_full=True,
        verbose=0,
    )
    wall = time.monotonic() - started
    proba = automl.predict_proba(x_test)[:, 1]
    return Row(
        "flaml",
        budget,
        seed,
        float(np.mean((proba >= 0.5) == y_test)),
        float(log_loss(y_test, proba)),
        float(automl.best_loss),
        wall,
        len(automl.config_history),
        dict(automl.best_config),
    )


# -- thread check -----------------------------------------------------------------------------------------------


def thread_fit(nthread: int) -> None:
    """Child process: one fixed 400-round fit on adult.data; prints its seconds."""
    import xgboost as xgb
    from automl_gpt.cards import load_data_card
    from automl_gpt_backend_tabular import data
    from automl_gpt_backend_tabular.features import Preprocessor

    table = data.load_split(load_data_card(CARD), "train")
    prep = Preprocessor.fit(
        table.features,
        table.column_types,
        table.target,
        task="binary",
        n_classes=2,
        encoding="native",
        missing="native",
        smoothing=20,
    )
    matrix = xgb.DMatrix(prep.transform(table.features), label=table.target, enable_categorical=True, nthread=nthread)
    started = time.monotonic()
    xgb.train(
        {
            "tree_method": "hist",
            "objective": "binary:logistic",
            "eta": 0.1,
            "max_depth": 6,
            "nthread": nthread,
            "verbosity": 0,
        },
        matrix,
        num_boost_round=THREAD_FIT_ROUNDS,
    )
    print(f"{time.monotonic() - started:.3f}")


def thread_check(timeout_s: float) -> list[dict[str, Any]]:
    """Time the 400-round fit: nthread 2/1 x OMP_WAIT_POLICY PASSIVE/unset x idle/next to a busy process."""
    results = []
    for load in (False, True):
        for nthread in (2, 1):
            for policy in ("PASSIVE", None):
                env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
                if policy:
                    env["OMP_WAIT_POLICY"] = policy
                busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load else None
                try:
                    done = subprocess.run(
                        [sys.executable, __file__, "--thread-fit", str(nthread)],
                        env=env,
                        capture_output=True,
                        text=True,
                        timeout=timeout_s,
                    )
                    seconds = float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else math.nan
                except subprocess.TimeoutExpired:
                    seconds = math.inf
                finally:
                    if busy is not None:
                        busy.kill()
                        busy.wait()
                results.append(
                    {"busy_process": load, "nthread": nthread, "omp_wait_policy": policy or "(unset)", "fit_s": seconds}
                )
                print(
                    f"  thread check: busy={load} nthread={nthread} OMP_WAIT_POLICY={policy or '(unset)'}: "
                    f"{_seconds(seconds, timeout_s)}",
                    flush=True,
                )
    return results


# -- table ------------------------------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    """Mean (and sd over seeds) of test accuracy, test log-loss and wall time per method and budget."""
    order = {"defaults": 0, "random": 1, "tpe": 2, "flaml": 3}  # "<planner>+ensemble" right after its planner
    groups: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.method, row.budget), []).append(row)
    lines = [
        "| method | trials | seeds | test accuracy % | test log-loss | valid log-loss | wall s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (method, budget), group in sorted(
        groups.items(), key=lambda kv: (kv[0][1], order.get(kv[0][0].split("+")[0], 9), kv[0][0])
    ):
        acc = [100 * r.test_accuracy for r in group]
        loss = [r.test_logloss for r in group]
        valid = [r.valid_logloss for r in group if r.valid_logloss is not None]
        wall = [r.wall_s for r in group]
        # FLAML's config_history keeps only improvements, so its count is not a trial count: show its budget.
        trials = "1" if method == "defaults" else ("tpe's time" if method == "flaml" else str(budget))
        lines.append(
            f"| {method} | {trials} | {len(group)} | {_mean_sd(acc, 2)} | {_mean_sd(loss, 4)} | "
            f"{statistics.mean(valid):.4f} | {statistics.mean(wall):.0f} |"
        )
    return "\n".join(lines)


def _mean_sd(values: list[float], digits: int) -> str:
    mean = statistics.mean(values)
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _seconds(value: float, timeout_s: float) -> str:
    if math.isinf(value):
        return f"> {timeout_s:g} s (killed)"
    return "failed" if math.isnan(value) else f"{value:.2f} s"


# -- main -------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", default="10,30,100", help="comma-separated trial budgets")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument(
        "--planners",
        default="defaults,random,tpe,flaml",
        help="rows to run: defaults, flaml, or any plan_trials planner name (random, tpe, llm...)",
    )
    parser.add_argument("--llm", default="local", help="LLM provider for an llm planner row (context.options)")
    parser.add_argument(
        "--no-experience", action="store_true", help="llm/transfer rows without the shipped knowledge base"
    )
    parser.add_argument("--threads", type=int, default=0, help="XGBoost threads (0: every core)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run, not a comparison: budget 3, seed 0, our rows on 5,000 training rows (FLAML on all)",
    )
    parser.add_argument("--no-thread-check", action="store_true", help="skip the nthread / OMP_WAIT_POLICY timing")
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="add a '<planner>+ensemble' row per searched planner and budget (greedy selection, members refitted)",
    )
    parser.add_argument("--out", default=str(REPO / "runs" / "benchmarks" / "adult"), help="folder for trials+JSON")
    parser.add_argument(
        "--table-from",
        nargs="+",
        metavar="RESULTS_JSON",
        help="print the table of earlier runs' results.json files (merged) and exit",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="ignore the results and searches already saved in --out (no resume)"
    )
    parser.add_argument("--thread-fit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.thread_fit:
        thread_fit(args.thread_fit)
        return
    if args.table_from:
        saved = [Row(**item) for path in args.table_from for item in json.loads(Path(path).read_text())]
        print(table(saved))
        return
    budgets = [3] if args.quick else sorted(int(b) for b in args.budgets.split(","))
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    methods = [m.strip() for m in args.planners.split(",") if m.strip()]
    threads = args.threads or len(os.sched_getaffinity(0))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = setup(threads, 5000 if args.quick else None)
    print(
        f"UCI Adult benchmark: budgets {budgets}, seeds {seeds}, rows {methods}, {threads} threads, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.uname().nodename}",
        flush=True,
    )
    results = out / "results.json"
    rows = [] if args.fresh or not results.exists() else [Row(**item) for item in json.loads(results.read_text())]
    if rows:
        print(f"resuming: {len(rows)} rows already in {results} (their cells are skipped)", flush=True)
    frames = adult_frames() if "flaml" in methods else None
    from automl_gpt.runs.loop import EXPERIENCE_PLANNERS  # the planners the run loop hands experience to

    wants_experience = not args.no_experience and bool(set(EXPERIENCE_PLANNERS) & set(methods))
    experience = shipped_experience(env) if wants_experience else []

    def missing(method: str, budget: int, seed: int) -> bool:
        return not any((r.method, r.budget, r.seed) == (method, budget, seed) for r in rows)

    def add(new: list[Row]) -> None:
        """Keep, print and save (results.json after every cell, so a killed run loses at most one cell)."""
        rows.extend(new)
        for row in new:
            print(
                f"  seed {row.seed} {row.method:>8} budget {row.budget:>3}: test acc {100 * row.test_accuracy:.2f}% "
                f"log-loss {row.test_logloss:.4f} (valid {row.valid_logloss or math.nan:.4f}) {row.wall_s:.0f} s",
                flush=True,
            )
        results.write_text(json.dumps([asdict(r) for r in rows], indent=1, default=str))

    for seed in seeds:
        for method in methods:
            if method == "defaults":
                if missing("defaults", 1, seed):
                    defaults = env["model_card"].defaults()
                    metrics, wall = refit_and_test(env, defaults, seed=seed, workdir=out / f"defaults-s{seed}")
                    add([Row("defaults", 1, seed, metrics["test/accuracy"], metrics["test/logloss"],
                             metrics.get("valid/logloss"), wall, 1, defaults)])
            elif method == "flaml":
                tpe_wall = {r.budget: r.wall_s for r in rows if r.method == "tpe" and r.seed == seed}
                for budget in budgets:
                    if not missing("flaml", budget, seed):
                        continue
                    if budget not in tpe_wall:
                        print("  flaml needs the tpe row first (same wall time); skipped", flush=True)
                        continue
                    assert frames is not None
                    add([flaml_row(tpe_wall[budget], budget, seed, threads, frames)])
            else:
                # One search up to the largest budget whose prefixes give every budget, or one search per budget.
                if method in PREFIX_PLANNERS:
                    searches = [(max(budgets), budgets, f"{method}-s{seed}")]
                else:
                    searches = [(b, [b], f"{method}-s{seed}-b{b}") for b in budgets]
                for search_budget, its_budgets, tag in searches:
                    best_todo = [b for b in its_budgets if missing(method, b, seed)]
                    ensemble_todo = [b for b in its_budgets if args.ensemble and missing(f"{method}+ensemble", b, seed)]
                    if not best_todo and not ensemble_todo:
                        continue
                    trials_file = out / f"{tag}-trials.json"
                    if trials_file.exists() and not args.fresh:
                        trials = json.loads(trials_file.read_text())
                        print(f"  {tag}: {len(trials)} trials read from {trials_file}", flush=True)
                    else:
                        trials = planner_search(
                            method,
                            env,
                            seed=seed,
                            budget=search_budget,
                            workdir=out,
                            options={"llm": args.llm, "llm_cache": True},
                            experience=experience if method in EXPERIENCE_PLANNERS else None,
                            tag=tag,
                        )
                        trials_file.write_text(json.dumps(trials, indent=1, default=str))
                    add(rows_from_search(method, trials, best_todo, env, seed, out, tag))
                    add(ensemble_rows(method, trials, ensemble_todo, env, seed, out, tag))
    print("\n" + table(rows), flush=True)
    if not args.no_thread_check:
        print(f"\nThread check: one {THREAD_FIT_ROUNDS}-round fit on adult.data (fresh process each)", flush=True)
        checks = thread_check(timeout_s=30 if args.quick else 180)
        (out / "threads.json").write_text(json.dumps(checks, indent=1))


if __name__ == "__main__":
    main()
