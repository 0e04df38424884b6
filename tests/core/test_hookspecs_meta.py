"""Meta-tests: every hook spec is typed, documented in its docstring and in docs/plugins.md, and tested."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from automl_gpt import hookspecs
from automl_gpt.plugins import hook_spec_names

TESTS = Path(__file__).resolve().parents[1]


def test_hook_list_is_the_documented_one() -> None:
    assert hook_spec_names() == sorted(
        [
            "register_llm_providers",
            "register_backends",
            "register_planners",
            "parse_card",
            "draft_card",
            "build_prompt",
            "build_log_prompt",
            "plan_trials",
            "run_training",
            "predict_training_log",
        ]
    )


@pytest.mark.parametrize("name", hook_spec_names())
def test_hook_has_a_test(name: str) -> None:
    pattern = re.compile(rf"^\s*def test_hook_{name}\b", re.MULTILINE)
    found = [p for p in TESTS.rglob("test_*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert found, f"hook '{name}' has no test: add 'def test_hook_{name}(...)' under tests/"


@pytest.mark.parametrize("name", hook_spec_names())
def test_hook_is_documented(name: str, repo: Path) -> None:
    docs = (repo / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert f"### `{name}`" in docs, f"hook '{name}' has no '### `{name}`' section in docs/plugins.md"
    spec = getattr(hookspecs, name)
    assert inspect.getdoc(spec), f"hook '{name}' has no docstring"
    signature = inspect.signature(spec)
    assert signature.return_annotation is not inspect.Signature.empty, f"hook '{name}' has no return type"
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
    assert f"{name}(" in docs.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0], (
        f"the docs section of '{name}' shows no call signature"
    )
