"""Compatibility: the LLM client moved to :mod:`automl_gpt.llm.client`; import from there.

Kept so that ``from automl_gpt.llm_client import http_error`` (the path docs/plugins.md gave before) still works.
"""

from automl_gpt.llm.client import http_error

__all__ = ["http_error"]
