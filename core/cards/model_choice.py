"""Runs over several model cards: the planner picks the architecture, as in the paper.

``run --model auto`` (every card of the backend for the data card's task) or ``--model a,b,c`` gives the run a
:class:`ModelChoice`: a model card whose search space is the union of its members' spaces under a top-level
categorical ``model`` parameter (stage ``model``), each member's parameters conditional on it. A parameter keeps
its name when every member that declares it declares it alike (type, range, scale, choices, default, stage and
condition; the description may differ); otherwise the first member to declare it keeps the name and each other
member's differing version is prefixed with the member's name (``linear.categorical_encoding``).

Everything that works on one card's space (the study, TPE, random, the LLM's schema, transfer's
:func:`~automl_gpt.planners.transfer.adapt_config`) works on the union unchanged; :func:`resolve` turns a configuration
of the union back into one member card and that card's own configuration before the backend trains it, so backends
never see the union.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from automl_gpt.cards import ModelCard
from automl_gpt.cards.search_space import CategoricalParam, SearchSpace
from automl_gpt.errors import UnknownNameError, UsageError
from pydantic import Field

if TYPE_CHECKING:
    from automl_gpt.planners.base import PastTrial
    from automl_gpt.training import Objective
    from optuna.pruners import BasePruner
    from optuna.study import Study
    from optuna.trial import FrozenTrial, TrialState

MODEL_PARAM = "model"
AUTO = "auto"
CARD_SUFFIXES = (".yaml", ".yml", ".json", ".md")


class ModelChoice(ModelCard):
    """A model card standing for the choice among ``members`` (its name lists them: ``xgboost,linear``)."""

    members: list[ModelCard] = Field(min_length=2)
    renamed: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="member -> {name in the union: the member's own name}, prefixed ones only")

    def member(self, name: str) -> ModelCard:
        """The member card called ``name``."""
        for card in self.members:
            if card.name == name:
                return card
        raise KeyError(name)

    def union_name(self, member: str, name: str) -> str:
        """The name the union gives ``member``'s parameter ``name``."""
        for union, own in self.renamed.get(member, {}).items():
            if own == name:
                return union
        return name

    def embed(self, member: str, config: dict[str, Any]) -> dict[str, Any]:
        """A configuration of one member as a configuration of the union (``model`` set, names as the union's)."""
        embedded: dict[str, Any] = {MODEL_PARAM: member}
        for name, value in config.items():
            if name != MODEL_PARAM:
                embedded[self.union_name(member, name)] = value
        return embedded


def is_choice_spec(model: str | None) -> bool:
    """True when ``--model`` asks for several cards (``auto`` or a comma-separated list of names, not a file)."""
    if model is None or Path(model).suffix.lower() in CARD_SUFFIXES:
        return False
    return model.strip() == AUTO or "," in model


def choose(cards: Sequence[ModelCard], spec: str, backend: str, task: str) -> ModelCard:
    """The cards ``spec`` names among ``cards`` (those of ``backend`` for ``task``), as one :class:`ModelChoice`;
    the card itself when only one is named or only one exists. Unknown or repeated names are one clear error."""
    if spec.strip() == AUTO:
        chosen = list(cards)
    else:
        names = [n.strip() for n in spec.split(",") if n.strip()]
        known = {c.name: c for c in cards}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise unknown_model_error(spec, unknown, task, list(known), backend)
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise UsageError(f"--model: {', '.join(repeated)} named twice; name each model card once")
        chosen = [known[n] for n in names]
    if not chosen:
        raise UsageError(f"backend '{backend}' has no model card for task '{task}'")
    return chosen[0] if len(chosen) == 1 else union(chosen)


def unknown_model_error(spec: str, unknown: Sequence[str], task: str, known: Sequence[str],
                        backend: str | None = None) -> UnknownNameError:
    """The one error line for a ``--model`` naming no model card: what was asked, which names are unknown, and the
    names that would work (``backend``: the one ``--backend`` named)."""
    where = f"backend '{backend}' and task '{task}'" if backend else f"task '{task}'"
    missing = ", ".join(f"'{n}'" for n in unknown)
    return UnknownNameError(f"--model '{spec}': no model card {missing} for {where} (known: "
                            f"{', '.join(sorted(set(known))) or 'none'}; or a model card file, auto, or a,b,c)")


def union(cards: Sequence[ModelCard]) -> ModelChoice:
    """The :class:`ModelChoice` of ``cards`` (first card: the default ``model``)."""
    names = [c.name for c in cards]
    backends = {c.backend for c in cards}
    if len(backends) > 1:
        raise UsageError(f"--model: model cards {', '.join(names)} belong to different backends "
                         f"({', '.join(sorted(backends))}); choose cards of one backend")
    space: dict[str, Any] = {MODEL_PARAM: CategoricalParam(
        choices=list(names), default=names[0], stage="model",
        description="the model card to train (its parameters below apply when it is chosen)")}
    owners: dict[str, list[str]] = {}
    renamed: dict[str, dict[str, str]] = {}
    for card in cards:
        for name, param in card.search_space.items():
            target = name
            if name in space and (name == MODEL_PARAM or _signature(space[name]) != _signature(param)):
                target = f"{card.name}.{name}"
                renamed.setdefault(card.name, {})[target] = name
            owners.setdefault(target, []).append(card.name)
            if target not in space:
                space[target] = param
    for card in cards:  # conditions name the member's own parameters: point them at the union's names
        union_names = {own: u for u, own in renamed.get(card.name, {}).items()}
        for name, param in card.search_space.items():
            target = union_names.get(name, name)
            if MODEL_PARAM in space[target].condition:
                continue  # shared, and already conditioned by the first member that declares it
            condition: dict[str, list[Any]] = {MODEL_PARAM: list(owners[target])}
            condition.update({union_names.get(other, other): v for other, v in param.condition.items()})
            space[target] = param.model_copy(update={"condition": condition})
    tasks = [t for t in cards[0].tasks if all(t in c.tasks for c in cards)]
    return ModelChoice(
        name=",".join(names), backend=cards[0].backend, tasks=tasks,
        description="The planner chooses the model: " + ", ".join(names) + ".",
        architecture="one of " + ", ".join(f"{c.name} ({c.architecture})" if c.architecture else c.name
                                           for c in cards),
        search_space=space, members=list(cards), renamed=renamed,
    )


def resolve(card: ModelCard, config: dict[str, Any]) -> tuple[ModelCard, dict[str, Any]]:
    """The member card a configuration of a :class:`ModelChoice` chose, with that member's own configuration
    (the card and configuration unchanged for a single card)."""
    if not isinstance(card, ModelChoice):
        return card, config
    chosen = str(config.get(MODEL_PARAM, card.members[0].name))
    member = card.member(chosen)
    own = card.renamed.get(chosen, {})
    hidden = set(own.values())  # the member's names that live under a prefixed name in the union
    resolved = {}
    for name, value in config.items():
        if name in own:
            resolved[own[name]] = value
        elif name != MODEL_PARAM and name in member.search_space and name not in hidden:
            resolved[name] = value
    return member, resolved


def default_configs(card: ModelCard, space: SearchSpace) -> list[dict[str, Any]]:
    """The defaults of every card a run searches, first card first (``[space.defaults()]`` for a single card):
    each card's plain defaults are the baselines a choice run starts from."""
    if not isinstance(card, ModelChoice):
        return [space.defaults()]
    return [space.repair(card.embed(member.name, member.defaults())).config for member in card.members]


def member_of(config: dict[str, Any], card: ModelCard) -> str:
    """The model card name a trial's configuration trained (the card's own name for a single card)."""
    if isinstance(card, ModelChoice):
        return str(config.get(MODEL_PARAM, card.members[0].name))
    return card.name


def trials_by_member(card: ModelCard, history: list[PastTrial]) -> list[tuple[str, list[PastTrial]]]:
    """Finished trials grouped by the model card they trained, each with that card's own configuration (the experience
    store keeps runs per model card); ``[(card.name, history)]`` for a single card."""
    if not isinstance(card, ModelChoice):
        return [(card.name, history)]
    from dataclasses import replace

    groups: dict[str, list[PastTrial]] = {}
    for past in history:
        member, config = resolve(card, past.config)
        groups.setdefault(member.name, []).append(replace(past, config=config))
    return list(groups.items())


def compare_models(card: ModelCard, history: list[PastTrial], objective: Objective) -> dict[str, Any] | None:
    """Per member of a choice: its trials (total, complete), its best trial and value, in the members' order
    (None for a single card). The report's architecture comparison."""
    if not isinstance(card, ModelChoice):
        return None
    from automl_gpt.training import TrialState

    table: dict[str, Any] = {m.name: {"trials": 0, "complete": 0, "best_trial": None, "best_value": None}
                             for m in card.members}
    for past in history:
        row = table.get(member_of(past.config, card))
        if row is None:
            continue
        row["trials"] += 1
        value = past.result.value(objective)
        if past.result.state != TrialState.COMPLETE or value is None:
            continue
        row["complete"] += 1
        if row["best_value"] is None or objective.better(value, row["best_value"]):
            row["best_trial"], row["best_value"] = past.number, value
    return table


def same_model_pruner(inner: BasePruner) -> BasePruner:
    """An Optuna pruner that judges a trial against finished trials of the same ``model`` only: learning curves
    of different architectures are not on one scale step for step (a linear model's one step, boosting at other
    learning rates), so a choice run must not prune one card's trial by another card's curves."""
    import optuna

    class SameModelPruner(optuna.pruners.BasePruner):
        def prune(self, study: Study, trial: FrozenTrial) -> bool:
            same_model = _SameModelTrials(study, trial.params.get(MODEL_PARAM))
            return bool(inner.prune(cast("Study", same_model), trial))  # pruners read only what it has

    return SameModelPruner()


class _SameModelTrials:
    """The part of a study a pruner reads, restricted to the trials of one ``model``."""

    def __init__(self, study: Study, model: Any) -> None:
        self._study, self._model = study, model
        self.direction = study.direction

    def get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        trials = self._study.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if t.params.get(MODEL_PARAM) == self._model]


def _signature(param: Any) -> dict[str, Any]:
    return param.model_dump(exclude={"description"})
