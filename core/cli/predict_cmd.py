"""``automl-gpt predict RUN DATA``: apply a run's saved model (its best trial by default) to new data."""

from __future__ import annotations

from pathlib import Path

import click
from automl_gpt.cli.runs_cmd import find_run


@click.command()
@click.argument("run_name")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--trial", type=int, default=None,
              help="Predict with this trial's model (default: the run's ensemble when it beat the best trial on "
                   "validation, else the best trial).")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None,
              help="Predict with this saved model file of the run's backend instead (an ensemble, say).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Predictions file (default: RUN/predictions/<data>-<trialN|ensemble>.<csv|json>).")
@click.option("--runs", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Folder holding the runs (when RUN is an id).")
def predict(run_name: str, data: Path, trial: int | None, model_path: Path | None, out: Path | None,
            runs: Path) -> None:
    """Predict DATA (a table, a SQuAD-format file, a folder of images: what the run's backend reads)."""
    from automl_gpt.errors import UsageError
    from automl_gpt.plugins import get_plugin_manager
    from automl_gpt.prediction import default_output
    from automl_gpt.runs.options import RunSettings
    from automl_gpt.runs.saved_model import saved_model_of

    folder = find_run(run_name, runs)
    if model_path is not None and trial is not None:
        raise UsageError("give --trial or --model, not both")
    if model_path is None:
        ref = saved_model_of(folder, trial)
        backend_name, model_path, label = ref.backend, ref.model_path, ref.label
    else:
        backend_name, label = RunSettings.load(folder).backend, model_path.name.split(".")[0]
    if not data.exists():
        raise UsageError(f"{data}: no such file or folder")
    backend = get_plugin_manager().backend(backend_name)
    predictor = backend.load_model(model_path)
    target = out or default_output(data, folder, label, predictor.output_suffix)
    report = predictor.predict_file(data, target)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{report.count} predictions by {label} ({model_path}) -> {report.path}", err=True)
    click.echo(str(report.path))
