"""Offline on saved UCI Adult searches: ensemble-selection variants x refit rules, scored on ``adult.test``.

Reads the ``<planner>-s<seed>-trials.json`` files that ``benchmarks/adult.py`` saves (their trial folders keep the
20% validation predictions and ``config.json``). For each search, the first ``--budget`` trials form the library;
every selection variant is chosen on the validation predictions only; each member is then refitted on all of
``adult.data`` under each refit rule (test probabilities cached under ``--cache``) and the weighted mixture is
scored once on ``adult.test``. Variants: ``best`` (the best trial alone), ``greedy`` (the product's selection),
``greedy_tol`` (stop when a round gains < 1e-4), ``greedy_shrink`` (weights halfway to uniform), ``uniform_members``
(uniform over the greedy members), ``greedy_top3/5`` and ``uniform_top3/5`` (libraries of the best 3 or 5 trials).
Refit rules: ``r0`` (the best number of rounds), ``r125`` (x 1/(1 - 0.2), the trainer's rule since 2026-12-01),
``bag3`` (``r125`` for 3 seeds, averaged), ``fold5`` (5 models on 4/5 of the rows, best rounds, averaged),
``r125+holdout`` (``r125`` averaged with the trial's 80% holdout model).

Run: ``nice -n 10 python benchmarks/ensemble_variants.py --rules r0,r125 OUT/tpe-s0-trials.json:0 ...`` (a
search file and the seed its refits use); rows go to ``--out`` (JSON lines) as they are computed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
CARD = REPO / "examples" / "adult" / "card.yaml"
LABELS = ["<=50K", ">50K"]


class Adult:
    """adult.data and adult.test, read once, and the refits of saved trials on all of adult.data (cached)."""

    def __init__(self, cache: Path) -> None:
        from automl_gpt.cards import load_data_card
        from automl_gpt_backend_tabular import data

        card = load_data_card(CARD)
        self.train, self.test = data.load_split(card, "train", LABELS), data.load_split(card, "test", LABELS)
        self.truth = self.test.target.astype("int64")
        self.cache = cache
        cache.mkdir(parents=True, exist_ok=True)

    def refit(self, folder: Path, rounds: int, seed: int, folds: int = 0) -> np.ndarray:
        """Test probabilities of the trial's configuration trained for ``rounds`` on all of adult.data, or the mean
        of ``folds`` models each trained on all but one fold."""
        saved = json.loads((folder / "config.json").read_text())
        params = {k: v for k, v in saved["xgboost_params"].items() if k != "eval_metric"}
        params.update(seed=seed, nthread=1)
        key = hashlib.sha1(json.dumps([params, saved["config"], rounds, folds], sort_keys=True).encode()).hexdigest()
        path = self.cache / f"{key[:20]}.npy"
        if path.exists():
            return np.load(path)
        rows = [np.arange(len(self.train.target))]
        if folds:
            from sklearn.model_selection import StratifiedKFold

            splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
            rows = [fit for fit, _ in splitter.split(self.train.target, self.train.target)]
        predictions = np.mean([self._fit_predict(saved["config"], params, r, rounds) for r in rows], axis=0)
        np.save(path, predictions)
        return predictions

    def _fit_predict(self, config: dict[str, Any], params: dict[str, Any], rows: np.ndarray, rounds: int) -> Any:
        import xgboost as xgb
        from automl_gpt_backend_tabular.features import Preprocessor

        features, target = self.train.features.iloc[rows], self.train.target[rows]
        prep = Preprocessor.fit(features, self.train.column_types, target, task="binary", n_classes=2,
                                encoding=config["categorical_encoding"], missing=config["missing_values"],
                                smoothing=20.0)
        matrix = xgb.DMatrix(prep.transform_train(features, target, seed=0), label=target, enable_categorical=True,
                             nthread=1)
        booster = xgb.train(params, matrix, num_boost_round=rounds)
        test = xgb.DMatrix(prep.transform(self.test.features), enable_categorical=True, nthread=1)
        return booster.predict(test).astype("float64")

    def member(self, folder: Path, rule: str, seed: int) -> np.ndarray:
        """A member's test probabilities under a refit rule (see the module docstring)."""
        best = int(json.loads((folder / "config.json").read_text())["n_rounds"])
        scaled = round(best / 0.8)
        if rule == "r0":
            return self.refit(folder, best, seed)
        if rule == "r125":
            return self.refit(folder, scaled, seed)
        if rule == "bag3":
            return np.mean([self.refit(folder, scaled, seed + k) for k in range(3)], axis=0)
        if rule == "fold5":
            return self.refit(folder, best, seed, folds=5)
        if rule == "r125+holdout":
            from automl_gpt_backend_tabular.saved_model import SavedModel

            held = SavedModel.load(folder).predict(self.test.features).astype("float64")
            return 0.5 * self.refit(folder, scaled, seed) + 0.5 * held
        raise SystemExit(f"unknown refit rule '{rule}' (r0, r125, bag3, fold5, r125+holdout)")


def logloss(truth: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(np.where(truth == 1, np.log(p), np.log(1 - p))))


def library(trials_json: Path, budget: int) -> list[tuple[float, Path, np.ndarray, np.ndarray]]:
    """The first ``budget`` completed trials, best first: (valid log-loss, folder, validation truth, predictions)."""
    from automl_gpt_backend_tabular.valid_predictions import ValidPredictions

    found = []
    for trial in json.loads(trials_json.read_text())[:budget]:
        path = trial["artifacts"].get("valid_predictions")
        if trial["valid_logloss"] is not None and path:
            kept = ValidPredictions.load(Path(path))
            found.append((trial["valid_logloss"], Path(path).parent, kept.truth, kept.predictions.astype("float64")))
    return sorted(found, key=lambda t: t[0])


def variants(lib: list[tuple[float, Path, np.ndarray, np.ndarray]]) -> dict[str, dict[int, float]]:
    """Each variant's weights by library index, chosen on the validation predictions only."""
    from automl_gpt.runs.ensemble import greedy_selection

    truth = lib[0][2].astype("int64")
    preds = [t[3] for t in lib]

    def loss(p: np.ndarray) -> float:
        return logloss(truth, p)

    def greedy(members: list[np.ndarray], rounds: int = 50) -> dict[int, float]:
        return {i: w for i, w in enumerate(greedy_selection(members, loss, rounds).weights) if w > 0}

    trajectory = greedy_selection(preds, loss, 50).trajectory
    kept = next((r for r in range(1, len(trajectory)) if trajectory[r - 1] - trajectory[r] < 1e-4), len(trajectory))
    chosen = greedy(preds)
    out = {"best": {0: 1.0}, "greedy": chosen, "greedy_tol": greedy(preds, kept),
           "greedy_shrink": {i: 0.5 * w + 0.5 / len(chosen) for i, w in chosen.items()},
           "uniform_members": {i: 1.0 / len(chosen) for i in chosen}}
    for k in (3, 5):
        top = min(k, len(lib))
        out[f"greedy_top{k}"] = greedy(preds[:top])
        out[f"uniform_top{k}"] = {i: 1.0 / top for i in range(top)}
    return out


def mix(predictions: dict[int, np.ndarray], weights: dict[int, float]) -> np.ndarray:
    """The weighted mean of the members' probabilities."""
    return np.asarray(sum(w * predictions[i] for i, w in weights.items()), dtype="float64")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("searches", nargs="+", help="TRIALS_JSON:SEED (a saved search and its refit seed)")
    parser.add_argument("--budget", type=int, default=10, help="the library: the first N trials")
    parser.add_argument("--rules", default="r0,r125", help="refit rules, comma-separated")
    parser.add_argument("--variants", default="", help="only these variants (default: all)")
    parser.add_argument("--out", default=str(REPO / "runs" / "benchmarks" / "ensemble_variants.jsonl"))
    parser.add_argument("--cache", default=str(REPO / "runs" / "benchmarks" / "refit_cache"))
    args = parser.parse_args(argv)
    adult = Adult(Path(args.cache))
    wanted = [v for v in args.variants.split(",") if v]
    rows = []
    with Path(args.out).open("a") as out:
        for search in args.searches:
            path, seed = search.rsplit(":", 1)
            lib = library(Path(path), args.budget)
            chosen = {k: v for k, v in variants(lib).items() if not wanted or k in wanted}
            for rule in args.rules.split(","):
                members = {i: adult.member(lib[i][1], rule, int(seed)) for w in chosen.values() for i in w}
                for name, weights in chosen.items():
                    valid = logloss(lib[0][2].astype("int64"), mix({i: lib[i][3] for i in weights}, weights))
                    test = mix(members, weights)
                    row = {"search": path, "seed": int(seed), "rule": rule, "variant": name, "members": len(weights),
                           "valid_logloss": valid, "test_logloss": logloss(adult.truth, test),
                           "test_accuracy": float(np.mean((test >= 0.5) == adult.truth))}
                    rows.append(row)
                    out.write(json.dumps(row) + "\n")
                    out.flush()
    for rule in dict.fromkeys(r["rule"] for r in rows):
        for name in dict.fromkeys(r["variant"] for r in rows):
            group = [r for r in rows if r["rule"] == rule and r["variant"] == name]
            print(f"{rule:>13} {name:>16}: {len(group)} searches, valid "
                  f"{statistics.mean(r['valid_logloss'] for r in group):.4f}, test "
                  f"{statistics.mean(r['test_logloss'] for r in group):.4f} / "
                  f"{100 * statistics.mean(r['test_accuracy'] for r in group):.2f} %")


if __name__ == "__main__":
    main()
