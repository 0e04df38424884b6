"""``automl-gpt plugins new``: a ready plugin package written from the templates in ``plugin_templates/``.

Each kind is a working example that installs with ``pip install -e`` and passes its own conformance test: a
``backend`` (softmax regression with NumPy, with its model card), a ``planner`` (local search around the best
configuration so far) and an ``llm`` provider (any OpenAI-compatible server over plain HTTP).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from automl_gpt import __version__
from automl_gpt.errors import UsageError

KINDS = ("backend", "planner", "llm")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")

# file in the new package -> its template (``plugin_templates/<template>.tmpl``)
FILES: dict[str, dict[str, str]] = {
    "backend": {
        "{module}/__init__.py": "backend_init.py",
        "{module}/backend.py": "backend.py",
        "{module}/trainer.py": "backend_trainer.py",
        "{module}/predictor.py": "backend_predictor.py",
        "{module}/model_cards/{name}.yaml": "backend_card.yaml",
        "tests/test_{module}.py": "backend_test.py",
    },
    "planner": {
        "{module}/__init__.py": "planner_init.py",
        "{module}/planner.py": "planner.py",
        "tests/test_{module}.py": "planner_test.py",
    },
    "llm": {
        "{module}/__init__.py": "llm_init.py",
        "{module}/provider.py": "llm_provider.py",
        "tests/test_{module}.py": "llm_test.py",
    },
}
COMMON_FILES = {"pyproject.toml": "pyproject.toml", "README.md": "README.md"}
DESCRIPTIONS = {
    "backend": "a task backend for automl-gpt (softmax regression with NumPy on CSV tables, to start from)",
    "planner": "a planner for automl-gpt (local search around the best configuration so far, to start from)",
    "llm": "an LLM provider for automl-gpt (any OpenAI-compatible chat-completions server, to start from)",
}
DEPENDENCIES = {"backend": ', "numpy>=1.24", "pandas>=2.0"', "planner": "", "llm": ""}
USAGE = {
    "backend": "Use it: `automl-gpt cards init data.csv --target label > card.yaml`, then "
               "`automl-gpt run card.yaml --backend ${name} --planner tpe --budget 10`.",
    "planner": "Use it: `automl-gpt run card.yaml --planner ${name} --budget 10`.",
    "llm": "Use it: `${env_prefix}_BASE_URL=http://127.0.0.1:8080/v1 automl-gpt run card.yaml --llm ${name}:MODEL`; "
           "the tests run the provider conformance suite against that server when the variable is set.",
}
PROVIDES = {"backend": "backend:${name}", "planner": "planner:${name}", "llm": "llm:${name}"}


@dataclass(frozen=True)
class PluginNames:
    """The names one plugin goes by: distribution, import package, entry point, class prefix, env variables."""

    name: str  # the backend, planner or provider name users type (``--backend``, ``--planner``, ``--llm``)
    dist: str  # the distribution (``pip install``), same as ``name``
    module: str  # the import package, also the entry-point name shown by ``plugins list``
    title: str  # class-name prefix
    env_prefix: str  # environment variables of an llm provider

    @classmethod
    def from_name(cls, name: str) -> PluginNames:
        if not NAME_PATTERN.match(name):
            raise UsageError(f"bad plugin name '{name}': use lower-case letters and digits, words joined by '-' "
                             "(e.g. acme-forest)")
        dist = name.replace("_", "-")
        module = dist.replace("-", "_")
        return cls(dist, dist, module, "".join(part.capitalize() for part in dist.split("-")), module.upper())


def write_plugin(name: str, kind: str, out: Path) -> tuple[Path, list[Path]]:
    """Write the package of a new ``kind`` plugin called ``name`` into ``out/<name>``; return it and its files."""
    if kind not in KINDS:
        raise UsageError(f"unknown plugin kind '{kind}' (known: {', '.join(KINDS)})")
    names = PluginNames.from_name(name)
    root = out / names.dist
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageError(f"{root} already exists and is not empty: choose another NAME or --out")
    values = {**vars(names), "kind": kind, "description": DESCRIPTIONS[kind], "core_version": __version__,
              "dependencies": DEPENDENCIES[kind]}
    values["usage"] = Template(USAGE[kind]).substitute(values)
    values["provides"] = Template(PROVIDES[kind]).substitute(values)
    written = []
    for target, template in {**COMMON_FILES, **FILES[kind]}.items():
        path = root / target.format(**values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(_template(template)).substitute(values), encoding="utf-8")
        written.append(path)
    return root, written


def _template(name: str) -> str:
    return resources.files("automl_gpt").joinpath("plugin_templates", f"{name}.tmpl").read_text(encoding="utf-8")
