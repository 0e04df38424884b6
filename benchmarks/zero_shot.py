"""Zero-shot rules: which first configuration beats the model card's defaults on a dataset never seen?

The leave-one-out of ``unseen.py`` (same knowledge bases, same similar datasets) asks only the first trial, under
several rules for picking it from what the knowledge base knows:

* ``fused``: the shipped rule, the first of the similarity-weighted reciprocal-rank fusion
  (:func:`automl_gpt.transfer.transfer_candidates`);
* ``robust``: the configuration with the best similarity-weighted mean ratio to the defaults over the similar
  datasets, among the configurations the knowledge-base build cross-evaluated on every dataset (the best
  ``--kb-cross`` of each search) — what a knowledge base that stored the whole cross-evaluation could pick;
* ``consensus-K``: per parameter, the similarity-weighted median (log scale where the space is) of the best
  configuration of the K most similar datasets; categorical choices by weighted vote;
* ``halfway``: the midpoint (log scale where the space is) between the defaults and the ``fused`` configuration.

Prints, per rule, on how many datasets the first trial beats the defaults (validation log-loss) and the mean ratio
to the defaults. Every training comes from (or goes to) the knowledge-base cache.

    nice -n 10 python benchmarks/zero_shot.py
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_knowledge_base as kb
import unseen
from automl_gpt.planning import Experience
from automl_gpt.search_space import CategoricalParam, SearchSpace
from automl_gpt.transfer import adapt_config, transfer_candidates

Rule = Callable[[str, list[Experience]], dict[str, Any]]


class Probe:
    """Cached validation log-loss of any configuration on any suite dataset, relative to that dataset's defaults."""

    def __init__(self, cache: Path) -> None:
        setups = {n: kb.setup(kb.pmlb_card(n)) for n in kb.suite_names()}
        self.evaluators = {n: kb.Evaluator(s, kb.LIMITS, cache) for n, s in setups.items()}
        self.spaces = {n: s.model_card.space() for n, s in setups.items()}
        self.objectives = {n: s.backend.objective(s.card) for n, s in setups.items()}

    def space(self, name: str) -> SearchSpace:
        return self.spaces[name]

    def ratio(self, name: str, config: dict[str, Any]) -> float:
        """Validation log-loss of ``config`` (adapted) over the defaults' on ``name``; inf when it fails."""
        evaluate, space, objective = self.evaluators[name], self.spaces[name], self.objectives[name]
        value = evaluate(adapt_config(config, space)).value(objective)
        default = evaluate(space.defaults()).value(objective)
        return math.inf if value is None or default is None else value / default


def robust_rule(probe: Probe, pool: dict[str, list[dict[str, Any]]]) -> Rule:
    def pick(name: str, experience: list[Experience]) -> dict[str, Any]:
        weights = {e.dataset: e.similarity for e in experience}

        def mean_ratio(config: dict[str, Any]) -> float:
            total = sum(w * probe.ratio(d, config) for d, w in weights.items())
            return total / sum(weights.values())

        candidates = [c for origin, configs in pool.items() if origin != name for c in configs]
        return min(candidates, key=mean_ratio)

    return pick


def consensus_rule(probe: Probe, k: int) -> Rule:
    def pick(name: str, experience: list[Experience]) -> dict[str, Any]:
        space = probe.space(name)
        votes = [(adapt_config(e.configs[0], space), e.similarity) for e in experience[:k] if e.configs]
        config: dict[str, Any] = {}
        for param_name, param in space.items():
            values = [(c[param_name], w) for c, w in votes if param_name in c]
            if not values:
                continue
            if isinstance(param, CategoricalParam):
                tally: dict[str, float] = {}
                for value, w in values:
                    tally[json.dumps(value)] = tally.get(json.dumps(value), 0.0) + w
                config[param_name] = json.loads(max(tally, key=lambda key: tally[key]))
            else:
                log = bool(getattr(param, "log", False))
                median = _weighted_median([(math.log(v) if log else v, w) for v, w in values])
                config[param_name] = math.exp(median) if log else median
        return adapt_config(config, space)

    return pick


def halfway_rule(probe: Probe) -> Rule:
    def pick(name: str, experience: list[Experience]) -> dict[str, Any]:
        space = probe.space(name)
        defaults, fused = space.defaults(), transfer_candidates(experience, space)[0].config
        config = dict(fused)
        for param_name, param in space.items():
            if isinstance(param, CategoricalParam) or param_name not in defaults or param_name not in fused:
                continue
            a, b = defaults[param_name], fused[param_name]
            log = bool(getattr(param, "log", False))
            config[param_name] = math.sqrt(a * b) if log else (a + b) / 2
        return adapt_config(config, space)

    return pick


def _weighted_median(values: list[tuple[float, float]]) -> float:
    ordered = sorted(values)
    half, running = sum(w for _, w in ordered) / 2, 0.0
    for value, weight in ordered:
        running += weight
        if running >= half:
            return value
    return ordered[-1][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    unseen.add_knowledge_base_arguments(parser)
    args = parser.parse_args(argv)
    kb.quiet()
    names = kb.suite_names()
    searched = unseen.search_suite(args)
    probe = Probe(Path(args.cache))
    pool = {n: kb._top_configs(rows, args.kb_cross) for n, rows in searched.items()}
    rules: dict[str, Rule] = {
        "fused": lambda name, experience: transfer_candidates(experience, probe.space(name))[0].config,
        "robust": robust_rule(probe, pool),
        "consensus-5": consensus_rule(probe, 5),
        f"consensus-{args.neighbours}": consensus_rule(probe, args.neighbours),
        "halfway": halfway_rule(probe),
    }
    ratios: dict[str, dict[str, float]] = {rule: {} for rule in rules}
    for name in names:
        experience = unseen.loo_experience(name, args, searched)
        for rule, pick in rules.items():
            ratios[rule][name] = probe.ratio(name, pick(name, experience))
        print(f"  {name:25s} " + "  ".join(f"{r} {ratios[r][name]:.3f}" for r in rules), flush=True)
    print("\n| rule | first trial beats the defaults | mean ratio to the defaults | losses (ratio) |")
    print("| --- | --- | --- | --- |")
    for rule, by_name in ratios.items():
        wins = sum(r < 1 for r in by_name.values())
        losses = ", ".join(f"{n} {r:.2f}" for n, r in by_name.items() if r >= 1)
        mean = statistics.mean(by_name.values())
        print(f"| {rule} | {wins}/{len(names)} ({wins / len(names):.0%}) | {mean:.3f} | {losses} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
