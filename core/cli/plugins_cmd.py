"""``automl-gpt plugins list|check``: what is installed, what it provides, and what is broken."""

from __future__ import annotations

import json
from collections import Counter

import click
from automl_gpt.plugins import PluginRecord, get_plugin_manager

LABELS = {"backends": "backend", "llm_providers": "llm", "planners": "planner"}  # provides key -> table label


@click.group()
def plugins() -> None:
    """Inspect installed plugins."""


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


def _provides(record: PluginRecord) -> str:
    names: list[str] = []
    for kind, items in record.provides.items():
        names.extend(f"{LABELS[kind]}:{item['name']}" for item in items)
    return ", ".join(names) or "-"
