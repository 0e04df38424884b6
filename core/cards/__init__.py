"""Cards: the validated inputs of every experiment.

A data card describes a dataset, a model card a model and its typed search space (:mod:`.search_space`);
:mod:`.model_choice` unites several model cards into one space, :mod:`.similarity` measures how alike two data
cards are, and :mod:`.draft` writes a data card from a data file. This package imports nothing from the planners,
the runs or the CLI. The names below are the card API plugins import (``from automl_gpt.cards import DataCard``).
"""

from automl_gpt.cards.card import (
    TASKS,
    ColumnInfo,
    ColumnType,
    DataCard,
    DataSplit,
    ModelCard,
    Task,
    card_from_mapping,
    card_kind,
    load_card,
    load_data_card,
    load_model_card,
    read_card_file,
    safe_yaml,
)
from automl_gpt.cards.search_space import SearchSpace

__all__ = [
    "TASKS",
    "ColumnInfo",
    "ColumnType",
    "DataCard",
    "DataSplit",
    "ModelCard",
    "SearchSpace",
    "Task",
    "card_from_mapping",
    "card_kind",
    "load_card",
    "load_data_card",
    "load_model_card",
    "read_card_file",
    "safe_yaml",
]
