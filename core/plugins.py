"""Finding, loading and listing plugins.

Plugins are ordinary packages that declare an entry point in the ``automl_gpt`` group; first-party plugins
are found exactly the same way. Each entry point loads on its own: one that fails to import is recorded with its
error and shown by ``plugins list``, and never breaks the CLI.

Environment switches:

``AUTOML_GPT_LOAD_PLUGINS``
    Comma-separated entry-point names to load; all others are skipped. Empty string loads none.
``AUTOML_GPT_BLOCK_PLUGINS``
    Comma-separated entry-point names never to load.
``AUTOML_GPT_TRACE_PLUGINS``
    ``1`` prints every hook call and result to stderr.
``AUTOML_GPT_STRICT_PLUGINS``
    ``1`` turns plugin load errors and unknown hook implementations into failures (for CI).
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import pluggy
from automl_gpt import hookspecs
from automl_gpt.errors import PluginError, UnknownNameError
from automl_gpt.llm import LLMProvider
from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend

if TYPE_CHECKING:
    from automl_gpt.planners.base import Planner, PlanningContext

ENTRY_POINT_GROUP = "automl_gpt"
BUILTIN_MODULES = (
    "automl_gpt.builtin.cards",
    "automl_gpt.builtin.prompt",
    "automl_gpt.builtin.planners",
    "automl_gpt.builtin.predictors",
    "automl_gpt.builtin.training",
)

@dataclass(frozen=True)
class PlannerInfo:
    """A planner's name as ``register_planners`` announces it: listed by ``plugins list``, checked by ``--planner``.

    Registering a name imports nothing; the ``plan_trials`` hook builds the :class:`Planner` when a run asks for
    it. ``requirements`` says what the planner needs installed (checked without importing anything).
    """

    name: str
    description: str = ""
    requirements: Requirements = field(default_factory=Requirements)

    def describe(self) -> dict[str, Any]:
        """What ``plugins list`` shows about this planner."""
        return {
            "name": self.name,
            "description": self.description,
            "available": self.requirements.available,
            "unavailable_reason": self.requirements.reason,
        }


@runtime_checkable
class DeclaresRequirements(Protocol):
    """A plugin module that says what it needs installed with a module-level ``requirements`` (optional; see
    docs/plugins.md): when they are missing, ``plugins list`` shows the plugin unavailable, with the install hint."""

    requirements: Requirements


T = TypeVar("T", Backend, LLMProvider, PlannerInfo)
# registration hook -> where ``plugins list --json`` shows what it registered (under ``provides``)
PROVIDES_KEYS = {"register_backends": "backends", "register_llm_providers": "llm_providers",
                 "register_planners": "planners"}


@dataclass
class PluginRecord:
    """What ``plugins list --json`` reports about one plugin (public API: add keys, never rename them)."""

    name: str
    module: str
    source: str
    version: str | None = None
    status: str = "loaded"
    error: str | None = None
    install_hint: str | None = None
    hooks: list[str] = field(default_factory=list)
    provides: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PluginManager:
    """A pluggy manager with automl-gpt's hook specs, resilient loading and the three registries."""

    def __init__(self, *, load_entry_points: bool = True, builtins: bool = True) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self._backends: dict[str, Backend] | None = None
        self._providers: dict[str, LLMProvider] | None = None
        self._planners: dict[str, PlannerInfo] | None = None
        self.strict = _flag("AUTOML_GPT_STRICT_PLUGINS")
        self.switch_problems: list[str] = []
        if _flag("AUTOML_GPT_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()
        if builtins:
            for module_name in BUILTIN_MODULES:
                self.register_module(importlib.import_module(module_name), source="builtin")
        if load_entry_points:
            self.load_entry_points()

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def register_module(self, module: ModuleType | object, *, name: str | None = None, source: str = "in-process",
                        version: str | None = None) -> PluginRecord:
        """Register an already imported plugin object (a module, or any object with hook implementations)."""
        # any object with hook implementations may be registered: only a module (or a class) has a __name__
        name = name or str(getattr(module, "__name__", type(module).__name__))
        record = PluginRecord(name=name, module=str(getattr(module, "__name__", name)), source=source, version=version)
        try:
            self.pm.register(module, name=name)
        except Exception as exc:  # pluggy raises ValueError/PluginValidationError on bad impls
            self._fail(record, exc)
            return record
        self._fill(record, module)
        self.records[name] = record
        self._backends = self._providers = self._planners = None
        return record

    def load_entry_points(self) -> None:
        """Load every entry point of the ``automl_gpt`` group, each on its own, honouring the switches."""
        selected = _names("AUTOML_GPT_LOAD_PLUGINS")
        blocked = _names("AUTOML_GPT_BLOCK_PLUGINS") or set()
        found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
        self._check_switch_names(selected, blocked, {ep.name for ep in found})
        for ep in found:
            if ep.name in self.records:
                continue
            record = PluginRecord(name=ep.name, module=ep.value, source="entry point", version=_version(ep))
            if (selected is not None and ep.name not in selected) or ep.name in blocked:
                record.status = "blocked"
                self.records[ep.name] = record
                continue
            try:
                module = ep.load()
            except Exception as exc:
                self._fail(record, exc)
                continue
            loaded = self.register_module(module, name=ep.name, source="entry point", version=record.version)
            loaded.module = ep.value

    def _check_switch_names(self, selected: set[str] | None, blocked: set[str], installed: set[str]) -> None:
        """Note switch values that name no installed plugin (typos); raises in strict mode."""
        known = ", ".join(sorted(installed)) or "none"
        for variable, names in (("AUTOML_GPT_LOAD_PLUGINS", selected or set()), ("AUTOML_GPT_BLOCK_PLUGINS", blocked)):
            for name in sorted(names - installed):
                problem = f"{variable} names '{name}', which is not an installed plugin (installed: {known})"
                if self.strict:
                    raise PluginError(problem)
                self.switch_problems.append(problem)

    # -- registries -------------------------------------------------------------------------------------

    def backends(self) -> dict[str, Backend]:
        """Every registered backend by name, available or not."""
        if self._backends is None:
            self._backends = self._collect("register_backends", Backend)
        return self._backends

    def providers(self) -> dict[str, LLMProvider]:
        """Every registered LLM provider by name, available or not."""
        if self._providers is None:
            self._providers = self._collect("register_llm_providers", LLMProvider)
        return self._providers

    def planners(self) -> dict[str, PlannerInfo]:
        """Every registered planner name, available or not."""
        if self._planners is None:
            self._planners = self._collect("register_planners", PlannerInfo)
        return self._planners

    def check_planner(self, name: str) -> None:
        """Fail early, naming the registered planners, when no plugin can answer for ``name``.

        A plugin that implements ``plan_trials`` without ``register_planners`` (written before planners announced
        their names) may own any name, so then only :meth:`planner` can tell.
        """
        if name in self.planners() or not self._unannounced_planner_plugins():
            self._lookup(self.planners(), name, "planner")

    def planner(self, name: str, context: PlanningContext) -> Planner:
        """Build the planner called ``name`` through the ``plan_trials`` hook, or fail with a clear error."""
        self.check_planner(name)
        built: Planner | None = self.hook.plan_trials(name=name, context=context)
        if built is not None:
            return built
        if name in self.planners():
            raise PluginError(f"planner '{name}' is registered, but no plan_trials implementation builds it "
                              "(misspelt hook? run 'automl-gpt plugins check')")
        raise self._unknown(self.planners(), name, "planner")

    def backend(self, name: str) -> Backend:
        """A backend by name, or a clear error naming the known ones and the install hint."""
        return self._lookup(self.backends(), name, "backend")

    def provider(self, name: str) -> LLMProvider:
        """An LLM provider by name, or a clear error naming the known ones and the install hint."""
        return self._lookup(self.providers(), name, "LLM provider")

    def plugin_records(self) -> list[PluginRecord]:
        """All plugins with what they provide; forces every registry so load errors show up."""
        self.backends()
        self.providers()
        self.planners()
        return sorted(self.records.values(), key=lambda r: (r.source != "builtin", r.name))

    # -- internals --------------------------------------------------------------------------------------

    def _lookup(self, registry: dict[str, T], name: str, what: str) -> T:
        if name not in registry:
            raise self._unknown(registry, name, what)
        item = registry[name]
        if not item.requirements.available:
            raise UnknownNameError(f"{what} '{name}' is unavailable: {item.requirements.reason}")
        return item

    def _unknown(self, registry: dict[str, T], name: str, what: str) -> UnknownNameError:
        """'unknown planner 'x' (known: ...)', pointing at broken plugins, which may be the ones meant."""
        known = ", ".join(sorted(registry)) or "none"
        broken = sorted(r.name for r in self.records.values() if r.status == "error")
        if broken:
            see = f"broken plugins: {', '.join(broken)}; run 'automl-gpt plugins check'"
        else:  # built-in planners show only with --all
            see = "see 'automl-gpt plugins list" + (" --all'" if what == "planner" else "'")
        return UnknownNameError(f"unknown {what} '{name}' (known: {known}; {see})")

    def _unannounced_planner_plugins(self) -> list[str]:
        """Plugins that build planners (``plan_trials``) without announcing their names (``register_planners``)."""
        announcing = {impl.plugin_name for impl in self.pm.hook.register_planners.get_hookimpls()}
        return [impl.plugin_name for impl in self.pm.hook.plan_trials.get_hookimpls()
                if impl.plugin_name not in announcing]

    def _collect(self, hook_name: str, kind: type[T]) -> dict[str, T]:
        registry: dict[str, T] = {}
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():  # pluggy: a hook is found by its name
            record = self.records.get(impl.plugin_name)
            found: list[T] = []
            try:
                impl.function(register=_registrar(kind, found))
            except Exception as exc:
                if record is not None:
                    self._fail(record, exc, during=hook_name)
                    continue
                raise
            for item in found:
                registry[item.name] = item
            if record is not None:
                record.provides[PROVIDES_KEYS[hook_name]] = [item.describe() for item in found]
                hints = [item.requirements.reason for item in found if not item.requirements.available]
                if hints and record.status == "loaded":
                    record.status = "unavailable"
                    record.error = hints[0]
                    record.install_hint = found[0].requirements.install_hint
        return registry

    def _fill(self, record: PluginRecord, module: object) -> None:
        record.hooks = sorted(caller.name for caller in self.pm.get_hookcallers(module) or [])
        unknown = self._unknown_hooks(module)
        if unknown:
            record.status = "error"
            record.error = unknown
            if self.strict:
                raise PluginError(f"plugin '{record.name}': {unknown}")
            return
        if not isinstance(module, DeclaresRequirements) or not isinstance(module.requirements, Requirements):
            return
        if not module.requirements.available:
            record.status = "unavailable"
            record.error = module.requirements.reason
            record.install_hint = module.requirements.install_hint

    def _unknown_hooks(self, plugin: object) -> str | None:
        """'unknown hook 'x' (did you mean 'y'?)' for implementations matching no hook spec; None when all do."""
        names = sorted(
            caller.name for caller in self.pm.get_hookcallers(plugin) or []
            if caller.spec is None and any(i.plugin is plugin and not i.optionalhook for i in caller.get_hookimpls())
        )
        if not names:
            return None
        specs = hook_spec_names()
        parts = []
        for name in names:
            close = difflib.get_close_matches(name, specs, n=1)
            parts.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return f"unknown hook {', '.join(parts)}: pluggy never calls it"

    def _fail(self, record: PluginRecord, exc: BaseException, during: str = "import") -> None:
        record.status = "error"
        record.error = f"{during} failed: {type(exc).__name__}: {exc}"
        self.records[record.name] = record
        if self.strict:
            raise PluginError(f"plugin '{record.name}': {record.error}") from exc
        if _flag("AUTOML_GPT_DEBUG"):
            traceback.print_exception(exc, file=sys.stderr)


_manager: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, created (and plugins loaded) on first use."""
    global _manager
    if _manager is None:
        _manager = PluginManager()
    return _manager


def set_plugin_manager(manager: PluginManager | None) -> None:
    """Replace the process-wide manager (tests use this to load plugins in-process)."""
    global _manager
    _manager = manager


def hook_spec_names() -> list[str]:
    """The names of every hook in :mod:`automl_gpt.hookspecs`."""
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return sorted(name for name, value in vars(hookspecs).items() if callable(value) and hasattr(value, marker))


def _registrar(kind: type[T], found: list[T]) -> Callable[[T], None]:
    """The ``register`` callback a registration hook gets: it checks each item's type and adds it to ``found``."""

    def register(item: T) -> None:
        if not isinstance(item, kind):
            raise PluginError(f"registered {item!r}, which is not a {kind.__name__}")
        found.append(item)

    return register


def _names(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _flag(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


def _version(ep: EntryPoint) -> str | None:
    return ep.dist.version if ep.dist is not None else None

