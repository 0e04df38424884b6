"""Drafting a data card from a data file (``automl-gpt cards init``): the part that knows no data format.

Plugins read the files, through the ``draft_card`` hook: the tabular plugin drafts CSV/Parquet tables (and answers
last, for every file no other plugin claims), the vision plugin COCO annotation files. This module asks them
(:func:`draft_card`, one error line when none answers), explains a draft (:func:`draft_notes`: the task guessed
from the target, too little data), rewrites its paths for where it is saved (:func:`relocate`) and writes it as
commented YAML (:func:`draft_yaml`).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from automl_gpt.cards import DataCard, card_from_mapping
from automl_gpt.errors import DataError, UsageError

NO_DRAFTER_HINT = (
    "a CSV or Parquet table is drafted by the tabular plugin: pip install 'automl-gpt[tabular]'; a COCO annotation "
    "file by the vision plugin: pip install 'automl-gpt[vision]'; 'automl-gpt plugins list' shows blocked or broken "
    "plugins"
)


def draft_card(
    path: Path, *, target: str | None = None, task: str | None = None, name: str | None = None,
    test: Path | None = None, images: Path | None = None,
) -> DataCard:
    """A data card drafted from the data file ``path`` by the first plugin whose ``draft_card`` answers.

    The other arguments are what the user passed (``cards init --target/--task/--name/--test/--images``). Raises
    :class:`~automl_gpt.errors.DataError` for a missing file and :class:`~automl_gpt.errors.UsageError` when no
    plugin drafts this kind of file (naming the extra to install); plugins raise their own one-line errors.
    """
    from automl_gpt.plugins import get_plugin_manager

    if not path.exists():
        raise DataError(f"{path}: file not found (check the path)")
    card: DataCard | None = get_plugin_manager().hook.draft_card(
        path=path, target=target, task=task, name=name, test=test, images=images
    )
    if card is None:
        raise UsageError(f"{path}: no installed plugin drafts a card from this file ({NO_DRAFTER_HINT})")
    return card


def draft_yaml(card: DataCard, source: Path) -> str:
    """The drafted card as YAML under a comment that names ``source`` and explains the draft (:func:`draft_notes`);
    empty per-column description slots and empty read options are left out."""
    lines = [
        f"Data card drafted by 'automl-gpt cards init' from {source.name}.",
        "Check task, target and label_space, and write a description: it goes into the LLM's prompt.",
        *draft_notes(card),
    ]
    header = "".join("# " + " ".join(line.split()) + "\n" for line in lines)  # a newline in a name stays a comment
    data = card.model_dump(mode="json", exclude_none=True)
    for info in (data.get("columns") or {}).values():
        if not info.get("description"):
            info.pop("description", None)
    if not data.get("read_options"):
        data.pop("read_options", None)
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def draft_notes(card: DataCard) -> list[str]:
    """Why a drafted table's card says what it says (the task guessed from the target, too little data), one
    sentence each, for the comment above the card; empty for a card without a target column."""
    target = card.target
    info = (card.columns or {}).get(target or "")
    if not target or info is None:
        return []
    values = info.unique
    if card.task == "regression":
        notes = [f"task regression: target '{target}' is numeric with {values} distinct values "
                 "(for classes write task: multiclass)."]
    elif card.task == "binary":
        notes = [f"task binary: target '{target}' has 2 distinct values."]
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in card.label_space or []):
        notes = [f"task multiclass: target '{target}' holds {values} distinct whole numbers; if they are amounts "
                 "on a scale rather than classes, write task: regression and delete label_space and class_balance."]
    else:
        notes = [f"task {card.task}: target '{target}' has {values} distinct labels."]
    counts = {label: round(share * (card.n_rows or 0)) for label, share in (card.class_balance or {}).items()}
    warning = small_data_warning(card.n_rows or 0, counts if card.task != "regression" else None)
    return notes + ([f"warning: {warning}."] if warning else [])


MIN_ROWS = 30  # below this a validation split (20 %) holds a handful of rows
MIN_ROWS_PER_CLASS = 10  # about 2 rows of the class in a 20 % validation split


def small_data_warning(n_rows: int, class_counts: dict[str, int] | None = None) -> str | None:
    """A sentence when a table is too small to validate a model on (None when it is large enough):
    fewer than ``MIN_ROWS`` rows, or a class with fewer than ``MIN_ROWS_PER_CLASS``."""
    if n_rows < MIN_ROWS:
        return f"only {n_rows} rows: too few to validate a model on, so validation scores will be noise (add rows)"
    rare = {label: count for label, count in (class_counts or {}).items() if count < MIN_ROWS_PER_CLASS}
    if rare:
        label, count = min(rare.items(), key=lambda item: item[1])
        return (f"class '{label}' has only {count} rows: too few to validate on, so scores on it will be noise "
                "(add rows, or merge rare classes)")
    return None


def relocate(card: DataCard, folder: str | Path) -> DataCard:
    """The card with its relative file paths (relative to the working folder) rewritten relative to ``folder``.

    ``cards init --out DIR/card.yaml`` uses it so that the card finds its files from where it is saved.
    """
    data = card.model_dump(exclude_none=True)
    for split in ("train", "valid", "test"):
        entry = data.get(split)
        if not entry:
            continue
        for key in ("path", "images"):
            if entry.get(key) and not Path(entry[key]).is_absolute():
                entry[key] = os.path.relpath(Path(entry[key]).resolve(), Path(folder).resolve())
    return card_from_mapping(DataCard, data)
