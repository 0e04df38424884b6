"""Compatibility: model choice moved to :mod:`automl_gpt.cards.model_choice`; import it from there.

Kept so that ``from automl_gpt.model_choice import ModelChoice`` (the path docs/plugins.md gave before) still works.
"""

from automl_gpt.cards.model_choice import ModelChoice

__all__ = ["ModelChoice"]
