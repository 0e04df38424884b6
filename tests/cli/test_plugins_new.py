"""``automl-gpt plugins new``: each kind's package is complete, passes its own tests, and (slow) installs and lists."""

from __future__ import annotations

import json
import os
import site as site_module
import subprocess
import sys
from pathlib import Path

import pytest
from automl_gpt.plugin_scaffold import KINDS, write_plugin

from .cli_support import SWITCHES, cli, one_line_error


def run_tests(package: Path, python: str = sys.executable, *,
              installed: bool = False) -> subprocess.CompletedProcess[str]:
    """The generated package's own tests, run the way its author would (``python -m pytest`` in the package)."""
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES and k != "PYTHONPATH"}
    if not installed:
        env["PYTHONPATH"] = str(package)
    return subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"], cwd=package, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("kind", KINDS)
def test_new_writes_a_complete_package(kind: str, tmp_path: Path) -> None:
    result = cli("plugins", "new", "acme-thing", "--kind", kind, "--out", tmp_path, plugins="")
    assert result.returncode == 0, result.stderr
    root = tmp_path / "acme-thing"
    assert result.stdout.splitlines()[-1] == f"next: cd {root} && pip install -e . && python -m pytest && " \
                                              "automl-gpt plugins list"
    project = (root / "pyproject.toml").read_text()
    assert 'name = "acme-thing"' in project
    assert '[project.entry-points.automl_gpt]\nacme_thing = "acme_thing"' in project
    init = (root / "acme_thing" / "__init__.py").read_text()
    assert 'Requirements(package="acme-thing"' in init  # its own install hint, not automl-gpt's
    for path in root.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")
    assert not any("${" in p.read_text() for p in root.rglob("*") if p.is_file()), "unfilled template field"
    assert (root / "acme_thing" / "model_cards" / "acme-thing.yaml").exists() == (kind == "backend")


def test_planner_package_passes_its_conformance_test(tmp_path: Path) -> None:
    root, _ = write_plugin("acme-greedy", "planner", tmp_path)
    done = run_tests(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout


def test_llm_package_registers_its_provider_and_skips_without_a_server(tmp_path: Path) -> None:
    root, _ = write_plugin("acme-llm", "llm", tmp_path)
    done = run_tests(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "set ACME_LLM_BASE_URL to an OpenAI-compatible server" in done.stdout


def test_bad_names_and_occupied_folders_are_one_line_errors(tmp_path: Path) -> None:
    bad = cli("plugins", "new", "Acme Thing", "--kind", "backend", "--out", tmp_path, plugins="")
    assert one_line_error(bad) == ("error: bad plugin name 'Acme Thing': use lower-case letters and digits, words "
                                   "joined by '-' (e.g. acme-forest)")
    (tmp_path / "acme-thing").mkdir()
    (tmp_path / "acme-thing" / "notes.txt").write_text("mine")
    taken = cli("plugins", "new", "acme-thing", "--kind", "planner", "--out", tmp_path, plugins="")
    assert "already exists and is not empty" in one_line_error(taken)
    assert (tmp_path / "acme-thing" / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_new_plugins_install_list_pass_their_tests_and_run(tmp_path: Path) -> None:
    """A backend and a planner from ``plugins new``, ``pip install -e`` into a fresh venv that sees this environment's
    packages, as a plugin author would: listed, their own tests pass, and a run trains with both."""
    backend, _ = write_plugin("acme-forest", "backend", tmp_path / "src")
    planner, _ = write_plugin("acme-greedy", "planner", tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the new venv sees this environment's packages (automl-gpt, pytest, pip, setuptools), .pth files included
    parents = "; ".join(f"site.addsitedir({path!r})" for path in site_module.getsitepackages())
    Path(site, "parent_env.pth").write_text(f"import site; {parents}\n")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                              "--no-build-isolation", "-e", str(backend), "-e", str(planner)], capture_output=True,
                             text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES and k != "PYTHONPATH"}  # keeps AUTOML_GPT_HOME

    def automl_gpt(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([python, "-m", "automl_gpt", *map(str, args)], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=300, check=False)

    records = {r["name"]: r for r in json.loads(automl_gpt("plugins", "list", "--json").stdout)}
    assert (records["acme_forest"]["status"], records["acme_forest"]["version"]) == ("loaded", "0.1.0")
    assert records["acme_forest"]["provides"]["backends"][0]["name"] == "acme-forest"
    assert records["acme_greedy"]["provides"]["planners"][0]["name"] == "acme-greedy"
    for root in (backend, planner):
        done = run_tests(root, python, installed=True)
        assert done.returncode == 0 and "failed" not in done.stdout, done.stdout + done.stderr
    rows = ["x1,x2,label", *(f"{i % 7},{(i * 3) % 11},{int(i % 7 > 3)}" for i in range(120))]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "card.yaml").write_text("name: toy\ntask: binary\ntrain: train.csv\ntarget: label\n")
    run = automl_gpt("run", "card.yaml", "--backend", "acme-forest", "--planner", "acme-greedy", "--budget", "3",
                     "--no-experience", "--out", tmp_path / "runs")
    assert run.returncode == 0, run.stderr
    assert ": 3 trials in " in run.stdout and "best: trial #" in run.stdout, run.stdout
