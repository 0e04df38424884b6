"""Test helpers for plugin authors: in-process plugin loading and conformance suites.

Use in a plugin's tests::

    from automl_gpt.testing import BackendConformance

    class TestMyBackend(BackendConformance):
        @pytest.fixture
        def backend(self):
            return MyBackend()

        @pytest.fixture
        def data_card(self, tmp_path):
            return DataCard(...)   # a small dataset, trained in seconds

The first-party backends and providers pass the same suites. ``PlannerConformance`` checks a planner plugin
through its hooks. Suites in sub-modules are registered for pytest's assertion rewriting, so a failed check shows
the values it compared, as in your own tests.
"""

from __future__ import annotations

import pytest

# before the suites are imported, so pytest rewrites their asserts (a failed check shows the values it compared)
pytest.register_assert_rewrite("automl_gpt.testing.conformance", "automl_gpt.testing.planners")

from automl_gpt.testing.conformance import BackendConformance, ProviderConformance, train
from automl_gpt.testing.loading import plugins_loaded
from automl_gpt.testing.planners import PlannerConformance

__all__ = ["BackendConformance", "PlannerConformance", "ProviderConformance", "plugins_loaded", "train"]
