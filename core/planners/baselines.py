"""Baseline planners: ``default``, ``random`` and ``tpe``, speaking the same ask/tell protocol as ``llm``.

Their samplers are Optuna's; the study that records trials lives in the run loop, so every planner's trials
are stored, pruned and reported the same way.
"""

from __future__ import annotations

import random
import warnings
from typing import Any

from automl_gpt.planners.base import Candidate, Planner, PlanningContext, config_key
from automl_gpt.training import TrialResult, TrialState


class DefaultPlanner(Planner):
    """The model card's default configuration, once; then nothing (a budget of 1 is its natural use)."""

    name = "default"

    def __init__(self, context: PlanningContext) -> None:
        self.context = context
        self._given = any(t.config == context.space.defaults() for t in context.history)

    def ask(self, n: int) -> list[Candidate]:
        if self._given or n <= 0:
            return []
        self._given = True
        return [Candidate(self.context.space.defaults(), source="default", rationale="model card defaults")]


class RandomPlanner(Planner):
    """Uniform (log-uniform where declared) random configurations, seeded."""

    name = "random"

    def __init__(self, context: PlanningContext) -> None:
        self.context = context
        self._rng = random.Random(context.seed)
        for _ in context.history:  # replay the stream so a resumed run continues where it stopped
            context.space.sample(self._rng)

    def ask(self, n: int) -> list[Candidate]:
        return [Candidate(self.context.space.sample(self._rng), source="random") for _ in range(n)]


class TPEPlanner(Planner):
    """Optuna's TPE sampler, seeded with the default configuration as its first trial (the strong baseline; each
    card's defaults, first card first, when the run chooses among several model cards).

    ``startup_trials`` random trials (Optuna's default is 10) come before TPE's model takes over; the default
    configuration counts as one of them.
    """

    name = "tpe"

    def __init__(self, context: PlanningContext, *, startup_trials: int = 10, seed_with_default: bool = True,
                 source: str = "tpe") -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

        self.context = context
        self.source = source
        self._distributions = context.space.to_optuna()
        # A resumed run must not replay the random start-up stream of the first session: offset the seed.
        sampler = optuna.samplers.TPESampler(seed=context.seed + len(context.history),
                                             n_startup_trials=startup_trials, multivariate=True,
                                             group=True, constant_liar=True)
        direction = context.objective.direction
        self._study = optuna.create_study(direction=direction, sampler=sampler)
        self._pending: dict[str, Any] = {}
        for past in context.history:
            self._add_finished(past.config, past.result)
        if seed_with_default and not context.history:
            from automl_gpt.cards.model_choice import default_configs

            for config in default_configs(context.model_card, context.space):  # every card's, in a choice run
                self._study.enqueue_trial(config)

    def ask(self, n: int) -> list[Candidate]:
        candidates = []
        for _ in range(n):
            trial = self._study.ask(self._distributions)
            config = self.context.space.active(trial.params)
            self._pending[config_key(config)] = trial
            candidates.append(Candidate(config, source=self.source))
        return candidates

    def tell(self, candidate: Candidate, result: TrialResult) -> None:
        trial = self._pending.pop(config_key(candidate.config), None)
        if trial is None:  # a candidate from elsewhere (warm start, LLM): learn from it too
            self._add_finished(candidate.config, result)
            return
        value = result.value(self.context.objective)
        if result.state == TrialState.FAIL or value is None:
            self._study.tell(trial, state=_optuna_state(TrialState.FAIL))
        else:
            self._study.tell(trial, value)

    def _add_finished(self, config: dict[str, Any], result: TrialResult) -> None:
        import optuna

        value = result.value(self.context.objective)
        params = {k: v for k, v in config.items() if k in self._distributions}
        distributions = {k: self._distributions[k] for k in params}
        try:
            if result.state == TrialState.FAIL or value is None:
                trial = optuna.trial.create_trial(params=params, distributions=distributions,
                                                  state=optuna.trial.TrialState.FAIL)
            else:
                trial = optuna.trial.create_trial(params=params, distributions=distributions, value=value)
        except ValueError:  # a config outside this space (e.g. from an older card): nothing to learn
            return
        self._study.add_trial(trial)


def _optuna_state(state: TrialState) -> Any:
    import optuna

    return {
        TrialState.COMPLETE: optuna.trial.TrialState.COMPLETE,
        TrialState.PRUNED: optuna.trial.TrialState.PRUNED,
        TrialState.FAIL: optuna.trial.TrialState.FAIL,
    }[state]
