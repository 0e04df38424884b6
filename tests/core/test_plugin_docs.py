"""docs/plugins.md against the code, both ways: hooks, built-in planners, and every type that crosses a hook.

Forward: every hook, type, field, method and constructor named in the docs exists. Reverse: every hook spec and
built-in planner is named, and every type a hook signature reaches (through dataclass fields and public method
signatures) has its own section. The pdoc API reference builds with the documented command.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from automl_gpt import hookspecs
from automl_gpt.builtin.planners import BUILTIN_PLANNERS
from automl_gpt.plugins import hook_spec_names
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]
DOCS = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
# the modules that define the classes that may cross a hook
TYPE_MODULES = ("automl_gpt.training", "automl_gpt.prediction", "automl_gpt.runs.ensemble", "automl_gpt.planners.base",
                "automl_gpt.plugins", "automl_gpt.llm.provider", "automl_gpt.cards.card",
                "automl_gpt.cards.search_space", "automl_gpt.requirements", "automl_gpt.errors")
HEADING = re.compile(r"^#### `(automl_gpt(?:\.\w+)+)`\n(.*?)(?=^#{2,4} |\Z)", re.MULTILINE | re.DOTALL)
ROW = re.compile(r"^\| (`[^|]*?`(?: / `[^|]*?`)?) \|", re.MULTILINE)


def documented() -> dict[str, str]:
    """Section body by dotted name, for every ``#### `automl_gpt...``` heading."""
    return {match.group(1): match.group(2) for match in HEADING.finditer(DOCS)}


def resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise LookupError(dotted)


def has_member(owner: Any, name: str) -> bool:
    if dataclasses.is_dataclass(owner) and name in {f.name for f in dataclasses.fields(owner)}:
        return True
    if isinstance(owner, type) and issubclass(owner, BaseModel) and name in owner.model_fields:
        return True
    return hasattr(owner, name)


def namespace() -> dict[str, type]:
    """Public classes of the type modules, by name."""
    found: dict[str, type] = {}
    for module_name in TYPE_MODULES:
        for name, value in vars(importlib.import_module(module_name)).items():
            if inspect.isclass(value) and value.__module__ == module_name and not name.startswith("_"):
                found[name] = value
    return found


def referenced(texts: list[str], known: dict[str, type]) -> set[str]:
    return {name for text in texts for name in re.findall(r"\b[A-Z]\w+", text) if name in known}


def reachable_types() -> set[str]:
    """Types in hook signatures, and what their fields and public methods reach (cards: documented in cards.md)."""
    known = namespace()
    todo: set[str] = set()
    for name in hook_spec_names():
        signature = inspect.signature(getattr(hookspecs, name))
        todo |= referenced([str(p.annotation) for p in signature.parameters.values()], known)
        todo |= referenced([str(signature.return_annotation)], known)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        seen.add(name)
        cls = known[name]
        if issubclass(cls, BaseModel):
            continue
        texts = [str(f.type) for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
        for member_name, member in vars(cls).items():
            member = member.fget if isinstance(member, property) else member
            if member_name.startswith("_") or not callable(member):
                continue
            signature = inspect.signature(member)
            texts += [str(p.annotation) for p in signature.parameters.values()] + [str(signature.return_annotation)]
        todo |= referenced(texts, known) - seen
    return seen


def test_every_type_field_and_method_in_the_docs_exists() -> None:
    sections = documented()
    assert len(sections) >= 25, "the types section went missing"
    for dotted, body in sections.items():
        owner = resolve(dotted)
        for cell in ROW.findall(body):
            for member in re.findall(r"`([A-Za-z_]\w*)(\(?)", cell):
                name, is_call = member
                if name in {"member", "field"}:
                    continue
                assert has_member(owner, name), f"docs/plugins.md: {dotted} has no member '{name}'"
                if is_call:
                    assert callable(getattr(owner, name)), f"docs/plugins.md: {dotted}.{name} is not a method"


def test_documented_constructors_match_their_signatures() -> None:
    for dotted, body in documented().items():
        short = dotted.rsplit(".", 1)[1]
        shown = re.search(rf"`{short}\(([^`]*)\)", body)
        if shown is None:
            continue
        documented_names = set(re.findall(r"(?:^|, )\*?([a-z_]\w*)(?==|,|$)", shown.group(1)))
        try:
            parameters = inspect.signature(resolve(dotted)).parameters
        except ValueError:  # an exception class without its own __init__: it takes the message positionally
            continue
        assert documented_names <= set(parameters), (
            f"docs/plugins.md shows {short}({shown.group(1)}); the code takes {list(parameters)}"
        )


def test_every_type_a_hook_reaches_has_a_section() -> None:
    named = {dotted.rsplit(".", 1)[1] for dotted in documented()}
    missing = sorted(reachable_types() - named)
    assert not missing, f"types that cross a hook without a '#### `automl_gpt.<module>.<Name>`' section: {missing}"


def test_hooks_in_the_docs_are_the_hook_specs() -> None:
    table = set(re.findall(r"^\| `(\w+)` \| (?:registration|firstresult|all results) \|", DOCS, re.MULTILINE))
    hooks_part = DOCS.split("## Hooks", 1)[1].split("\n## ", 1)[0]
    sections = set(re.findall(r"^### `(\w+)`", hooks_part, re.MULTILINE))
    specs = set(hook_spec_names())
    assert table == specs, f"hooks table of docs/plugins.md: {sorted(table)}; hook specs: {sorted(specs)}"
    assert sections == specs, f"'### `hook`' sections of docs/plugins.md: {sorted(sections)}; specs: {sorted(specs)}"


def test_builtin_planners_in_the_docs_are_the_registered_ones() -> None:
    builtin = [info.name for info in BUILTIN_PLANNERS]
    listed = re.search(r"Built-in names: ((?:`\w+`,? ?)+)", DOCS.replace("\n", " "))
    assert listed is not None, "docs/plugins.md lost its 'Built-in names: ...' sentence"
    named = re.findall(r"`(\w+)`", listed.group(1))
    assert named == builtin, f"docs/plugins.md names built-in planners {named}; registered: {builtin}"
    row = re.search(r"^\| `register_planners` .*\| (.*) \|$", DOCS, re.MULTILINE)
    assert row is not None, "docs/plugins.md lost the register_planners row of its hooks table"
    assert re.findall(r"`(\w+)`", row.group(1)) == builtin, f"hooks table row: {row.group(0)}; registered: {builtin}"


def test_the_documented_pdoc_command_builds_the_api_reference(tmp_path: Path) -> None:
    command = re.search(r"^pdoc -o docs/api (.+)$", DOCS, re.MULTILINE)
    assert command is not None, "docs/plugins.md lost its pdoc command"
    modules = shlex.split(command.group(1))
    done = subprocess.run([sys.executable, "-m", "pdoc", "-o", str(tmp_path), *modules], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    for dotted in documented():
        module = next(m for m in sorted(modules, key=len, reverse=True) if dotted.startswith(m + "."))
        page = tmp_path / (module.replace(".", "/") + ".html")
        name = dotted[len(module) + 1:]
        assert f'id="{name}"' in page.read_text(encoding="utf-8"), f"{name} is not in the API reference {page}"
    testing = (tmp_path / "automl_gpt" / "testing.html").read_text(encoding="utf-8")
    for suite in ("BackendConformance", "ProviderConformance", "PlannerConformance", "plugins_loaded"):
        assert suite in testing
    assert "register_planners" in (tmp_path / "automl_gpt" / "hookspecs.html").read_text(encoding="utf-8")

