"""What ``--model`` names: one rule for every command that takes it and for ``automl_gpt.run(model=...)``.

``run``, ``plan``, ``prompt`` and ``experience similar`` (each with an optional ``--backend``) read ``--model`` as,
in this order:

1. nothing: the preferred backend's first model card for the data card's task;
2. a model card file (a name ending in ``.yaml``, ``.yml``, ``.json`` or ``.md``): that card, trained by the
   backend its ``backend`` field names;
3. ``auto`` or ``a,b,c``: the choice among every card of the preferred backend for the task, or among the named
   cards, which must belong to one backend (:mod:`.model_choice`);
4. a model card name: the first card of that name for the task, backends in order of preference;
5. a backend name: that backend's first model card for the task;
6. a folder holding a ``README.md`` model card.

With ``--backend`` only that backend's cards count. Backends are preferred available first, then first-party
(installing a plugin never changes what an existing command does). Any other name is one
:class:`~automl_gpt.errors.UnknownNameError` (exit code 2) listing the model card names that would work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from automl_gpt.cards.card import DataCard, ModelCard, load_model_card
from automl_gpt.cards.model_choice import AUTO, CARD_SUFFIXES, choose, is_choice_spec, unknown_model_error
from automl_gpt.errors import UnknownNameError, UsageError
from automl_gpt.training import Backend

FIRST_PARTY_PREFIX = "automl_gpt"  # the modules of this distribution: automl_gpt, automl_gpt_backend_tabular, ...


def resolve_model_card(name: str | None, data_card: DataCard, backends: Mapping[str, Backend],
                       backend: Backend | None = None) -> tuple[Backend, ModelCard]:
    """The backend and model card ``name`` stands for (the rule above), for the task of ``data_card``.

    ``backends`` is every registered backend by name; ``backend`` the one ``--backend`` named, if any. Whether the
    backend can train here (its extra installed) is the caller's question: ``prompt`` needs no training.
    """
    if backend is not None and not backend.supports(data_card):
        raise UsageError(f"backend '{backend.name}' does not support task '{data_card.task}'")
    if name is not None and Path(name).suffix.lower() in CARD_SUFFIXES:
        return _card_file(Path(name), data_card, backends, backend)
    candidates = [backend] if backend is not None else preferred_backends(backends.values(), data_card)
    if not candidates:
        raise UsageError(f"no installed backend supports task '{data_card.task}' (see 'automl-gpt plugins list')")
    offered = [(b, c) for b in candidates for c in b.model_cards() if data_card.task in c.tasks]
    if name is None or name.strip() == "":
        owner = candidates[0]
        cards = [c for b, c in offered if b is owner]
        if not cards:
            raise UsageError(f"backend '{owner.name}' has no model card for task '{data_card.task}'")
        return owner, cards[0]
    if is_choice_spec(name):
        return _choice(name, data_card, candidates, offered, backend)
    for owner, card in offered:
        if card.name == name:
            return owner, card
    for owner, card in offered:
        if owner.name == name:
            return owner, card
    if Path(name).is_dir():
        return _card_file(Path(name), data_card, backends, backend)
    raise unknown_model_error(name, [name], data_card.task, _names(offered), backend.name if backend else None)


def saved_model_name(name: str | None, card: ModelCard) -> str:
    """What a run saves as its ``--model`` so that ``--resume``, ``runs report`` and ``ensemble`` resolve the same
    card again: a model card file (or folder) as the absolute path of the file read, any other card by its name (a
    choice by its members' names)."""
    source = card.source
    if name is None or source is None:
        return card.name
    path = Path(name)
    if path.suffix.lower() in CARD_SUFFIXES or (path.is_dir() and source.parent == path.resolve()):
        return str(source)
    return card.name


def preferred_backends(backends: Iterable[Backend], data_card: DataCard) -> list[Backend]:
    """The backends supporting the card's task, preferred first: available before unavailable, first-party before
    third-party."""
    supporting = [b for b in backends if b.supports(data_card)]
    return sorted(supporting, key=lambda b: (not b.requirements.available,
                                             not type(b).__module__.startswith(FIRST_PARTY_PREFIX)))


def _choice(spec: str, data_card: DataCard, candidates: list[Backend], offered: list[tuple[Backend, ModelCard]],
            backend: Backend | None) -> tuple[Backend, ModelCard]:
    """``auto`` (every card of the preferred backend) or ``a,b,c`` (the named cards, of the first backend in order of
    preference that has them all)."""
    if spec.strip() == AUTO:
        owner = candidates[0]
        return owner, choose([c for b, c in offered if b is owner], spec, owner.name, data_card.task)
    names = list(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    unknown = [n for n in names if n not in {c.name for _, c in offered}]
    if unknown:
        raise unknown_model_error(spec, unknown, data_card.task, _names(offered), backend.name if backend else None)
    for owner in candidates:
        cards = [c for b, c in offered if b is owner]
        if set(names) <= {c.name for c in cards}:
            return owner, choose(cards, spec, owner.name, data_card.task)
    owners = "; ".join(f"{n}: {', '.join(b.name for b, c in offered if c.name == n)}" for n in sorted(names))
    raise UsageError(f"--model '{spec}': the named model cards belong to different backends ({owners}); name cards "
                     "of one backend")


def _card_file(path: Path, data_card: DataCard, backends: Mapping[str, Backend],
               backend: Backend | None) -> tuple[Backend, ModelCard]:
    """A model card file and the backend its ``backend`` field names (which ``--backend``, if given, must be)."""
    card = load_model_card(path)
    owner = backends.get(card.backend)
    if owner is None:
        known = ", ".join(sorted(backends)) or "none"
        raise UnknownNameError(f"model card '{card.name}' names backend '{card.backend}', which no installed plugin "
                               f"provides (known: {known}; see 'automl-gpt plugins list')")
    if backend is not None and owner is not backend:
        raise UsageError(f"model card '{card.name}' ({path}) is for backend '{owner.name}', not --backend "
                         f"'{backend.name}' (drop --backend, or pass a card of that backend)")
    if not owner.supports(data_card):
        raise UsageError(f"backend '{owner.name}' does not support task '{data_card.task}'")
    return owner, card


def _names(offered: list[tuple[Backend, ModelCard]]) -> list[str]:
    return [card.name for _, card in offered]
