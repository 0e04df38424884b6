"""Compatibility: ensembles moved to :mod:`automl_gpt.runs.ensemble`; import them from there.

Kept so that ``from automl_gpt.ensemble import EnsembleRequest`` (the path docs/plugins.md gave before) still works.
"""

from automl_gpt.runs.ensemble import Ensemble, EnsembleRequest, greedy_selection

__all__ = ["Ensemble", "EnsembleRequest", "greedy_selection"]
