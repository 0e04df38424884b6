"""``automl-gpt runs list|show`` and ``automl-gpt report``: look at finished and running runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from automl_gpt.errors import DamagedFileError, UsageError
from automl_gpt.runs.options import SETTINGS_FILE, RunSettings

RUNS_OPTION = click.option("--out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
                           help="Folder holding the runs.")


def find_run(name: str | Path, out: Path) -> Path:
    """A run folder from a path, a run id under ``out``, or a unique prefix of one."""
    path = Path(name)
    if (path / SETTINGS_FILE).exists():
        return path
    prefix = str(name)
    matches = sorted(p for p in out.iterdir() if p.name.startswith(prefix) and (p / SETTINGS_FILE).exists()) \
        if out.is_dir() and prefix and "/" not in prefix else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no run '{name}' in {out} (see 'automl-gpt runs list --out {out}')")
    raise UsageError(f"'{name}' matches {len(matches)} runs; give more of the id")


@click.group()
def runs() -> None:
    """List and inspect runs."""


@runs.command("list")
@RUNS_OPTION
def list_runs(out: Path) -> None:
    """One line per run: id, planner, trials, best validation value (or what is damaged)."""
    folders = sorted(p.parent for p in out.glob(f"*/{SETTINGS_FILE}")) if out.is_dir() else []
    if not folders:
        click.echo(f"no runs in {out}")
        return
    for folder in folders:
        try:
            settings = RunSettings.load(folder)
            summary = _summary(folder)
        except DamagedFileError as exc:
            click.echo(f"{folder.name}  damaged: {exc}")
            continue
        best = (summary or {}).get("best")
        best = best if isinstance(best, dict) else {}
        trials = (summary or {}).get("trials", {}).get("total", "?")
        value = f"{best['value']:.4g}" if isinstance(best.get("value"), (int, float)) else "-"
        click.echo(f"{settings.run_id}  planner={settings.planner}  trials={trials}/{settings.budget}  best={value}")


@runs.command("show")
@click.argument("run_name")
@RUNS_OPTION
def show_run(run_name: str, out: Path) -> None:
    """The run's summary.json (or its settings when it has not finished)."""
    folder = find_run(run_name, out)
    summary = _summary(folder)
    click.echo(json.dumps(summary if summary is not None else RunSettings.load(folder).to_dict(), indent=2))


@click.command()
@click.argument("run_name")
@RUNS_OPTION
def report(run_name: str, out: Path) -> None:
    """(Re)write report.html and summary.json of a run from its study."""
    from automl_gpt.runs.loop import prepare
    from automl_gpt.runs.report import write_report
    from automl_gpt.runs.store import RunStore, check_study

    folder = find_run(run_name, out)
    settings = RunSettings.load(folder)
    check_study(folder, settings)
    experiment = prepare(settings.card, backend=settings.backend, model=settings.model, seed=settings.seed)
    store = RunStore(folder, settings, experiment.context.space, experiment.context.objective.direction)
    write_report(folder, store, experiment, settings)
    click.echo(f"{folder / 'report.html'}")
    click.echo(f"{folder / 'summary.json'}")


def _summary(folder: Path) -> dict[str, Any] | None:
    """The run's summary.json; None before the run has one; DamagedFileError when it cannot be read."""
    path = folder / "summary.json"
    if not path.exists():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedFileError(path, f"{type(exc).__name__}: {exc}",
                               f"rewrite it with 'automl-gpt report {folder}'") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("trials"), dict):
        raise DamagedFileError(path, "not a run summary", f"rewrite it with 'automl-gpt report {folder}'")
    return summary
