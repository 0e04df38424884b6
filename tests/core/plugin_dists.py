"""Throwaway third-party plugins for tests: real distributions (dist-info with entry points) on a path entry.

``write_dist`` lays out what ``pip install`` leaves in site-packages (the modules, and a ``.dist-info`` folder with
``METADATA`` and ``entry_points.txt``), so :mod:`importlib.metadata` finds the plugin exactly as it finds an
installed one; put the folder on ``sys.path`` (in-process) or ``PYTHONPATH`` (subprocess).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

GOOD_PLUGIN = '''
"""A third-party plugin: one backend and one LLM provider."""
from automl_gpt import hookimpl
from automl_gpt.llm import LLMProvider
from automl_gpt.training import Backend, Objective


class EchoBackend(Backend):
    name = "echo"
    tasks = frozenset({"binary"})

    def model_cards(self):
        return []

    def objective(self, data_card):
        return Objective("logloss", "minimize")


class EchoProvider(LLMProvider):
    name = "echo-llm"
    default_model = "echo-1"


@hookimpl
def register_backends(register):
    register(EchoBackend())


@hookimpl
def register_llm_providers(register):
    register(EchoProvider())
'''

RAISES_ON_IMPORT = """
raise RuntimeError("boom at import")
"""

RAISES_IN_REGISTER = """
from automl_gpt import hookimpl


@hookimpl
def register_backends(register):
    raise ValueError("boom in register_backends")
"""

TYPO_HOOK = '''
from automl_gpt import hookimpl


@hookimpl
def register_backend(register):
    """A typo: the hook is register_backends."""
'''

PLANNER_PLUGIN = '''
"""A third-party planner that announces its name and builds it."""
from automl_gpt import hookimpl
from automl_gpt.planners.base import Candidate, Planner
from automl_gpt.planners import PlannerInfo


class GreedyDefaults(Planner):
    name = "greedy"

    def __init__(self, context):
        self.context = context

    def ask(self, n):
        return [Candidate(self.context.space.defaults(), source="greedy")][:n]


@hookimpl
def register_planners(register):
    register(PlannerInfo("greedy", "the defaults, greedily"))


@hookimpl
def plan_trials(name, context):
    return GreedyDefaults(context) if name == "greedy" else None
'''

PLANNER_TYPO = '''
"""A planner plugin with a misspelt factory hook: plan_trial."""
from automl_gpt import hookimpl
from automl_gpt.planners import PlannerInfo


@hookimpl
def register_planners(register):
    register(PlannerInfo("greedy"))


@hookimpl
def plan_trial(name, context):
    return None
'''

NEEDS_MISSING_EXTRA = """
from automl_gpt import hookimpl
from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend

requirements = Requirements(package="acme-plugins", extra="quantum", modules=("surely_not_installed_module_xyz",))


class QuantumBackend(Backend):
    name = "quantum"
    tasks = frozenset({"regression"})
    requirements = requirements


@hookimpl
def register_backends(register):
    register(QuantumBackend())
"""


def write_dist(root: Path, dist: str, plugins: dict[str, str], version: str = "1.0") -> Path:
    """Write a distribution ``dist`` whose entry points ``name -> module`` load the given module sources.

    ``plugins`` maps an entry-point name to the source of its module (named ``<dist>_<name>``). Returns ``root``.
    """
    root.mkdir(parents=True, exist_ok=True)
    info = root / f"{dist}-{version}.dist-info"
    info.mkdir()
    lines = ["[automl_gpt]"]
    for name, source in plugins.items():
        module = f"{dist}_{name}"
        (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        lines.append(f"{name} = {module}")
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (info / "top_level.txt").write_text("\n".join(f"{dist}_{n}" for n in plugins) + "\n", encoding="utf-8")
    return root


def write_package(root: Path, dist: str, module: str, source: str, version: str = "0.3") -> Path:
    """A buildable source tree (pyproject.toml + one module) declaring an ``automl_gpt`` entry point."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    (root / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "{version}"

        [project.entry-points.automl_gpt]
        {dist.replace("-", "_")} = "{module}"

        [tool.setuptools]
        py-modules = ["{module}"]
        """),
        encoding="utf-8",
    )
    return root
