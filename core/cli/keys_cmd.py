"""``automl-gpt keys set|list|path``: manage API keys in the 0600 key file (values are never printed)."""

from __future__ import annotations

import sys

import click
from automl_gpt import paths
from automl_gpt.llm import keys as key_store


@click.group()
def keys() -> None:
    """Manage API keys for LLM providers (environment variables take precedence)."""


@keys.command("set")
@click.argument("name")
@click.option("--value", help="The key (avoid: it lands in shell history). Default: read stdin or prompt hidden.")
def set_key(name: str, value: str | None) -> None:
    """Store the key NAME (e.g. openai, anthropic)."""
    if value is None:
        if sys.stdin.isatty():
            value = click.prompt(f"Enter key for {name}", hide_input=True, prompt_suffix=": ")
        else:
            value = sys.stdin.readline()
    path = key_store.set_key(name, value)
    click.echo(f"stored key '{name}' in {path}")
    variable = key_store.env_var(name)
    if key_store.list_keys().get(name, "").startswith("env "):
        click.echo(f"note: {variable} is set in the environment and takes precedence", err=True)


@keys.command("list")
def list_keys() -> None:
    """List the names of stored keys and where each comes from."""
    found = key_store.list_keys()
    if not found:
        click.echo("no keys stored (automl-gpt keys set openai)")
        return
    width = max(len(name) for name in found)
    for name, source in found.items():
        click.echo(f"{name.ljust(width)}  {source}")


@keys.command("path")
def keys_path() -> None:
    """Print the path of the key file."""
    click.echo(str(paths.keys_path()))
