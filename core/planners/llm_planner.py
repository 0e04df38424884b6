"""The ``llm`` planner: the paper's method, with validation, ranking and a TPE safety net.

Each round it builds the fixed-format prompt paragraph (``build_prompt`` hook: cards, constraints, experience and
a digest of the real trials so far), asks the LLM for K staged plans (data processing, model, hyper-parameters)
each with a predicted validation curve, as JSON constrained by a schema derived from the search space. Every plan
is validated against the typed space (repaired or rejected, never executed), de-duplicated, ranked by predicted
outcome, and the best are handed out. When the LLM fails, times out or proposes nothing valid, TPE fills the
batch and the run goes on; :meth:`LLMPlanner.stats` counts how often.

A weak LLM must not make the search worse than plain search. After the warm start, each candidate slot goes to
the LLM, to the next configuration transferred from a similar dataset (while any are left) or to TPE, by
Thompson sampling over how often each source's trials beat the median trial so far (:class:`SourceBandit`): an
LLM whose plans keep winning gets most of the slots, one whose plans keep losing hands them to the others, and
every source learns from every result. Candidates say which source they came from.
"""

from __future__ import annotations

import logging
import random
import statistics
import time
from typing import TYPE_CHECKING, Any, Protocol

from automl_gpt.errors import LLMAuthError, LLMError, SearchSpaceError
from automl_gpt.llm import GenerationSettings, LLMResponse
from automl_gpt.planners import TPEPlanner, config_key
from automl_gpt.planners.base import Candidate, Planner, PlanningContext, best_trial
from automl_gpt.planners.llm_prediction import (
    LLM_PREDICTOR,
    SYSTEM_PROMPT,
    curve_key,
    curve_prediction,
    curve_schema,
)
from automl_gpt.planners.predictor import expected_improvement, predictor_for
from automl_gpt.planners.transfer import untried_transfers
from automl_gpt.training import Objective, TrialResult, TrialState

if TYPE_CHECKING:  # the client module (and its cache) loads only when the planner first calls the LLM
    from automl_gpt.llm.client import StructuredResponse

logger = logging.getLogger("automl_gpt.planner")

EXTRA_PLANS = 0
LLM_SOURCE, TRANSFER_SOURCE, TPE_SOURCE = LLM_PREDICTOR, "transfer", "tpe"
WARM_START = 2
# A small local model on two busy cores can need minutes for a staged plan; past this, TPE fills the round.
PLANNING_TIMEOUT_S = 300.0


class JSONClient(Protocol):
    """What the planner needs from an LLM client (``automl_gpt.llm.client.LLMClient`` satisfies it): a JSON
    answer already validated against the schema, with the client's ``repairs`` of it."""

    def generate_json(self, prompt: str, schema: dict[str, Any], *, system: str | None = None,
                      settings: GenerationSettings = ...) -> StructuredResponse: ...


def plan_schema(context: PlanningContext, n_plans: int) -> dict[str, Any]:
    """The JSON schema of the LLM's answer: ``n_plans`` staged plans with a 4-point predicted curve."""
    space_schema = context.space.json_schema()
    properties: dict[str, Any] = {}
    required: list[str] = []
    for stage, names in context.space.by_stage().items():
        if not names:
            continue
        stage_required = [n for n in names if n in space_schema["required"]]
        properties[stage] = {
            "type": "object",
            "properties": {n: space_schema["properties"][n] for n in names},
            "required": stage_required,
            "additionalProperties": False,
        }
        required.append(stage)
    key = curve_key(context.objective.metric)
    properties[key] = curve_schema(context)
    properties["rationale"] = {"type": "string", "maxLength": 120}
    required += [key, "rationale"]
    plan = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return {
        "type": "object",
        "properties": {"plans": {"type": "array", "items": plan, "minItems": n_plans, "maxItems": n_plans}},
        "required": ["plans"],
        "additionalProperties": False,
    }


class LLMPlanner(Planner):
    """Plans with an LLM; see the module docstring.

    ``client`` defaults to the run's ``--llm`` provider. With ``start_with_default`` a fresh run first tries the
    best configurations of similar datasets (``context.experience``), or, without experience, the model card's
    defaults, the baseline every plan must beat (as TPE is seeded with it). With ``share_with_tpe`` (the default)
    the :class:`SourceBandit` decides who fills each later slot: the LLM, the remaining transferred
    configurations or TPE; without it every slot goes to the LLM (the paper's method, as ``automl-gpt plan``
    shows it), TPE filling only what the LLM could not.
    """

    name = "llm"

    def __init__(self, context: PlanningContext, client: JSONClient | None = None,
                 settings: GenerationSettings | None = None, *, start_with_default: bool = True,
                 share_with_tpe: bool = True) -> None:
        self.context = context
        self._client = client
        self.settings = settings or GenerationSettings(temperature=0.7, max_tokens=900, seed=context.seed,
                                                       timeout_s=PLANNING_TIMEOUT_S)
        self.fallback = TPEPlanner(context, seed_with_default=False, source="tpe-fallback")
        seed = context.seed + len(context.history)
        self.bandit = SourceBandit(context.objective, seed=seed) if share_with_tpe else None
        self._transfers = untried_transfers(context)  # the transfer source's queue, as the transfer planner's
        if start_with_default and not context.history:
            self._warm_start = self._transfers[:WARM_START] or [self._default()]
            self._transfers = self._transfers[WARM_START:]
        else:
            self._warm_start = []
        self._round = len(context.history)
        self._stats: dict[str, float] = {
            "llm_calls": 0, "llm_seconds": 0.0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
            "cache_hits": 0, "rounds": 0, "fallback_rounds": 0, "fallback_candidates": 0, "tpe_candidates": 0,
            "transfer_candidates": 0, "plans_proposed": 0, "plans_rejected": 0, "plans_repaired": 0,
            "plans_duplicate": 0, "predictions_rejected": 0,
        }

    @property
    def client(self) -> JSONClient:
        if self._client is None:
            from automl_gpt.llm.client import get_llm

            self._client = get_llm(self.context.options.get("llm", "local"),
                                   cache=bool(self.context.options.get("llm_cache", True)))
        return self._client

    def stats(self) -> dict[str, float]:
        """Counters for the report: LLM calls, tokens, cost, cache hits, fallbacks, rejected plans."""
        return dict(self._stats)

    def ask(self, n: int) -> list[Candidate]:
        if n <= 0:
            return []
        self._stats["rounds"] += 1
        candidates, self._warm_start = self._warm_start[:n], self._warm_start[n:]
        slots = self._slots(n - len(candidates))
        transferred = slots.count(TRANSFER_SOURCE)
        if transferred:
            self._stats["transfer_candidates"] += transferred
            candidates.extend(self._transfers[:transferred])
            self._transfers = self._transfers[transferred:]
        delegated = slots.count(TPE_SOURCE)
        wanted = slots.count(LLM_SOURCE)
        if wanted > 0:
            ranked = self._rank(self._propose(wanted + EXTRA_PLANS))[:wanted]
            if not ranked:
                self._stats["fallback_rounds"] += 1
            if self.bandit:
                self.bandit.record_losses(LLM_SOURCE, wanted - len(ranked))  # a slot the LLM could not fill
            candidates.extend(ranked)
        if delegated:
            self._stats["tpe_candidates"] += delegated
            candidates.extend(Candidate(c.config, source=TPE_SOURCE, rationale="TPE's turn (source bandit)")
                              for c in self.fallback.ask(delegated))
        missing = n - len(candidates)
        if missing > 0:
            self._stats["fallback_candidates"] += missing
            logger.warning("llm planner: %d of %d candidates came from TPE (the LLM gave too few valid plans)",
                           missing, n)
            candidates.extend(self.fallback.ask(missing))
        return candidates

    def tell(self, candidate: Candidate, result: TrialResult) -> None:
        self.fallback.tell(candidate, result)
        if self.bandit:
            self.bandit.tell(candidate.source, result)

    def _slots(self, n: int) -> list[str]:
        """The source of each of ``n`` slots: the bandit's picks, or the LLM's every one without the bandit."""
        if self.bandit is None:
            return [LLM_SOURCE] * n
        slots: list[str] = []
        for _ in range(n):
            left = len(self._transfers) - slots.count(TRANSFER_SOURCE)
            slots.append(self.bandit.choose(exclude=() if left > 0 else (TRANSFER_SOURCE,)))
        return slots

    def _default(self) -> Candidate:
        """Without experience, a fresh run starts from the model card's defaults, the baseline to beat."""
        return Candidate(self.context.space.defaults(), source="default",
                         rationale="the model card's defaults: the baseline every plan must beat")

    # -- one LLM round ----------------------------------------------------------------------------------

    def _propose(self, k: int) -> list[Candidate]:
        from automl_gpt.plugins import get_plugin_manager

        prompt = get_plugin_manager().hook.build_prompt(context=self.context, n_candidates=k)
        schema = plan_schema(self.context, k)
        self._round += 1
        settings = GenerationSettings(
            temperature=self.settings.temperature, max_tokens=self.settings.max_tokens,
            seed=(self.settings.seed or 0) + self._round, timeout_s=self.settings.timeout_s,
        )
        started = time.monotonic()
        try:
            response = self.client.generate_json(prompt, schema, system=SYSTEM_PROMPT, settings=settings)
        except LLMAuthError:
            raise  # a refused key refuses every round: stop and say so, rather than run TPE under the LLM's name
        except LLMError as exc:
            logger.warning("llm planner: the LLM call failed (%s); TPE fills this round", exc)
            return []
        finally:
            self._stats["llm_seconds"] += time.monotonic() - started
        self._account(response)
        plans = response.data.get("plans") if isinstance(response.data, dict) else None
        if not isinstance(plans, list):
            logger.warning("llm planner: the answer has no list of plans; TPE fills this round")
            return []
        candidates = []
        seen = {config_key(t.config) for t in self.context.history}
        for index, plan in enumerate(plans):
            self._stats["plans_proposed"] += 1
            clipped = [note for note in response.repairs if note.startswith(f"plans/{index}/")]
            candidate = self._validate(plan, index, clipped)
            if candidate is None:
                continue
            key = config_key(candidate.config)
            if key in seen:
                self._stats["plans_duplicate"] += 1
                continue
            seen.add(key)
            candidate.prompt = prompt
            candidate.raw_response = response.text
            candidates.append(candidate)
        return candidates

    def _validate(self, plan: Any, index: int, clipped: list[str] | None = None) -> Candidate | None:
        """A plan as a candidate inside the space, or None (logged) when it cannot be repaired.

        ``clipped`` are the LLM client's notes on this plan's values it clipped into the schema's bounds: a plan
        repaired there counts as repaired too, and a predicted curve clipped there is rejected.
        """
        if not isinstance(plan, dict):
            self._reject(index, "not an object")
            return None
        raw: dict[str, Any] = {}
        for stage in ("data_processing", "model", "hyperparameters"):
            values = plan.get(stage)
            if isinstance(values, dict):
                raw.update(values)
        try:
            repaired = self.context.space.repair(raw)
        except SearchSpaceError as exc:
            self._reject(index, str(exc))
            return None
        notes = list(clipped or []) + list(repaired.notes)
        if notes:
            self._stats["plans_repaired"] += 1
            logger.info("llm planner: plan %d repaired: %s", index + 1, "; ".join(notes))
        prediction, rejected = curve_prediction(plan, self.context.objective.metric, self.context.data_card,
                                                clipped or [])
        if rejected is not None:
            self._stats["predictions_rejected"] += 1
            notes.append(f"prediction rejected: {rejected}")
            logger.warning("llm planner: plan %d prediction rejected: %s", index + 1, rejected)
        return Candidate(repaired.config, source=LLM_SOURCE, rationale=str(plan.get("rationale", ""))[:300],
                         predictions=[prediction] if prediction else [], repairs=notes)

    def _reject(self, index: int, reason: str) -> None:
        self._stats["plans_rejected"] += 1
        logger.warning("llm planner: plan %d rejected: %s", index + 1, reason)

    def _rank(self, candidates: list[Candidate]) -> list[Candidate]:
        """Most promising first: by the expected improvement over the best trial so far that the ``matrix``
        predictor (or, without a performance matrix, the ``surrogate`` once it has data) gives, else by the LLM's
        own (validated) prediction."""
        objective = self.context.objective
        predictor = predictor_for(self.context)  # built once: it weighs the matrix against the run's history
        for candidate in candidates:
            prediction = predictor.predict(candidate)
            if prediction is not None:
                candidate.predictions.append(prediction)
        leader = best_trial(self.context.history, objective)
        best = None if leader is None else leader.result.value(objective)

        def score(candidate: Candidate) -> float:
            prediction = next((p for p in candidate.predictions if p.predictor != LLM_SOURCE), None)
            prediction = prediction or candidate.prediction(LLM_SOURCE)
            if prediction is None:
                return -float("inf")
            return expected_improvement(prediction, best, objective.direction)

        return sorted(candidates, key=score, reverse=True)

    def _account(self, response: LLMResponse) -> None:
        self._stats["llm_calls"] += 1
        self._stats["cache_hits"] += 1 if response.cached else 0
        self._stats["prompt_tokens"] += response.usage.prompt_tokens
        self._stats["completion_tokens"] += response.usage.completion_tokens
        self._stats["cost_usd"] += response.usage.cost_usd or 0.0


class SourceBandit:
    """Thompson sampling over the sources of the next candidate: the LLM, transferred configurations, TPE.

    A trial from a source is a *win* when its objective beats the median of the trials finished before it;
    failed trials are losses, and so are LLM slots left empty by invalid plans; the first trial of a run, with
    nothing to compare to, counts for neither. A source not scored yet gets the slot (in the order of
    :attr:`sources`, the LLM first); after that each source's win rate has a Beta(1 + wins, 1 + losses)
    posterior, and :meth:`choose` draws from each and picks the largest, the earlier source on ties. Seeded, so
    a run is reproducible. Trials from other sources (the defaults, the TPE fallback, other workers) only move
    the median. A resumed run starts the counts afresh.
    """

    sources = (LLM_SOURCE, TRANSFER_SOURCE, TPE_SOURCE)

    def __init__(self, objective: Objective, seed: int = 0) -> None:
        self.objective = objective
        self.wins = dict.fromkeys(self.sources, 0)
        self.losses = dict.fromkeys(self.sources, 0)
        self._values: list[float] = []
        self._rng = random.Random(seed)

    def choose(self, exclude: tuple[str, ...] = ()) -> str:
        """The source of the next candidate, out of those not excluded (e.g. transfer with nothing left): a
        source not scored yet, else a Thompson draw."""
        open_sources = [s for s in self.sources if s not in exclude]
        untried = [s for s in open_sources if self.wins[s] + self.losses[s] == 0]
        if untried:
            return untried[0]
        draws = [self._rng.betavariate(1 + self.wins[s], 1 + self.losses[s]) for s in open_sources]
        return open_sources[draws.index(max(draws))]

    def record_losses(self, source: str, count: int) -> None:
        """``count`` losses for ``source`` without a trial (e.g. LLM slots left empty by invalid plans)."""
        self.losses[source] += max(0, count)

    def tell(self, source: str, result: TrialResult) -> None:
        """Score a finished trial against the median of the earlier ones, then remember its value."""
        value = result.value(self.objective) if result.state != TrialState.FAIL else None
        if source in self.wins and (self._values or value is None):
            if value is not None and self._better(value, statistics.median(self._values)):
                self.wins[source] += 1
            else:
                self.losses[source] += 1
        if value is not None:
            self._values.append(value)

    def _better(self, value: float, than: float) -> bool:
        return value < than if self.objective.direction == "minimize" else value > than
