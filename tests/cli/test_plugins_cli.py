"""``automl-gpt plugins list|check`` and ``--version`` through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from automl_gpt import __version__

from ..core.plugin_dists import (
    GOOD_PLUGIN,
    PLANNER_PLUGIN,
    PLANNER_TYPO,
    RAISES_IN_REGISTER,
    RAISES_ON_IMPORT,
    TYPO_HOOK,
    write_dist,
    write_package,
)
from .cli_support import cli, one_line_error

FIRST_PARTY = {"llm_openai", "llm_anthropic", "llm_local", "backend_tabular", "backend_nlp", "backend_vision"}
RECORD_KEYS = {"name", "version", "module", "source", "status", "error", "install_hint", "hooks", "provides"}


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A distribution with one plugin that raises on import and one that raises in its register hook."""
    root = tmp_path_factory.mktemp("broken-site")
    return write_dist(root, "wreck", {"explodes": RAISES_ON_IMPORT, "badreg": RAISES_IN_REGISTER})


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"automl-gpt, version {__version__}"


def test_plugins_list_json_shows_every_first_party_plugin() -> None:
    result = cli("plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    records = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(records) >= FIRST_PARTY
    for name in FIRST_PARTY:
        record = records[name]
        assert set(record) == RECORD_KEYS
        assert record["source"] == "entry point" and record["module"] == f"automl_gpt_{name}"
        assert record["status"] in {"loaded", "unavailable"}, record
        if record["status"] == "unavailable":
            assert record["install_hint"] == f"pip install 'automl-gpt[{name.split('_', 1)[1]}]'" or record["error"]
        hook = "register_backends" if name.startswith("backend") else "register_llm_providers"
        assert hook in record["hooks"]
        assert record["provides"], f"{name} provides nothing"
    assert not any(r["source"] == "builtin" for r in records.values())  # built-ins only with --all
    table = cli("plugins", "list")
    assert table.stdout.splitlines()[0].split() == ["name", "version", "status", "provides", "note"]


def test_plugins_list_all_includes_builtins() -> None:
    result = cli("plugins", "list", "--json", "--all", env={"AUTOML_GPT_LOAD_PLUGINS": ""})
    records = json.loads(result.stdout)
    builtin = {r["name"] for r in records if r["source"] == "builtin"}
    assert "automl_gpt.builtin.prompt" in builtin and "automl_gpt.builtin.cards" in builtin
    assert {r["status"] for r in records if r["source"] != "builtin"} == {"blocked"}


def test_pip_installed_third_party_plugin_is_listed(tmp_path: Path) -> None:
    """A real wheel build and ``pip install`` of a throwaway plugin package, then ``plugins list --json``."""
    source = write_package(tmp_path / "src", "acme-echo", "acme_echo", GOOD_PLUGIN, version="0.3")
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    assert (site / "acme_echo-0.3.dist-info" / "entry_points.txt").exists()
    result = cli("plugins", "list", "--json", path=site)
    assert result.returncode == 0, result.stderr
    record = {r["name"]: r for r in json.loads(result.stdout)}["acme_echo"]
    assert (record["status"], record["version"], record["source"]) == ("loaded", "0.3", "entry point")
    assert record["provides"]["backends"][0]["name"] == "echo"
    assert record["provides"]["llm_providers"][0]["name"] == "echo-llm"
    check = cli("plugins", "check", path=site)
    listed = json.loads(result.stdout)
    loaded = sum(r["status"] == "loaded" for r in listed)
    assert check.returncode == 0
    assert check.stdout.startswith(f"ok: {len(listed)} plugins without errors ({loaded} loaded")


def test_broken_plugins_are_listed_and_other_commands_still_work(broken_site: Path, tmp_path: Path) -> None:
    result = cli("plugins", "list", "--json", path=broken_site)
    assert result.returncode == 0, result.stderr
    records = {r["name"]: r for r in json.loads(result.stdout)}
    assert records["explodes"]["status"] == "error"
    assert records["explodes"]["error"] == "import failed: RuntimeError: boom at import"
    assert records["badreg"]["error"] == "register_backends failed: ValueError: boom in register_backends"
    assert set(records) >= FIRST_PARTY
    table = cli("plugins", "list", path=broken_site).stdout
    assert any(line.startswith("explodes") and "boom at import" in line for line in table.splitlines())
    card = tmp_path / "card.yaml"
    card.write_text("name: toy\ntask: binary\ntrain: t.csv\n")
    shown = cli("cards", "show", card, path=broken_site)
    assert shown.returncode == 0 and "name: toy" in shown.stdout, shown.stderr
    check = cli("plugins", "check", path=broken_site)
    assert check.returncode == 1
    assert "broken: explodes: import failed: RuntimeError: boom at import" in check.stderr
    assert "broken: badreg: register_backends failed" in check.stderr


def test_debug_switch_shows_the_plugin_traceback(broken_site: Path) -> None:
    result = cli("plugins", "list", path=broken_site, env={"AUTOML_GPT_DEBUG": "1"})
    assert result.returncode == 0
    assert "Traceback" in result.stderr and "RuntimeError: boom at import" in result.stderr


def test_strict_switch_fails_with_one_line(broken_site: Path) -> None:
    result = cli("plugins", "list", path=broken_site, env={"AUTOML_GPT_STRICT_PLUGINS": "1"})
    line = one_line_error(result, code=1)
    assert "plugin 'explodes': import failed: RuntimeError: boom at import" in line


def test_plugins_check_reports_a_typod_hook(tmp_path: Path) -> None:
    site = write_dist(tmp_path / "site", "typos", {"typo": TYPO_HOOK})
    result = cli("plugins", "check", path=site, env={"AUTOML_GPT_LOAD_PLUGINS": "typo"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "broken: typo: unknown hook 'register_backend' (did you mean 'register_backends'?): pluggy never calls it"
    ]
    listed = cli("plugins", "list", path=site, env={"AUTOML_GPT_LOAD_PLUGINS": "typo"})
    row = next(line for line in listed.stdout.splitlines() if line.startswith("typo "))
    assert row.split()[2] == "error" and "did you mean 'register_backends'?" in row
    result = cli("plugins", "check", path=site, env={"AUTOML_GPT_LOAD_PLUGINS": "typo,tpyo"})
    assert "bad switch: AUTOML_GPT_LOAD_PLUGINS names 'tpyo', which is not an installed plugin" in result.stderr


def test_planner_plugins_are_listed_and_checked_by_run(tmp_path: Path) -> None:
    site = write_dist(tmp_path / "site", "planners", {"greedy": PLANNER_PLUGIN, "plantypo": PLANNER_TYPO})
    listed = cli("plugins", "list", path=site, plugins="greedy")
    row = next(line for line in listed.stdout.splitlines() if line.startswith("greedy "))
    assert row.split()[2:4] == ["loaded", "planner:greedy"]
    builtin = json.loads(cli("plugins", "list", "--json", "--all", plugins="").stdout)
    planners = [p["name"] for r in builtin for p in r["provides"].get("planners", [])]
    assert planners == ["llm", "tpe", "random", "default", "transfer"]
    unknown = cli("run", tmp_path / "no-card.yaml", "--planner", "gredy", path=site, plugins="greedy")
    assert one_line_error(unknown) == ("error: unknown planner 'gredy' (known: default, greedy, llm, random, tpe, "
                                       "transfer; see 'automl-gpt plugins list --all')")
    shell = {"_AUTOML_GPT_COMPLETE": "bash_complete", "COMP_WORDS": "automl-gpt run --planner g", "COMP_CWORD": "3"}
    completed = cli(path=site, plugins="greedy", env=shell)  # what bash completion asks for and gets
    assert completed.returncode == 0 and completed.stdout.split() == ["plain,greedy"], completed.stderr
    typo = cli("plugins", "list", path=site, plugins="plantypo")
    row = next(line for line in typo.stdout.splitlines() if line.startswith("plantypo "))
    assert row.split()[2] == "error" and "unknown hook 'plan_trial' (did you mean 'plan_trials'?)" in row
