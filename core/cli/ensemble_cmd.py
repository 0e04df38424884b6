"""``automl-gpt ensemble RUN``: combine a finished run's trials into an ensemble, score it, update the report."""

from __future__ import annotations

from pathlib import Path

import click
from automl_gpt.cli.runs_cmd import RUNS_OPTION, find_run
from automl_gpt.runs.ensemble import DEFAULT_ROUNDS


@click.command()
@click.argument("run_name")
@click.option("--rounds", type=int, default=DEFAULT_ROUNDS, show_default=True,
              help="Selection rounds: the ensemble has at most this many picks (repeats allowed).")
@RUNS_OPTION
def ensemble(run_name: str, rounds: int, out: Path) -> None:
    """Greedy ensemble selection over RUN's trials' validation predictions (the test split is scored once,
    after selection); saved in RUN/ensemble, shown in the report, served by 'predict RUN' when it beats the best
    single trial on validation."""
    from automl_gpt.errors import UsageError
    from automl_gpt.runs.ensemble import ensemble_run
    from automl_gpt.runs.loop import prepare
    from automl_gpt.runs.options import RunSettings
    from automl_gpt.runs.report import write_report
    from automl_gpt.runs.store import RunStore, check_study

    if rounds < 1:
        raise UsageError(f"--rounds {rounds}: give at least 1")
    folder = find_run(run_name, out)
    settings = RunSettings.load(folder)
    check_study(folder, settings)
    experiment = prepare(settings.card, backend=settings.backend, model=settings.model, seed=settings.seed)
    store = RunStore(folder, settings, experiment.context.space, experiment.context.objective.direction)
    built = ensemble_run(folder, store, experiment, rounds=rounds, echo=lambda line: click.echo(line, err=True))
    if built is None:
        raise UsageError(f"{folder}: no ensemble: no trial completed, or backend '{settings.backend}' builds none")
    write_report(folder, store, experiment, settings)
    click.echo(str(built.model_path))
