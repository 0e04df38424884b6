"""The LLM planner's source bandit: who fills the next candidate slot, the LLM, a transferred config or TPE."""

from __future__ import annotations

from collections import Counter

from automl_gpt.planners.llm_planner import LLM_SOURCE, TPE_SOURCE, TRANSFER_SOURCE, SourceBandit
from automl_gpt.training import Objective, TrialResult, TrialState

OBJECTIVE = Objective(metric="loss", direction="minimize")
NOTHING = {LLM_SOURCE: 0, TRANSFER_SOURCE: 0, TPE_SOURCE: 0}


def done(value: float, metric: str = "loss") -> TrialResult:
    return TrialResult(TrialState.COMPLETE, {f"valid/{metric}": value})


def test_wins_and_losses_are_against_the_median_of_earlier_trials() -> None:
    bandit = SourceBandit(OBJECTIVE)
    bandit.tell(TPE_SOURCE, done(5.0))  # first trial: nothing to compare with
    assert bandit.wins == NOTHING and bandit.losses == NOTHING
    bandit.tell("default", done(3.0))  # other sources only move the median (now 4.0)
    bandit.tell(LLM_SOURCE, done(3.5))
    bandit.tell(TPE_SOURCE, done(4.5))
    bandit.tell(TRANSFER_SOURCE, done(1.0))
    bandit.tell(TPE_SOURCE, TrialResult(TrialState.FAIL, error="crashed"))
    bandit.record_losses(LLM_SOURCE, 2)
    assert bandit.wins == {**NOTHING, LLM_SOURCE: 1, TRANSFER_SOURCE: 1}
    assert bandit.losses == {**NOTHING, LLM_SOURCE: 2, TPE_SOURCE: 2}


def test_maximised_objectives_win_upwards() -> None:
    bandit = SourceBandit(Objective(metric="accuracy", direction="maximize"))
    bandit.tell("default", done(0.8, "accuracy"))
    bandit.tell(LLM_SOURCE, done(0.9, "accuracy"))
    bandit.tell(TPE_SOURCE, done(0.7, "accuracy"))
    assert bandit.wins == {**NOTHING, LLM_SOURCE: 1} and bandit.losses == {**NOTHING, TPE_SOURCE: 1}


def test_untried_sources_come_first_and_excluded_ones_never() -> None:
    bandit = SourceBandit(OBJECTIVE, seed=1)
    assert [bandit.choose() for _ in range(3)] == [LLM_SOURCE] * 3  # before any trial is scored
    bandit.tell("default", done(1.0))
    bandit.tell(LLM_SOURCE, done(0.5))
    assert bandit.choose() == TRANSFER_SOURCE
    assert bandit.choose(exclude=(TRANSFER_SOURCE,)) == TPE_SOURCE
    bandit.tell(TPE_SOURCE, done(0.1))
    assert TRANSFER_SOURCE not in {bandit.choose(exclude=(TRANSFER_SOURCE,)) for _ in range(100)}


def test_choices_follow_the_winner_and_are_seeded() -> None:
    def trained(seed: int) -> SourceBandit:
        bandit = SourceBandit(OBJECTIVE, seed=seed)
        bandit.tell("default", done(1.0))
        for _ in range(8):
            bandit.tell(LLM_SOURCE, done(2.0))  # always worse than the median
            bandit.tell(TRANSFER_SOURCE, done(2.0))
            bandit.tell(TPE_SOURCE, done(0.1))  # always better
        return bandit

    first, second = trained(7), trained(7)
    choices = [first.choose() for _ in range(200)]
    assert choices == [second.choose() for _ in range(200)]
    assert Counter(choices)[TPE_SOURCE] > 170
