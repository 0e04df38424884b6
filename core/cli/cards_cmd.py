"""``automl-gpt cards init|show`` and ``automl-gpt prompt``: drafting, checking and using cards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from automl_gpt.cards import TASKS, ModelCard, load_card, load_data_card
from automl_gpt.cli.run_options import model_options
from automl_gpt.errors import UsageError
from automl_gpt.plugins import get_plugin_manager


@click.group()
def cards() -> None:
    """Draft, check and show data and model cards."""


@cards.command("init")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--target", help="Column to predict (tables).")
@click.option("--task", type=click.Choice(TASKS), help="Task type (default: inferred from the target).")
@click.option("--name", help="Dataset name (default: from the file name).")
@click.option("--test", type=click.Path(path_type=Path), help="Test file, read like DATA.")
@click.option("--images", type=click.Path(path_type=Path), help="Image folder (image datasets).")
@click.option("--out", type=click.Path(path_type=Path), help="Write the card here instead of printing it.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def init(
    data: Path,
    target: str | None,
    task: str | None,
    name: str | None,
    test: Path | None,
    images: Path | None,
    out: Path | None,
    force: bool,
) -> None:
    """Draft a data card from the data file DATA (CSV/Parquet, or what a plugin drafts) and print it as YAML."""
    from automl_gpt.cards.draft import draft_card, draft_yaml, relocate

    if out is not None and out.is_dir():
        raise UsageError(f"{out}: is a folder (pass a file name for the card, e.g. --out {out / 'card.yaml'})")
    if out is not None and out.exists() and not force:
        raise UsageError(f"{out}: already exists (pass --force to overwrite, or another --out)")
    card = draft_card(data, target=target, task=task, name=name, test=test, images=images)
    if out is not None:
        card = relocate(card, out.parent)
    text = draft_yaml(card, data)
    if out is None:
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}", err=True)


@cards.command("show")
@click.argument("card", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
def show(card: Path, as_json: bool) -> None:
    """Parse, validate and print CARD (a data or model card) normalised, with defaults filled in."""
    parsed = load_card(card)
    kind = "model" if isinstance(parsed, ModelCard) else "data"
    if as_json:
        payload = {
            "kind": kind,
            "source": str(parsed.source),
            "card": parsed.model_dump(mode="json", exclude_none=True),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"# {kind} card read from {parsed.source}")
    click.echo(parsed.to_yaml(), nl=False)
    if isinstance(parsed, ModelCard) and parsed.search_space:
        click.echo("# search space by stage:")
        for line in parsed.space().describe().splitlines():
            click.echo(f"#   {line}")


@click.command()
@click.argument("card", type=click.Path(path_type=Path))
@model_options
@click.option(
    "--n",
    "n_candidates",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Number of plans the paragraph asks for.",
)
@click.option(
    "--constraint",
    "constraint_items",
    multiple=True,
    metavar="NAME=VALUE",
    help="A user constraint to state in the paragraph (repeatable), e.g. budget='30 training runs'.",
)
def prompt(card: Path, backend: str | None, model: str | None, n_candidates: int,
           constraint_items: tuple[str, ...]) -> None:
    """Print the fixed-format prompt paragraph for the data card CARD and a model card."""
    from automl_gpt.cards.resolve import resolve_model_card
    from automl_gpt.planners.base import PlanningContext

    data_card = load_data_card(card)
    manager = get_plugin_manager()
    chosen, model_card = resolve_model_card(model, data_card, manager.backends(),
                                            manager.backend(backend) if backend else None)
    context = PlanningContext(
        data_card=data_card,
        model_card=model_card,
        space=model_card.space(),
        objective=chosen.objective(data_card),
        constraints=_constraints(constraint_items),
    )
    text = manager.hook.build_prompt(context=context, n_candidates=n_candidates)
    click.echo(text)


def _constraints(items: tuple[str, ...]) -> dict[str, Any]:
    constraints: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--constraint '{item}': write NAME=VALUE, e.g. budget='30 training runs'")
        constraints[key.strip()] = value.strip()
    return constraints
