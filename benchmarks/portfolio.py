"""Leave-one-family-out over the performance matrix: the learned portfolio's first trials on held-out datasets.

    python benchmarks/portfolio.py                    # the shipped matrix, text similarity when installed
    python benchmarks/portfolio.py --no-text          # meta-features only (a [local,tabular] install)
    python benchmarks/portfolio.py --matrix FILE --neighbours 15 --first wins

For every dataset of the matrix, its whole family leaves the matrix; the portfolio is learned from the rest for
that dataset's card, and its first k configurations are looked up in the held-out dataset's own row of the matrix
(each configuration was trained there for real while mining, so this costs no training). Runs hand out the
portfolio's first configuration, then the defaults, then the rest (as ``untried_transfers`` does). Scores are
normalised per dataset: 0 = the XGBoost defaults, 1 = the best configuration of the pool on that dataset.
Baselines measured in the same run: ``random`` (the expected best of the defaults plus k-1 random pool
configurations) and ``global`` (one portfolio learned over every other dataset with equal weights, not conditioned
on the card). Classification and regression are reported separately.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from automl_gpt.cards.similarity import CardProfile, text_encoder_installed
from automl_gpt.planners.knowledge import (
    PerformanceMatrix,
    greedy_portfolio,
    neighbour_weights,
    portfolio_neighbours,
    task_family,
)

REPO = Path(__file__).resolve().parents[1]
MATRIX = REPO / "plugins" / "backend_tabular" / "knowledge" / "xgboost_matrix.json.gz"
BUDGETS = (1, 3, 5, 10, 20)
TEXT_WEIGHT = 0.5


def expected_random_best(scores: np.ndarray, k: int, draws: int = 2000, seed: int = 0) -> float:
    """The defaults (score 0) plus k-1 configurations drawn from the rest of the pool: mean best score."""
    if k <= 1:
        return 0.0
    rng = np.random.default_rng(seed)
    rest = scores[1:]
    picks = np.stack([rng.choice(len(rest), size=min(k - 1, len(rest)), replace=False) for _ in range(draws)])
    return float(np.maximum(rest[picks].max(axis=1), 0.0).mean())


def shipped_order(picked: list[int]) -> list[int]:
    """The hand-out order of a run: the portfolio's first, the defaults (index 0) second, then the rest."""
    return picked[:1] + ([0] if picked[:1] != [0] else []) + [i for i in picked[1:] if i != 0]


def evaluate(matrix: PerformanceMatrix, text_weight: float, neighbours: int | None,
             first: str = "mean") -> dict[str, list[dict[str, float]]]:
    """Per task family, one row per held-out dataset: the normalised best score of each rule at each budget."""
    rows: dict[str, list[dict[str, float]]] = {}
    for held in matrix.datasets:
        rest = matrix.without({held.family})
        family = task_family(held.task)
        scores = held.scores()
        profile = CardProfile(np.asarray(held.embedding, dtype=np.float32), held.meta, held.task)
        weights = neighbour_weights(rest, profile, text_weight=text_weight,
                                    k=neighbours or portfolio_neighbours(matrix.card, held.task))
        picked = shipped_order(greedy_portfolio(rest, weights, max(BUDGETS), first=first))
        everyone = {d.name: 1.0 for d in rest.datasets if task_family(d.task) == family}
        global_pick = shipped_order(greedy_portfolio(rest, everyone, max(BUDGETS), first=first))
        first_value = held.values[picked[0]]
        row: dict[str, float] = {"first_beats_defaults": float(first_value is not None and held.values[0] is not None
                                                               and first_value < held.values[0])}
        for k in BUDGETS:
            row[f"portfolio@{k}"] = float(scores[picked[:k]].max())
            row[f"global@{k}"] = float(scores[global_pick[:k]].max())
            row[f"random@{k}"] = expected_random_best(scores, k)
        rows.setdefault(family, []).append(row)
    return rows


def table(rows: dict[str, list[dict[str, float]]]) -> str:
    lines = []
    for family, items in sorted(rows.items()):
        wins = sum(r["first_beats_defaults"] for r in items)
        lines.append(f"\n{family}: {len(items)} held-out datasets; the portfolio's first trial beats the defaults "
                     f"on {wins:.0f}/{len(items)} ({wins / len(items):.0%})")
        lines.append("| rule | " + " | ".join(f"{k} trial{'s' if k > 1 else ''}" for k in BUDGETS) + " |")
        lines.append("|---" * (len(BUDGETS) + 1) + "|")
        for rule in ("portfolio", "global", "random"):
            means = [np.mean([r[f"{rule}@{k}"] for r in items]) for k in BUDGETS]
            lines.append(f"| {rule} | " + " | ".join(f"{m:+.3f}" for m in means) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--matrix", type=Path, default=MATRIX)
    parser.add_argument("--neighbours", type=int, default=None, help="similar datasets weighed (default: shipped)")
    parser.add_argument("--no-text", action="store_true", help="meta-features only, as without [transfer]")
    parser.add_argument("--first", choices=("wins", "mean"), default=None, help="rule for the first pick")
    args = parser.parse_args(argv)
    from automl_gpt.planners.knowledge import FIRST_RULE

    matrix = PerformanceMatrix.read(args.matrix)
    use_text = not args.no_text and text_encoder_installed() and bool(matrix.embedding_model)
    print(f"matrix {args.matrix.name}: {len(matrix.datasets)} datasets x {len(matrix.configs)} configurations; "
          f"similarity by {'card text and ' if use_text else ''}meta-features")
    first = args.first or FIRST_RULE
    shipped = ", ".join(f"{family} {portfolio_neighbours(matrix.card, family) or 'all'}"
                        for family in ("classification", "regression"))
    print(f"first pick by {first}; neighbours: {args.neighbours or shipped}")
    print(table(evaluate(matrix, TEXT_WEIGHT if use_text else 0.0, args.neighbours, first)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
