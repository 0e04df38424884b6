"""How right is the predicted training log before and after a dataset's first trials? Leave-one-family-out.

    python benchmarks/predictor.py                  # the shipped matrix
    python benchmarks/predictor.py --no-text --after 5

For every dataset of the performance matrix its family leaves the matrix, and the ``matrix`` predictor
(:class:`automl_gpt.planners.predictor.MatrixPredictor`) learned from the rest predicts every pool configuration on it;
each of them was trained there for real while mining, so the real final validation value and learning curve are known.
Reported per task family, as the median over held-out datasets:

* Spearman between predicted and real final validation values, before any trial on the dataset, and after
  ``--after`` trials (the defaults and ``--after``-1 seeded random pool configurations, told to the predictor as the
  run's history; scored on the configurations not told);
* the mean absolute error of the predicted final value and of the curve's intermediate points, relative to the
  defaults' real value on that dataset;
* baseline measured in the same run: the run-only ``surrogate`` predictor with the same history (it predicts
  nothing before its third trial);
* ``matrix, new configurations``: the same for ``--new-configs`` seeded configurations of each dataset, each
  predicted by a predictor whose pool lacks it (on no dataset was it trained), as a TPE or LLM candidate is. The
  rows above score pool configurations, which the similar datasets were trained with (a portfolio's or transfer's
  candidates are).

With ``--llm SPEC`` (``local`` for the product's default local model) the LLM's own predictions are scored too, on
a seeded subset: ``--llm-datasets`` held-out datasets, half classification and half regression, each from a
different family, and on each ``--llm-configs`` seeded pool configurations (never the told ones), which the
``matrix`` and ``surrogate`` rows of that table score too. The LLM is asked through the product's path
(:func:`automl_gpt.planners.llm_prediction.predict_logs`: the planner's paragraph from the data card and the model
card, plus the run's feedback in the "after" rows; the product's client with its response cache, schema
validation and repair; the plausibility check). A prediction rejected as impossible, or missing, is scored as a
tie at the median of that dataset's other LLM predictions in Spearman (it ranks nothing) and left out of the
errors; a Spearman that is undefined (constant predictions) counts as 0. Each dataset's result is appended to
``--llm-out`` as it finishes; a rerun answers from the response cache.

    AUTOML_GPT_LLM_THREADS=1 nice -n 10 python benchmarks/predictor.py --llm local   # 6 datasets: ~15 CPU-minutes
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from automl_gpt.cards.search_space import SearchSpace
from automl_gpt.cards.similarity import CardProfile, text_encoder_installed
from automl_gpt.planners.base import Candidate, PastTrial
from automl_gpt.planners.knowledge import MatrixDataset, PerformanceMatrix, task_family
from automl_gpt.planners.predictor import MatrixPredictor
from automl_gpt.planners.surrogate import CURVE_POINTS, SurrogatePredictor
from automl_gpt.runs.report import spearman
from automl_gpt.training import LogRecord, Objective, TrainingLog, TrialResult, TrialState

if TYPE_CHECKING:
    from automl_gpt.cards import ModelCard
    from automl_gpt.planners.base import Prediction

REPO = Path(__file__).resolve().parents[1]
MATRIX = REPO / "plugins" / "backend_tabular" / "knowledge" / "xgboost_matrix.json.gz"
TEXT_WEIGHT = 0.5
LLM_OUT = REPO / "benchmarks" / "out" / "predictor_llm.jsonl"


def model_card_of(task: str) -> ModelCard:
    """The model card the matrix was mined with, for ``task``."""
    from automl_gpt.plugins import get_plugin_manager

    backend = get_plugin_manager().backend("xgboost")
    return next(c for c in backend.model_cards() if task in c.tasks and c.name == "xgboost")


def space_of(task: str) -> SearchSpace:
    return model_card_of(task).space()


def history_of(held: MatrixDataset, matrix: PerformanceMatrix, told: list[int], metric: str) -> list[PastTrial]:
    """The told pool configurations as finished trials with their real value and curve."""
    trials = []
    for number, index in enumerate(told):
        value = held.values[index]
        if value is None:
            continue
        log = TrainingLog(LogRecord(round(f * 100), "valid", metric, v * held.trivial)
                          for f, v in zip(matrix.fractions, held.curves[index] or [], strict=False))
        result = TrialResult(TrialState.COMPLETE, {f"valid/{metric}": value}, log)
        trials.append(PastTrial(number, dict(matrix.configs[index]), result))
    return trials


def told_of(held: MatrixDataset, known: list[int], after: int, seed: int) -> list[int]:
    """The pool configurations told as the run's first ``after`` trials: the defaults, then seeded random ones."""
    return [0, *random.Random(f"{seed}-{held.name}").sample([i for i in known if i != 0], after - 1)]


def score(held: MatrixDataset, fractions: Sequence[float], scored: list[int],
          predictions: Sequence[Prediction | None], steps: Sequence[int] | None = None) -> dict[str, float | None]:
    """Spearman and the errors relative to the defaults' value of ``predictions`` of the ``scored`` configurations.

    A missing prediction is a tie at the median of the others in Spearman and is left out of the errors. The curve
    error covers the intermediate points the prediction shares with the real curve (``steps`` only, if given).
    """
    default = float(held.values[0] or 0.0)
    real = np.asarray([held.values[i] for i in scored], dtype=float)
    finals = [None if p is None else p.final for p in predictions]
    present = [f for f in finals if f is not None]
    if not present:
        return {"spearman": None, "mae": None, "curve_mae": None}
    filled = np.asarray([float(np.median(present)) if f is None else f for f in finals])
    has = np.asarray([f is not None for f in finals])
    curve_errors = []
    for index, prediction in zip(scored, predictions, strict=True):
        points = {round(f * 100): v * held.trivial for f, v in zip(fractions, held.curves[index] or [], strict=False)}
        if prediction is not None:
            curve_errors += [abs(r.value - points[r.step]) / default for r in prediction.log
                             if r.step in points and r.step != 100 and (steps is None or r.step in steps)]
    return {"spearman": spearman(filled, real), "mae": float(np.abs(filled[has] - real[has]).mean() / default),
            "curve_mae": float(np.mean(curve_errors)) if curve_errors else None}


def without_config(matrix: PerformanceMatrix, index: int) -> PerformanceMatrix:
    """The matrix without pool configuration ``index`` (its values and curves on every dataset)."""
    keep = [i for i in range(len(matrix.configs)) if i != index]
    datasets = [dataclasses.replace(d, values=[d.values[i] for i in keep],
                                    curves=[d.curves[i] for i in keep] if d.curves else [])
                for d in matrix.datasets]
    return dataclasses.replace(matrix, configs=[matrix.configs[i] for i in keep], datasets=datasets)


def evaluate(matrix: PerformanceMatrix, text_weight: float, after: int, seed: int,
             new_configs: int = 0) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for held in matrix.datasets:
        rest = matrix.without({held.family})
        space = space_of(held.task)
        objective = Objective(held.metric, "minimize")
        profile = CardProfile(np.asarray(held.embedding, dtype=np.float32), held.meta, held.task)
        known = [i for i, v in enumerate(held.values) if v is not None]
        if held.values[0] is None or len(known) < after + 3:
            continue
        told = told_of(held, known, after, seed)
        row: dict = {}
        for stage, history in (("before", []), ("after", history_of(held, matrix, told, held.metric))):
            scored = [i for i in known if stage == "before" or i not in told]
            predictors = {"matrix": MatrixPredictor(rest, profile, held.trivial, space, objective, history,
                                                    text_weight=text_weight)}
            if stage == "after":
                predictors["surrogate"] = SurrogatePredictor(space, objective, history)
            for name, predictor in predictors.items():
                predictions = [predictor.predict(Candidate(dict(matrix.configs[i]), "benchmark")) for i in scored]
                if any(p is None or p.final is None for p in predictions):
                    continue
                for key, value in score(held, matrix.fractions, scored, predictions).items():
                    row[f"{name}/{stage}/{key}"] = value
            if new_configs:
                new = sorted(random.Random(f"{seed}-new-{held.name}").sample(scored, min(new_configs, len(scored))))
                predictions = [MatrixPredictor(without_config(rest, i), profile, held.trivial, space, objective,
                                               history, text_weight=text_weight).predict(
                                   Candidate(dict(matrix.configs[i]), "benchmark")) for i in new]
                for key, value in score(held, matrix.fractions, new, predictions).items():
                    row[f"matrix-new/{stage}/{key}"] = value
        rows.setdefault(task_family(held.task), []).append(row)
    return rows


def median(items: list[dict], key: str) -> str:
    values = [r[key] for r in items if r.get(key) is not None]
    return f"{np.median(values):.3f} (n={len(values)})" if values else "-"


def table(rows: dict[str, list[dict]], after: int) -> str:
    lines = []
    for family, items in sorted(rows.items()):
        lines.append(f"\n{family}: {len(items)} held-out datasets (medians over datasets)")
        lines.append("| predictor | when | Spearman (final) | MAE final / defaults' value | "
                     "MAE curve points / defaults' |")
        lines.append("|---|---|---|---|---|")
        for name, stage in (("matrix", "before"), ("matrix", "after"), ("surrogate", "after"),
                            ("matrix-new", "before"), ("matrix-new", "after")):
            cells = [median(items, f"{name}/{stage}/{key}") for key in ("spearman", "mae", "curve_mae")]
            if cells[0] == "-":
                continue
            when = "before any trial" if stage == "before" else f"after {after} trials"
            label = "matrix, new configurations" if name == "matrix-new" else name
            lines.append(f"| {label} | {when} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def llm_datasets(matrix: PerformanceMatrix, count: int, configs: int, after: int, seed: int) -> list[MatrixDataset]:
    """``count`` datasets, half classification (the odd one) and half regression, alternating, from different
    families picked with ``seed``, one dataset each (also seeded), among those with a data card in the suite and
    enough trained pool configurations. A smaller ``count`` picks a prefix of a larger one's."""
    from suite import SUITE

    picks: list[list[MatrixDataset]] = []
    for kind, share in (("classification", (count + 1) // 2), ("regression", count // 2)):
        rng = random.Random(f"{seed}-llm-{kind}")
        by_family: dict[str, list[MatrixDataset]] = {}
        for held in matrix.datasets:
            trained = sum(v is not None for v in held.values)
            if (task_family(held.task) == kind and held.values[0] is not None and trained >= after + configs
                    and (SUITE / f"{held.name}.json").is_file()):
                by_family.setdefault(held.family, []).append(held)
        families = sorted(by_family)
        rng.shuffle(families)
        picks.append([rng.choice(sorted(by_family[f], key=lambda d: d.name)) for f in families[:share]])
    return [held for pair in itertools.zip_longest(*picks) for held in pair if held is not None]


def evaluate_llm(matrix: PerformanceMatrix, spec: str, text_weight: float, args: argparse.Namespace) -> list[dict]:
    """One row per dataset of :func:`llm_datasets`: the LLM's, the matrix's and the surrogate's scores on the same
    seeded configurations, before any trial and after ``args.after``; appended to ``args.llm_out`` as they come."""
    from automl_gpt.llm.client import get_llm
    from automl_gpt.planners.base import PlanningContext
    from automl_gpt.planners.llm_prediction import predict_logs
    from suite import pmlb_card

    client = get_llm(spec)
    args.llm_out.parent.mkdir(parents=True, exist_ok=True)
    args.llm_out.write_text("", encoding="utf-8")
    rows = []
    for held in llm_datasets(matrix, args.llm_datasets, args.llm_configs, args.after, args.seed):
        rest = matrix.without({held.family})
        model_card = model_card_of(held.task)
        space = model_card.space()
        objective = Objective(held.metric, "minimize")
        profile = CardProfile(np.asarray(held.embedding, dtype=np.float32), held.meta, held.task)
        known = [i for i, v in enumerate(held.values) if v is not None]
        told = told_of(held, known, args.after, args.seed)
        scored = sorted(random.Random(f"{args.seed}-llm-{held.name}").sample(
            [i for i in known if i not in told], args.llm_configs))
        configs = [dict(matrix.configs[i]) for i in scored]
        row: dict = {"dataset": held.name, "family": task_family(held.task), "configs": scored, "llm_seconds": 0.0,
                     "llm_cpu_seconds": 0.0}
        for stage, history in (("before", []), ("after", history_of(held, matrix, told, held.metric))):
            context = PlanningContext(pmlb_card(held.name), model_card, space, objective, seed=args.seed,
                                      history=history)
            wall, cpu = time.monotonic(), time.process_time()
            answers = predict_logs(context, configs, client, timeout_s=args.llm_timeout)
            row["llm_seconds"] += time.monotonic() - wall
            row["llm_cpu_seconds"] += time.process_time() - cpu
            predicted: dict[str, list[Prediction | None]] = {"llm": [a.prediction for a in answers]}
            row[f"llm/{stage}/rejected"] = sum(a.rejected is not None for a in answers)
            row[f"llm/{stage}/finals"] = [None if a.prediction is None else a.prediction.final for a in answers]
            predictors = [MatrixPredictor(rest, profile, held.trivial, space, objective, history,
                                          text_weight=text_weight)]
            if stage == "after":
                predictors.append(SurrogatePredictor(space, objective, history))
            for predictor in predictors:
                predicted[predictor.name] = [predictor.predict(Candidate(c, "benchmark")) for c in configs]
            for name, predictions in predicted.items():
                row[f"{name}/{stage}/missing"] = sum(p is None or p.final is None for p in predictions)
                for key, value in score(held, matrix.fractions, scored, predictions, CURVE_POINTS).items():
                    row[f"{name}/{stage}/{key}"] = value
        with args.llm_out.open("a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")
        print(f"  {held.name} ({held.task}): LLM {row['llm_seconds']:.0f} s wall, {row['llm_cpu_seconds']:.0f} s CPU",
              flush=True)
        rows.append(row)
    stats = client.stats()
    print(f"LLM {stats['provider']}:{stats['model']}: {stats['calls']} calls, {stats['cache_hits']} from the cache, "
          f"{stats['prompt_tokens']} prompt + {stats['completion_tokens']} completion tokens", flush=True)
    return rows


def llm_table(rows: list[dict], spec: str, args: argparse.Namespace) -> str:
    lines = [f"\nLLM ({spec}) vs matrix vs surrogate on the same configurations: {args.llm_configs} seeded pool "
             f"configurations on each of {len(rows)} held-out datasets; medians over datasets; Spearman undefined "
             "(constant predictions) counts as 0; a missing or rejected prediction is a tie at the median in "
             f"Spearman and left out of the errors; curve points at {'/'.join(map(str, CURVE_POINTS[:-1]))} %"]
    for family in sorted({r["family"] for r in rows}):
        items = [r for r in rows if r["family"] == family]
        lines.append(f"\n{family}: {len(items)} held-out datasets ({', '.join(r['dataset'] for r in items)})")
        lines.append("| predictor | when | Spearman (final) | undefined | rejected as impossible | missing | "
                     "MAE final / defaults' value | MAE curve points / defaults' |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for name, stage in (("llm", "before"), ("matrix", "before"), ("llm", "after"), ("matrix", "after"),
                            ("surrogate", "after")):
            values = [r.get(f"{name}/{stage}/spearman") for r in items]
            rho = f"{np.median([v or 0.0 for v in values]):.3f}"
            undefined = f"{sum(v is None for v in values)}/{len(values)}"
            total = len(items) * args.llm_configs
            rejected = sum(r.get(f"{name}/{stage}/rejected", 0) for r in items)
            missing = sum(r.get(f"{name}/{stage}/missing", 0) for r in items)
            counts = f"{rejected / total:.1%}" if name == "llm" else "-", f"{missing / total:.1%}"
            errors = [median(items, f"{name}/{stage}/{key}") for key in ("mae", "curve_mae")]
            when = "before any trial" if stage == "before" else f"after {args.after} trials"
            lines.append(f"| {name} | {when} | {rho} | {undefined} | " + " | ".join([*counts, *errors]) + " |")
        lines.append("")
        for stage in ("before", "after"):
            distinct = [len({f for f in r[f"llm/{stage}/finals"] if f is not None}) for r in items]
            lines.append(f"LLM distinct predicted final values per dataset ({stage}): {distinct}")
    seconds = sum(r["llm_seconds"] for r in rows)
    cpu = sum(r["llm_cpu_seconds"] for r in rows)
    lines.append(f"\nLLM time: {seconds / 60:.1f} min wall, {cpu / 60:.1f} min CPU (this run; 0 when cached)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--matrix", type=Path, default=MATRIX)
    parser.add_argument("--after", type=int, default=5, help="trials told to the predictor in the 'after' rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-text", action="store_true", help="meta-features only, as without [transfer]")
    parser.add_argument("--new-configs", type=int, default=12,
                        help="configurations per dataset predicted without them in the pool (0: none)")
    parser.add_argument("--llm", metavar="SPEC", help="also score this LLM's own predictions (e.g. local)")
    parser.add_argument("--llm-datasets", type=int, default=6, help="held-out datasets the LLM predicts on")
    parser.add_argument("--llm-configs", type=int, default=12, help="pool configurations per dataset for the LLM")
    parser.add_argument("--llm-out", type=Path, default=LLM_OUT, help="per-dataset LLM rows, written as they come")
    parser.add_argument("--llm-timeout", type=float, default=1800.0,
                        help="seconds per LLM call (wall clock: a loaded machine needs more than a run's 300)")
    args = parser.parse_args(argv)
    matrix = PerformanceMatrix.read(args.matrix)
    use_text = not args.no_text and text_encoder_installed() and bool(matrix.embedding_model)
    print(f"matrix {args.matrix.name}: {len(matrix.datasets)} datasets x {len(matrix.configs)} configurations; "
          f"similarity by {'card text and ' if use_text else ''}meta-features")
    text_weight = TEXT_WEIGHT if use_text else 0.0
    print(table(evaluate(matrix, text_weight, args.after, args.seed, args.new_configs), args.after),
          flush=True)
    if args.llm:
        print(llm_table(evaluate_llm(matrix, args.llm, text_weight, args), args.llm, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
