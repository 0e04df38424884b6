"""Warm starts from similar datasets: config adaptation and the ``transfer`` planner.

:func:`adapt_config` carries a configuration found on another dataset (possibly for another model card) into a
search space: shared parameters are kept and repaired into the new ranges, the rest take defaults.
:class:`TransferPlanner` hands out the best configurations of the most similar past datasets first (from
``context.experience``, filled by :meth:`automl_gpt.runs.experience.ExperienceStore.find_similar`), then continues with
TPE, which learns from every result told so far.
"""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

from automl_gpt.cards.search_space import SearchSpace
from automl_gpt.errors import SearchSpaceError, UsageError
from automl_gpt.planners import TPEPlanner, config_key
from automl_gpt.planners.base import Candidate, Experience, Planner, PlanningContext
from automl_gpt.training import TrialResult

# Transferred configurations tried before TPE takes over: the fused queue of many similar datasets is long, and
# past the first few the configurations tuned elsewhere stop paying (leave-one-out over the suite, mean rank at 20
# trials 1.75 with all of them, 1.52 with 9; UCI Adult seed 0 at 30 trials, test log-loss 0.2752 and 0.2744).
MAX_TRANSFERRED = 9
# The user's own runs lend their best configurations first when they searched enough on similar data: a run's
# weight is its similarity times min(1, complete trials / 10) (see ExperienceStore.find_similar).
USER_FIRST = 2
USER_MIN_WEIGHT = 0.5


def adapt_config(config: dict[str, Any], space: SearchSpace) -> dict[str, Any]:
    """Fit a configuration from elsewhere into ``space``.

    Parameters the space knows are kept and repaired (cast, clipped, snapped); a value that cannot fit (a
    categorical choice the space lacks) is replaced by the default; unknown parameters are dropped; missing
    ones take their defaults; inactive conditional ones are dropped.
    """
    kept: dict[str, Any] = {}
    for name, value in config.items():
        if name not in space or value is None:
            continue
        try:
            kept[name] = space[name].repair(value)[0]
        except (TypeError, ValueError):
            continue
    try:
        return space.repair(kept).config
    except SearchSpaceError:  # cannot happen after per-parameter repair, but never let a warm start crash a run
        return space.defaults()


def transfer_candidates(experience: list[Experience], space: SearchSpace, limit: int | None = None) -> list[Candidate]:
    """Adapted configurations of the experience, de-duplicated, in hand-out order.

    Each configuration scores ``sum(similarity / rank)`` over the similar datasets whose best-first list holds it
    (similarity-weighted reciprocal-rank fusion): the best configuration of the most similar dataset comes first,
    unless another one ranks high on several similar datasets. Ties keep the interleaved order (the best of every
    dataset, most similar first, then the second best of each...).
    """
    ordered = sorted(experience, key=lambda e: e.transfer_weight, reverse=True)
    columns = [[(e, i, c) for i, c in enumerate(e.configs)] for e in ordered]
    scores: dict[str, float] = {}
    found: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for rank_row in zip_longest(*columns):
        for item in rank_row:
            if item is None:
                continue
            exp, rank, raw = item
            config = adapt_config(raw, space)
            key = config_key(config)
            scores[key] = scores.get(key, 0.0) + exp.transfer_weight / (rank + 1)
            value = f", score {exp.scores[rank]:.4g}" if rank < len(exp.scores) else ""
            found.setdefault(key, (config, []))[1].append(
                f"#{rank + 1} on '{exp.dataset}' (similarity {exp.similarity:.2f}{value})"
            )
    keys = sorted(found, key=lambda k: -scores[k])  # stable: ties keep the interleaved order
    candidates = [
        Candidate(found[k][0], source="transfer", rationale="from similar datasets: " + "; ".join(found[k][1]))
        for k in keys
    ]
    return candidates if limit is None else candidates[:limit]


def untried_transfers(context: PlanningContext, limit: int | None = MAX_TRANSFERRED) -> list[Candidate]:
    """The first ``limit`` transferred configurations (all of them with ``None``), less those ``context.history``
    has tried, in hand-out order: a resumed run finishes the transferred configurations a fresh run would hand
    out, whatever else it tried in between.

    The order: the best configurations of the user's own runs that searched enough on similar data
    (:data:`USER_FIRST`, weight at least :data:`USER_MIN_WEIGHT`), then the learned portfolio
    (``context.portfolio``), then the fused configurations of every similar dataset; the model card's defaults
    come second (beyond ``limit``, unless the queue holds them already), so a run never lacks its baseline.
    """
    trusted = [e for e in context.experience if e.origin == "user" and e.transfer_weight >= USER_MIN_WEIGHT]
    queue = transfer_candidates(trusted, context.space, limit=USER_FIRST) + list(context.portfolio)
    queue += transfer_candidates(context.experience, context.space)
    unique: dict[str, Candidate] = {}
    for candidate in queue:
        unique.setdefault(config_key(candidate.config), candidate)
    candidates = list(unique.values())[:limit] if limit is not None else list(unique.values())
    defaults = context.space.defaults()
    if candidates and config_key(defaults) not in {config_key(c.config) for c in candidates}:
        # the baseline to beat, and the best choice on some tables
        candidates.insert(1, Candidate(defaults, source="transfer", rationale="the model card's defaults"))
    tried = {config_key(p.config) for p in context.history}
    return [c for c in candidates if config_key(c.config) not in tried]


class TransferPlanner(Planner):
    """Hands out adapted configurations of similar datasets first, then falls back to TPE.

    ``max_transfer`` caps how many transferred configurations are tried before the fallback takes over
    (:data:`MAX_TRANSFERRED` by default; ``None``: all of them; see :func:`untried_transfers`). The fallback
    (``tpe``) is seeded with every result told so far; it is seeded with the default configuration only when
    there is no experience at all.
    """

    name = "transfer"

    def __init__(
        self, context: PlanningContext, fallback: str = "tpe", *, max_transfer: int | None = MAX_TRANSFERRED
    ) -> None:
        if fallback != "tpe":
            raise UsageError(f"unknown fallback planner '{fallback}' for transfer (known: tpe)")
        self.context = context
        self._queue = untried_transfers(context, max_transfer)
        self._fallback = TPEPlanner(context, seed_with_default=not context.experience, source="tpe")

    def ask(self, n: int) -> list[Candidate]:
        handed = self._queue[:n]
        self._queue = self._queue[n:]
        if len(handed) < n:
            handed += self._fallback.ask(n - len(handed))
        return handed

    def tell(self, candidate: Candidate, result: TrialResult) -> None:
        self._fallback.tell(candidate, result)
