"""The ``automl-gpt`` command line.

Each command group lives in its own module and is imported only when invoked, so ``automl-gpt plugins list``
starts fast and a broken optional library cannot break unrelated commands. Errors derived from
:class:`~automl_gpt.errors.AutomlGptError` print as one line (``error: ...``) with their exit code;
``--debug`` (or ``AUTOML_GPT_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click
from automl_gpt import __version__
from automl_gpt.errors import AutomlGptError, RunInterrupted

# command name -> "module:attribute" of its click command, imported on use.
COMMANDS = {
    "plugins": "automl_gpt.cli.plugins_cmd:plugins",
    "cards": "automl_gpt.cli.cards_cmd:cards",
    "prompt": "automl_gpt.cli.cards_cmd:prompt",
    "keys": "automl_gpt.cli.keys_cmd:keys",
    "run": "automl_gpt.cli.run_cmd:run",
    "plan": "automl_gpt.cli.run_cmd:plan",
    "worker": "automl_gpt.cli.run_cmd:worker",
    "runs": "automl_gpt.cli.runs_cmd:runs",
    "report": "automl_gpt.cli.runs_cmd:report",
    "predict": "automl_gpt.cli.predict_cmd:predict",
    "ensemble": "automl_gpt.cli.ensemble_cmd:ensemble",
    "experience": "automl_gpt.cli.experience_cmd:experience",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported only when used (or listed in --help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items() if _module_exists(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _module_exists(target):
            return None
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)  # the lazy table's target
        return command


def _module_exists(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="automl-gpt")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
def cli(debug: bool) -> None:
    """automl-gpt: an LLM plans, predicts and learns from real machine-learning experiments."""
    if debug:
        os.environ["AUTOML_GPT_DEBUG"] = "1"


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``automl-gpt`` script."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or os.environ.get("AUTOML_GPT_DEBUG") == "1"
    try:
        result = cli.main(args=argv, prog_name="automl-gpt", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AutomlGptError as exc:
        if debug:
            raise
        click.echo(str(exc) if isinstance(exc, RunInterrupted) else f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as exc:  # a place that cannot be read or written (permissions, read-only file system, full disk)
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {where}{exc.strerror or exc} (check the path, its permissions and free space)", err=True)
        sys.exit(1)
    if isinstance(result, int) and result:
        sys.exit(result)
    return result
