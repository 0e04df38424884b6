"""``automl-gpt plugins list|check|new``: what is installed, what it provides, what is broken; a new plugin."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click
from automl_gpt.plugin_scaffold import KINDS, write_plugin
from automl_gpt.plugins import PluginRecord, get_plugin_manager

LABELS = {"backends": "backend", "llm_providers": "llm", "planners": "planner"}  # provides key -> table label


@click.group()
def plugins() -> None:
    """Inspect installed plugins, or start a new one."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (public API).")
@click.option("--all", "show_all", is_flag=True, help="Include the built-in default plugins.")
def list_plugins(as_json: bool, show_all: bool) -> None:
    """List plugins with their status, hooks and what they provide."""
    manager = get_plugin_manager()
    records = [r for r in manager.plugin_records() if show_all or r.source != "builtin"]
    for problem in manager.switch_problems:
        click.echo(f"warning: {problem}", err=True)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records], indent=2))
        return
    rows = [(r.name, r.version or "-", r.status, _provides(r), r.error or "") for r in records]
    headers = ("name", "version", "status", "provides", "note")
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers) - 1)]
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, str(row[-1])]).rstrip())


@plugins.command("check")
def check_plugins() -> None:
    """Exit 1 when any plugin failed to load, failed to register, or has a hook that matches no hook spec.

    Reports the plugins ``plugins list`` shows (built-ins only when one of them is broken), one line each.
    """
    manager = get_plugin_manager()
    records = manager.plugin_records()
    broken = [r for r in records if r.status == "error"]
    for record in broken:
        click.echo(f"broken: {record.name}: {record.error}", err=True)
    for problem in manager.switch_problems:
        click.echo(f"bad switch: {problem}", err=True)
    if broken or manager.switch_problems:
        raise SystemExit(1)
    listed = [r for r in records if r.source != "builtin"]
    counts = Counter(r.status for r in listed)
    detail = ", ".join(f"{counts[s]} {s}" for s in ("loaded", "unavailable", "blocked") if counts[s])
    click.echo(f"ok: {len(listed)} plugins without errors" + (f" ({detail})" if detail else ""))


@plugins.command("new")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), required=True,
              help="What the plugin provides.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("."), show_default=True,
              help="Folder to create the package in (as OUT/NAME).")
def new_plugin(name: str, kind: str, out: Path) -> None:
    """Write a ready plugin package NAME: pyproject with the entry point, hooks, a working example, its test."""
    root, written = write_plugin(name, kind, out)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: cd {root} && pip install -e . && python -m pytest && automl-gpt plugins list")


def _provides(record: PluginRecord) -> str:
    names: list[str] = []
    for kind, items in record.provides.items():
        names.extend(f"{LABELS[kind]}:{item['name']}" for item in items)
    return ", ".join(names) or "-"
