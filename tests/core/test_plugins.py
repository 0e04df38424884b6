"""The plugin manager: entry-point loading, the load/block/trace/strict switches, broken plugins, registries."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from automl_gpt import hookimpl
from automl_gpt.errors import PluginError, UnknownNameError
from automl_gpt.plugins import BUILTIN_MODULES, PluginManager
from automl_gpt.training import Backend

from .plugin_dists import (
    GOOD_PLUGIN,
    NEEDS_MISSING_EXTRA,
    PLANNER_PLUGIN,
    PLANNER_TYPO,
    RAISES_IN_REGISTER,
    RAISES_ON_IMPORT,
    TYPO_HOOK,
    write_dist,
)

PLUGINS = {
    "acme": GOOD_PLUGIN,
    "explodes": RAISES_ON_IMPORT,
    "badreg": RAISES_IN_REGISTER,
    "typo": TYPO_HOOK,
    "quantum": NEEDS_MISSING_EXTRA,
    "greedy": PLANNER_PLUGIN,
}
OURS = ",".join(PLUGINS)


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test distribution ``acme-plugins`` on sys.path; only its entry points load (first-party ones skip)."""
    root = write_dist(tmp_path / "site", "acme_plugins", PLUGINS, version="2.5")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("AUTOML_GPT_LOAD_PLUGINS", OURS)
    for name in ("AUTOML_GPT_BLOCK_PLUGINS", "AUTOML_GPT_STRICT_PLUGINS", "AUTOML_GPT_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    yield root
    for name in PLUGINS:
        sys.modules.pop(f"acme_plugins_{name}", None)


def test_builtins_answer_every_default_hook() -> None:
    manager = PluginManager(load_entry_points=False)
    records = {r.name: r for r in manager.plugin_records()}
    assert set(records) == set(BUILTIN_MODULES)
    hooks = sorted(h for r in records.values() for h in r.hooks)
    assert hooks == ["build_log_prompt", "build_prompt", "parse_card", "plan_trials", "predict_training_log",
                     "register_planners", "run_training"]  # no draft_card: drafting reads data formats, plugins do
    assert all(r.source == "builtin" and r.status == "loaded" for r in records.values())


def test_third_party_entry_points_load_with_their_version_and_provides(third_party: Path) -> None:
    manager = PluginManager()
    record = {r.name: r for r in manager.plugin_records()}["acme"]
    assert (record.status, record.version, record.module, record.source) == (
        "loaded",
        "2.5",
        "acme_plugins_acme",
        "entry point",
    )
    assert record.hooks == ["register_backends", "register_llm_providers"]
    assert record.provides["backends"][0]["name"] == "echo"
    assert record.provides["llm_providers"][0]["default_model"] == "echo-1"
    assert manager.backend("echo").name == "echo"
    assert manager.provider("echo-llm").default_model == "echo-1"


def test_broken_plugins_are_recorded_and_the_rest_works(third_party: Path) -> None:
    manager = PluginManager()
    records = {r.name: r for r in manager.plugin_records()}
    assert records["explodes"].status == "error"
    assert records["explodes"].error == "import failed: RuntimeError: boom at import"
    assert records["badreg"].status == "error"
    assert records["badreg"].error == "register_backends failed: ValueError: boom in register_backends"
    assert records["quantum"].status == "unavailable"
    assert records["quantum"].error == "missing surely_not_installed_module_xyz: pip install 'acme-plugins[quantum]'"
    assert records["quantum"].install_hint == "pip install 'acme-plugins[quantum]'"  # its own package, not ours
    assert set(manager.backends()) == {"echo", "quantum"}  # the broken ones register nothing, the rest work
    with pytest.raises(UnknownNameError, match="backend 'quantum' is unavailable: missing surely_not"):
        manager.backend("quantum")
    with pytest.raises(UnknownNameError, match=r"unknown backend 'nope' \(known: echo, quantum;"):
        manager.backend("nope")


def test_a_misspelt_hook_is_an_error_with_the_likely_name(third_party: Path) -> None:
    manager = PluginManager()
    record = manager.records["typo"]
    expected = "unknown hook 'register_backend' (did you mean 'register_backends'?): pluggy never calls it"
    assert (record.status, record.error) == ("error", expected)


def test_planner_plugins_announce_their_names(third_party: Path) -> None:
    manager = PluginManager()
    record = manager.records["greedy"]
    manager.plugin_records()
    assert record.status == "loaded" and record.hooks == ["plan_trials", "register_planners"]
    assert record.provides == {"planners": [{"name": "greedy", "description": "the defaults, greedily",
                                             "available": True, "unavailable_reason": None}]}
    assert set(manager.planners()) == {"llm", "tpe", "random", "default", "transfer", "greedy"}
    with pytest.raises(UnknownNameError, match=r"unknown planner 'gredy' \(known: default, greedy, llm, random, tpe, "
                                               r"transfer; broken plugins: badreg, explodes, typo; run 'automl-gpt "
                                               r"plugins check'\)"):
        manager.check_planner("gredy")


def test_a_planner_with_a_misspelt_factory_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(write_dist(tmp_path / "site", "plantypo", {"plantypo": PLANNER_TYPO})))
    monkeypatch.setenv("AUTOML_GPT_LOAD_PLUGINS", "plantypo")
    manager = PluginManager()
    record = manager.records["plantypo"]
    assert record.status == "error" and "unknown hook 'plan_trial' (did you mean 'plan_trials'?)" in str(record.error)
    with pytest.raises(PluginError, match="planner 'greedy' is registered, but no plan_trials implementation builds"):
        manager.planner("greedy", context=None)  # type: ignore[arg-type]  # never reaches a planner
    sys.modules.pop("plantypo_plantypo", None)


def test_load_switch_selects_and_block_switch_skips(third_party: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_GPT_LOAD_PLUGINS", "acme, quantum")
    monkeypatch.setenv("AUTOML_GPT_BLOCK_PLUGINS", "quantum")
    records = {r.name: r for r in PluginManager().records.values()}
    assert records["acme"].status == "loaded"
    assert {records[n].status for n in ("explodes", "badreg", "typo", "quantum")} == {"blocked"}
    assert "acme_plugins_explodes" not in sys.modules  # a blocked plugin is never imported
    monkeypatch.setenv("AUTOML_GPT_LOAD_PLUGINS", "")
    assert {r.status for r in PluginManager().records.values() if r.source != "builtin"} == {"blocked"}


def test_strict_switch_turns_errors_into_failures(third_party: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_GPT_STRICT_PLUGINS", "1")
    monkeypatch.setenv("AUTOML_GPT_LOAD_PLUGINS", "acme,badreg")
    with pytest.raises(PluginError, match="plugin 'badreg': register_backends failed"):
        PluginManager().backends()
    monkeypatch.setenv("AUTOML_GPT_LOAD_PLUGINS", "explodes")
    with pytest.raises(PluginError, match="plugin 'explodes': import failed: RuntimeError: boom at import"):
        PluginManager()
    monkeypatch.setenv("AUTOML_GPT_LOAD_PLUGINS", "typo")
    with pytest.raises(PluginError, match="plugin 'typo': unknown hook 'register_backend'"):
        PluginManager()


def test_trace_switch_prints_hook_calls(
    third_party: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTOML_GPT_TRACE_PLUGINS", "1")
    monkeypatch.setenv("AUTOML_GPT_LOAD_PLUGINS", "acme")
    manager = PluginManager()
    manager.hook.plan_trials(name="nobody", context=None)
    err = capsys.readouterr().err
    assert "plan_trials" in err and "nobody" in err
    monkeypatch.delenv("AUTOML_GPT_TRACE_PLUGINS")
    PluginManager().hook.plan_trials(name="nobody", context=None)
    assert capsys.readouterr().err == ""


def test_in_process_registration_and_bad_registrations() -> None:
    class NotABackend:
        name = "x"

    @hookimpl
    def register_backends(register: Callable[[Any], None]) -> None:
        register(NotABackend())

    manager = PluginManager(load_entry_points=False)
    record = manager.register_module(SimpleNamespace(register_backends=register_backends), name="wrong")
    assert record.source == "in-process"
    assert manager.backends() == {}
    assert manager.records["wrong"].status == "error"
    assert "is not a Backend" in (manager.records["wrong"].error or "")

    @hookimpl
    def parse_card(path: Path, data: dict[str, Any], kind: str, colour: str) -> None:
        return None

    bad = manager.register_module(SimpleNamespace(parse_card=parse_card), name="bad-args")
    assert bad.status == "error" and "colour" in (bad.error or "")


def test_registries_are_refreshed_when_a_plugin_registers() -> None:
    class Late(Backend):
        name = "late"
        tasks = frozenset({"regression"})

    manager = PluginManager(load_entry_points=False)
    assert "late" not in manager.backends()

    @hookimpl
    def register_backends(register: Callable[[Any], None]) -> None:
        register(Late())

    manager.register_module(SimpleNamespace(register_backends=register_backends), name="late")
    assert "late" in manager.backends()


def test_switch_names_that_match_no_plugin_are_reported(third_party: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_GPT_LOAD_PLUGINS", "acme,acne")
    monkeypatch.setenv("AUTOML_GPT_BLOCK_PLUGINS", "quantom")
    manager = PluginManager()
    assert manager.records["acme"].status == "loaded"
    assert [p.split(",")[0] for p in manager.switch_problems] == [
        "AUTOML_GPT_LOAD_PLUGINS names 'acne'",
        "AUTOML_GPT_BLOCK_PLUGINS names 'quantom'",
    ]
    assert "which is not an installed plugin (installed: acme, " in manager.switch_problems[0]
    monkeypatch.setenv("AUTOML_GPT_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="AUTOML_GPT_LOAD_PLUGINS names 'acne'"):
        PluginManager()
