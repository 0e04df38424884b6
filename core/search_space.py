"""Compatibility: search spaces moved to :mod:`automl_gpt.cards.search_space`; import them from there.

Kept so that ``from automl_gpt.search_space import SearchSpace`` (the path docs/plugins.md gave before) still works.
"""

from automl_gpt.cards.search_space import CategoricalParam, FloatParam, IntParam, Param, Repair, SearchSpace
from automl_gpt.errors import SearchSpaceError

__all__ = ["CategoricalParam", "FloatParam", "IntParam", "Param", "Repair", "SearchSpace", "SearchSpaceError"]
