"""``automl-gpt experience list|show|similar|export|import``: the store of past runs used for warm starts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from automl_gpt.cli.run_options import model_options
from automl_gpt.runs.experience import ExperienceStore

STORE_OPTION = click.option(
    "--store",
    type=click.Path(path_type=Path),
    default=None,
    help="Experience store file (default: the user store, or $AUTOML_GPT_EXPERIENCE).",
)


@click.group()
def experience() -> None:
    """The experience store: past runs whose best configurations warm-start similar datasets."""


@experience.command("list")
@STORE_OPTION
def list_runs(store: Path | None) -> None:
    """One line per stored run: id, dataset, task, model card, trials, best validation value."""
    experience_store = ExperienceStore(store)
    runs = experience_store.list()
    if not runs:
        click.echo(f"no runs in {experience_store.path} (the backend's shipped knowledge base is used instead)")
        return
    for run in runs:
        best = f"{run['best']:.4g}" if run["best"] is not None else "-"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run["created"]))
        click.echo(
            f"{run['run_id']}  dataset={run['dataset']}  task={run['task']}  model={run['model_card']}  "
            f"trials={run['trials']}  best valid {run['metric']}={best}  {when}"
        )


@experience.command("show")
@click.argument("name")
@click.option("--top", type=int, default=5, show_default=True, help="Best trials shown per run.")
@click.option("--json", "as_json", is_flag=True, help="Print the stored runs as JSON (every trial, logs included).")
@STORE_OPTION
def show(name: str, top: int, as_json: bool, store: Path | None) -> None:
    """A dataset's runs (or one run by id): card, meta-features and best trials."""
    runs = ExperienceStore(store).show(name)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in runs], indent=2))
        return
    for run in runs:
        click.echo(
            f"run {run.run_id}: dataset {run.dataset} ({run.task}), model card {run.model_card}, "
            f"{len(run.trials)} trials, objective {run.direction} valid {run.metric}"
        )
        if run.card.get("description"):
            click.echo(f"  description: {run.card['description']}")
        meta = ", ".join(f"{k}={v:.3g}" for k, v in run.meta.items())
        click.echo(f"  meta-features: {meta or 'none'}")
        for rank, trial in enumerate(run.best_trials()[:top], start=1):
            click.echo(f"  #{rank} {run.metric}={trial.value:.4g}  {json.dumps(trial.config, sort_keys=True)}")


@experience.command("similar")
@click.argument("card", type=click.Path(path_type=Path))
@model_options
@click.option("-k", "k", type=int, default=3, show_default=True, help="How many similar datasets.")
@STORE_OPTION
def similar(card: Path, backend: str | None, model: str | None, k: int, store: Path | None) -> None:
    """The stored datasets most similar to a data card, with the configurations they would lend."""
    from automl_gpt.planners.knowledge import experience_by_member
    from automl_gpt.runs.loop import prepare

    experiment = prepare(card, backend=backend, model=model)
    experience = ExperienceStore(store)
    found = experience_by_member(  # with --model auto / a,b: every card's, configurations named as the run names them
        experiment.model_card, lambda one: experience.find_similar(experiment.data_card, one, k=k))[:k]
    if not found:
        click.echo("no similar datasets (empty store and no knowledge base for this backend)")
        return
    for item in found:
        click.echo(f"{item.dataset}  similarity {item.similarity:.3f}  {item.description}")
        for config, score in zip(item.configs, item.scores, strict=False):
            click.echo(f"  {score:.4g}  {json.dumps(config, sort_keys=True)}")


@experience.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--no-logs", is_flag=True, help="Leave the training logs out (a much smaller file).")
@STORE_OPTION
def export(path: Path, no_logs: bool, store: Path | None) -> None:
    """Write every stored run to a JSON file (gzipped when PATH ends in .gz)."""
    count = ExperienceStore(store).export(path, logs=not no_logs)
    click.echo(f"exported {count} run(s) to {path}")


@experience.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@STORE_OPTION
def import_(path: Path, store: Path | None) -> None:
    """Add the runs of an export file (runs with the same id are replaced)."""
    experience_store = ExperienceStore(store)
    count = experience_store.import_(path)
    click.echo(f"imported {count} run(s) into {experience_store.path}")
