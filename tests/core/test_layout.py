"""The package layout of ``automl_gpt``: no import cycles, and imports only point down the layers.

Layers, top to bottom (a module may import its own layer and the layers below):

4. ``automl_gpt`` itself (the ``run`` facade), ``cli``, ``builtin`` (the built-in plugins), ``testing``
3. ``runs``: loop, store, options, report, experience, ensemble, estimator
2. ``planners``: the ask/tell protocol, baselines, the LLM planner, transfer, predictors
1. ``cards``, ``llm``, and ``plugins`` (the registry: cards load through hooks, the client looks up providers)
0. the other top-level modules: errors, paths, files, progress, requirements, training, prediction, hookspecs...

The re-export modules that keep the old plugin import paths working (``automl_gpt.planning``...) sit on top;
first-party code never imports them.

Every ``import`` counts, at module level or inside a function (an import moved into a function to dodge a cycle is
still a cycle); only imports under ``if TYPE_CHECKING:`` are left out, since they never run. Importing
``automl_gpt.a.b`` runs ``automl_gpt/a/__init__.py`` first, so it also counts as importing ``automl_gpt.a``.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import automl_gpt

CORE = Path(automl_gpt.__file__).parent
REPO = CORE.parent
# the paths plugins imported before the packages, as docs/plugins.md gave them -> where the names live now
COMPAT = {"automl_gpt.planning": "automl_gpt.planners", "automl_gpt.search_space": "automl_gpt.cards.search_space",
          "automl_gpt.ensemble": "automl_gpt.runs.ensemble", "automl_gpt.model_choice": "automl_gpt.cards.model_choice",
          "automl_gpt.llm_client": "automl_gpt.llm.client"}
LAYERS = {"cards": 1, "llm": 1, "plugins": 1, "planners": 2, "runs": 3, "cli": 4, "builtin": 4, "testing": 4,
          "__main__": 4, **{old.split(".")[1]: 4 for old in COMPAT}}  # re-export modules sit on top, like a facade


def module_files() -> dict[str, Path]:
    """Every module of the package by its dotted name."""
    found = {}
    for path in sorted(CORE.rglob("*.py")):
        parts = ["automl_gpt", *path.relative_to(CORE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_names(name: str, path: Path) -> set[str]:
    """The dotted names ``path`` imports, anywhere in it except under ``if TYPE_CHECKING:``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_only(child):
                for other in child.orelse:
                    visit_one(other)
            else:
                visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names.update(f"{base}.{alias.name}" for alias in node.names)  # a sub-module, or an attribute of base
        else:
            visit(node)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``automl_gpt`` modules it imports (with the packages whose ``__init__`` that runs)."""
    modules = module_files()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        own = {name.rsplit(".", k)[0] for k in range(name.count(".") + 1)}  # packages being imported already
        targets = set()
        for dotted in imported_names(name, path):
            while dotted and dotted not in modules:
                dotted = dotted.rpartition(".")[0]
            if not dotted.startswith("automl_gpt") or dotted == name:
                continue
            targets.add(dotted)
            parts = dotted.split(".")
            targets.update(".".join(parts[:k]) for k in range(2, len(parts)) if ".".join(parts[:k]) not in own)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (cycle := walk(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := walk(start)):
            return cycle
    return None


def layer(module: str) -> int:
    parts = module.split(".")
    return 4 if len(parts) == 1 else LAYERS.get(parts[1], 0)


def test_the_graph_sees_function_level_imports_and_packages() -> None:
    graph = import_graph()
    assert "automl_gpt.runs.loop" in graph["automl_gpt"]  # automl_gpt.run() imports the loop inside the function
    assert "automl_gpt.cards" in graph["automl_gpt.runs.store"]  # cards.model_choice runs cards/__init__ first
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, f"import cycle: {' -> '.join(cycle or [])} (break it by moving what both need lower)"


def test_imports_point_down_the_layers() -> None:
    upward = sorted(f"{source} (layer {layer(source)}) imports {target} (layer {layer(target)})"
                    for source, targets in import_graph().items() for target in targets
                    if target != "automl_gpt" and layer(target) > layer(source))
    assert not upward, "imports against the layers (see tests/core/test_layout.py):\n" + "\n".join(upward)


def test_the_documented_plugin_imports_work() -> None:
    from automl_gpt.cards import DataCard, ModelCard, SearchSpace, card_from_mapping, load_data_card
    from automl_gpt.cards.card import DataCard as card_module_data_card
    from automl_gpt.cards.search_space import SearchSpace as search_space
    from automl_gpt.llm import GenerationSettings, LLMModel, LLMProvider, LLMResponse, Usage
    from automl_gpt.llm.provider import LLMProvider as provider
    from automl_gpt.planners import PlannerInfo, PlanningContext, RandomPlanner, TPEPlanner, config_key
    from automl_gpt.planners.baselines import TPEPlanner as baseline_tpe
    from automl_gpt.plugins import PlannerInfo as registry_planner_info

    assert DataCard is card_module_data_card and SearchSpace is search_space and LLMProvider is provider
    assert TPEPlanner is baseline_tpe and PlannerInfo is registry_planner_info
    assert config_key({"b": 1, "a": 2}) == config_key({"a": 2, "b": 1})
    assert all(callable(name) for name in (ModelCard, card_from_mapping, load_data_card, GenerationSettings, LLMModel,
                                           LLMResponse, Usage, PlanningContext, RandomPlanner))


def test_every_import_shown_in_the_plugin_docs_works() -> None:
    text = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"^ *from (automl_gpt[\w.]*) import ([\w, ]+)$", text, re.MULTILINE))
    assert len(shown) >= 5, "docs/plugins.md shows fewer imports than expected: did the pattern break?"
    for module, names in shown:
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(importlib.import_module(module), name), f"docs/plugins.md: from {module} import {name}"


def test_old_plugin_import_paths_re_export_the_same_objects() -> None:
    for old, new in COMPAT.items():
        module = importlib.import_module(old)
        assert module.__all__, old
        for name in module.__all__:
            home = importlib.import_module("automl_gpt.errors" if name.endswith("Error") else new)
            assert getattr(module, name) is getattr(home, name), f"{old}.{name} is not {new}.{name}"


def test_first_party_code_imports_the_new_paths() -> None:
    importers = {source for source, targets in import_graph().items() if targets & set(COMPAT)}
    for path in sorted((REPO / "plugins").rglob("*.py")):
        if imported_names(path.stem, path) & {f"{old}.{name}" for old in COMPAT
                                              for name in importlib.import_module(old).__all__}:
            importers.add(str(path.relative_to(REPO)))
    assert not importers, f"import the new paths, not the re-export modules {sorted(COMPAT)}: {sorted(importers)}"
