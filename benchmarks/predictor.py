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
  nothing before its third trial).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
from automl_gpt.cards.search_space import SearchSpace
from automl_gpt.cards.similarity import CardProfile, text_encoder_installed
from automl_gpt.planners.base import Candidate, PastTrial
from automl_gpt.planners.knowledge import MatrixDataset, PerformanceMatrix, task_family
from automl_gpt.planners.predictor import MatrixPredictor
from automl_gpt.planners.surrogate import SurrogatePredictor
from automl_gpt.runs.report import spearman
from automl_gpt.training import LogRecord, Objective, TrainingLog, TrialResult, TrialState

REPO = Path(__file__).resolve().parents[1]
MATRIX = REPO / "plugins" / "backend_tabular" / "knowledge" / "xgboost_matrix.json.gz"
TEXT_WEIGHT = 0.5


def space_of(task: str) -> SearchSpace:
    from automl_gpt.plugins import get_plugin_manager

    backend = get_plugin_manager().backend("xgboost")
    return next(c for c in backend.model_cards() if task in c.tasks and c.name == "xgboost").space()


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


def evaluate(matrix: PerformanceMatrix, text_weight: float, after: int, seed: int) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for held in matrix.datasets:
        rest = matrix.without({held.family})
        space = space_of(held.task)
        objective = Objective(held.metric, "minimize")
        profile = CardProfile(np.asarray(held.embedding, dtype=np.float32), held.meta, held.task)
        default = held.values[0]
        known = [i for i, v in enumerate(held.values) if v is not None]
        if default is None or len(known) < after + 3:
            continue
        told = [0, *random.Random(f"{seed}-{held.name}").sample([i for i in known if i != 0], after - 1)]
        row: dict = {}
        for stage, history in (("before", []), ("after", history_of(held, matrix, told, held.metric))):
            scored = [i for i in known if stage == "before" or i not in told]
            real = np.asarray([held.values[i] for i in scored])
            predictors = {"matrix": MatrixPredictor(rest, profile, held.trivial, space, objective, history,
                                                    text_weight=text_weight)}
            if stage == "after":
                predictors["surrogate"] = SurrogatePredictor(space, objective, history)
            for name, predictor in predictors.items():
                predictions = [predictor.predict(Candidate(dict(matrix.configs[i]), "benchmark")) for i in scored]
                if any(p is None or p.final is None for p in predictions):
                    continue
                finals = np.asarray([p.final for p in predictions])
                row[f"{name}/{stage}/spearman"] = spearman(finals, real)
                row[f"{name}/{stage}/mae"] = float(np.abs(finals - real).mean() / default)
                curve_errors = []
                for index, prediction in zip(scored, predictions, strict=True):
                    points = held.curves[index]
                    if points and len(prediction.log) == len(points):
                        curve_errors += [abs(r.value - v * held.trivial) / default
                                         for r, v in zip(list(prediction.log)[:-1], points[:-1], strict=True)]
                if curve_errors:
                    row[f"{name}/{stage}/curve_mae"] = float(np.mean(curve_errors))
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
        for name, stage in (("matrix", "before"), ("matrix", "after"), ("surrogate", "after")):
            cells = [median(items, f"{name}/{stage}/{key}") for key in ("spearman", "mae", "curve_mae")]
            when = "before any trial" if stage == "before" else f"after {after} trials"
            lines.append(f"| {name} | {when} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--matrix", type=Path, default=MATRIX)
    parser.add_argument("--after", type=int, default=5, help="trials told to the predictor in the 'after' rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-text", action="store_true", help="meta-features only, as without [transfer]")
    args = parser.parse_args(argv)
    matrix = PerformanceMatrix.read(args.matrix)
    use_text = not args.no_text and text_encoder_installed() and bool(matrix.embedding_model)
    print(f"matrix {args.matrix.name}: {len(matrix.datasets)} datasets x {len(matrix.configs)} configurations; "
          f"similarity by {'card text and ' if use_text else ''}meta-features")
    print(table(evaluate(matrix, TEXT_WEIGHT if use_text else 0.0, args.after, args.seed), args.after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
