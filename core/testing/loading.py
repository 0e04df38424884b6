"""Loading plugins in-process for a test: a fresh process-wide plugin manager, put back afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from automl_gpt.plugins import PluginManager, set_plugin_manager


@contextmanager
def plugins_loaded(*plugins: ModuleType | object, entry_points: bool = False) -> Iterator[PluginManager]:
    """Make a fresh process-wide plugin manager with the built-ins plus ``plugins``, registered in-process."""
    manager = PluginManager(load_entry_points=entry_points)
    for plugin in plugins:
        manager.register_module(plugin)
    set_plugin_manager(manager)
    try:
        yield manager
    finally:
        set_plugin_manager(None)
