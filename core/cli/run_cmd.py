"""``automl-gpt run`` and ``automl-gpt plan``: the main job, and the paper's predict-only mode."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click
from automl_gpt.cli.run_options import settings_options
from automl_gpt.cli.story import closing_lines
from automl_gpt.errors import UsageError
from automl_gpt.runs.options import check_count, check_seed, resumable, user_options

RESUMABLE = ", ".join(f.metadata["flag"] for f in user_options() if f.metadata["resume"])


def _logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")


@click.command()
@click.argument("card", required=False, type=click.Path(path_type=Path))
@settings_options()
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Folder of the run folders.")
@click.option("--resume", "resume_folder", type=click.Path(path_type=Path), default=None,
              help=f"Continue a stopped run from its folder, with its own settings ({RESUMABLE} may change).")
@click.pass_context
def run(ctx: click.Context, card: Path | None, out: Path, resume_folder: Path | None, **settings: Any) -> int:
    """Plan, predict, train for real and report, on the data card CARD.

    Exit code 0 when a trial completed, 3 when none did or the run stopped on failures (see the README).
    """
    from automl_gpt.runs import loop

    _logging()
    if resume_folder is not None:
        given = _given(ctx)
        if card is not None:
            raise UsageError(f"pass either CARD or --resume, not both (the resumed run keeps its card; drop {card})")
        ignored = sorted(option for name, option in given.items() if name not in {*resumable(), "resume_folder"})
        if ignored:
            click.echo(f"--resume keeps the run's own settings; ignored: {', '.join(ignored)}", err=True)
        result = loop.resume(resume_folder, **{name: settings[name] for name in resumable() if name in given})
    else:
        if card is None:
            raise UsageError("missing CARD: pass a data card file, or --resume RUN_FOLDER")
        result = loop.run(card, out=out, **settings)
    for line in closing_lines(result.summary, result.folder):
        click.echo(line)
    return _exit_code(result)


NO_RESULT = 3


def _given(ctx: click.Context) -> dict[str, str]:
    """The parameters the user typed (not left at their defaults): name -> option as typed (``--llm``)."""
    return {param.name: param.opts[0] for param in ctx.command.params
            if param.name and ctx.get_parameter_source(param.name) not in (None, click.core.ParameterSource.DEFAULT)}


def _exit_code(result: Any) -> int:
    """0 when the run has a best trial and did not stop on failures; else one line on stderr and exit code 3."""
    if result.summary.get("best") is None:
        click.echo(f"no trial completed (exit code {NO_RESULT}); the errors are in {result.folder / 'report.html'}",
                   err=True)
        return NO_RESULT
    if result.stopped_on_failures:
        click.echo(f"the run stopped on failures (exit code {NO_RESULT}); its best trial so far is kept", err=True)
        return NO_RESULT
    return 0


@click.command()
@click.option("--storage", required=True, help="The shared study's storage URL (e.g. postgresql://user@host/db).")
@click.option("--study", "study_name", required=True, help="The study name given to the first worker.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Where this worker keeps its trials' artifacts.")
def worker(storage: str, study_name: str, out: Path) -> None:
    """Join a shared study as one more worker (same card, planner and budget as its first worker)."""
    from automl_gpt.runs.loop import work

    _logging()
    result = work(storage, study_name, out=out)
    click.echo(f"worker done: study {study_name} has {result.summary['trials']['total']} trials")


@click.command()
@click.argument("card", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Accepted for clarity: plan never trains (the paper's mode).")
@click.option("--n", "n_plans", type=int, default=3, show_default=True, help="Number of plans to ask for.")
@settings_options("planner", "llm", "backend", "model", "seed", "llm_cache", "experience", helps={
    "planner": "A registered planner (see 'automl-gpt plugins list --all'); other than llm, its first candidates and "
               "the predicted logs of predict_training_log.",
    "experience": "Leave similar past datasets out of the prompt."})
@click.option("--json", "as_json", is_flag=True, help="Print plans as JSON.")
def plan(card: Path, dry_run: bool, n_plans: int, planner: str, llm: str, backend: str | None,
         model: str | None, seed: int, llm_cache: bool, experience: bool, as_json: bool) -> None:
    """Print the prompt paragraph, the LLM's validated plans and their predicted training logs; train nothing.

    With ``--planner`` other than ``llm``: that planner's first candidates and their predicted logs.
    """
    from automl_gpt.planners.llm_planner import LLMPlanner
    from automl_gpt.plugins import get_plugin_manager
    from automl_gpt.runs.loop import EXPERIENCE_PLANNERS, attach_predictions, load_experience, prepare

    _logging()
    check_count("--n", n_plans, 3)
    check_seed(seed)
    manager = get_plugin_manager()
    manager.check_planner(planner)
    experiment = prepare(card, backend=backend, model=model, seed=seed, options={"llm": llm, "llm_cache": llm_cache})
    if experience and planner in EXPERIENCE_PLANNERS:
        experiment.context.experience, experiment.context.portfolio = load_experience(
            experiment, lambda line: click.echo(line, err=True))
    prompt: str | None = None
    stats: dict[str, Any] = {}
    if planner == "llm":
        prompt = manager.hook.build_prompt(context=experiment.context, n_candidates=n_plans)
        llm_planner = LLMPlanner(experiment.context, start_with_default=False, share_with_tpe=False)
        candidates = llm_planner.ask(n_plans)
        stats = llm_planner.stats()
    else:
        candidates = manager.planner(planner, experiment.context).ask(n_plans)
        for candidate in candidates:
            attach_predictions(candidate, experiment.context)
    metric = experiment.context.objective.metric
    if as_json:
        click.echo(json.dumps({"planner": planner, "prompt": prompt, "plans": [_plan_dict(c) for c in candidates],
                               "stats": stats}, indent=2))
        return
    if prompt is not None:
        click.echo("== prompt paragraph ==")
        click.echo(prompt)
    else:
        click.echo(f"== planner {planner}: {len(candidates)} candidate(s), nothing trained ==")
    for index, candidate in enumerate(candidates, start=1):
        click.echo(f"\n== plan {index} (from {candidate.source}) ==")
        for stage, names in experiment.context.space.by_stage().items():
            values = {n: candidate.config[n] for n in names if n in candidate.config}
            if values:
                click.echo(f"{stage}: {json.dumps(values)}")
        if candidate.rationale:
            click.echo(f"rationale: {candidate.rationale}")
        if prompt is None and not candidate.predictions:
            click.echo("predicted: nothing (no predict_training_log implementation answered before any trial)")
        for prediction in candidate.predictions:
            curve = ", ".join(f"{step}%: {value:.4g}" for step, value in prediction.log.curve("valid", metric))
            click.echo(f"predicted valid {metric} ({prediction.predictor}): {curve}")
        if candidate.repairs:
            click.echo("repaired: " + "; ".join(candidate.repairs))


def _plan_dict(candidate: Any) -> dict[str, Any]:
    return {
        "source": candidate.source,
        "config": candidate.config,
        "rationale": candidate.rationale,
        "repairs": candidate.repairs,
        "predictions": [{"predictor": p.predictor, "final": p.final, "log": p.log.to_list()}
                        for p in candidate.predictions],
    }
