"""The AutoML-GPT loop: plan, predict the training log, train for real, learn from the real log, report.

Each round the planner (through the ``plan_trials`` hook) proposes candidates; every ``predict_training_log``
implementation predicts their logs; each candidate is enqueued into the run's Optuna study, trained for real
through the ``run_training`` hook with its log streamed (and pruned when it falls behind), and told back to the
planner. Finished trials are in the study the moment they finish, so an interrupted run loses nothing and
``resume`` continues it.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_gpt.cards import DataCard, ModelCard, load_data_card
from automl_gpt.cards.model_choice import ModelChoice, resolve, trials_by_member
from automl_gpt.cards.resolve import resolve_model_card, saved_model_name
from automl_gpt.errors import AutomlGptError, RunInterrupted, StorageError, UsageError
from automl_gpt.planners import config_key
from automl_gpt.planners.base import Candidate, Experience, PastTrial, Planner, PlanningContext, best_trial
from automl_gpt.planners.knowledge import experience_by_member, portfolio_by_member
from automl_gpt.plugins import get_plugin_manager
from automl_gpt.requirements import Requirements
from automl_gpt.runs.options import SEED_MAX, RunSettings
from automl_gpt.runs.store import RunStore, check_study, new_run_id
from automl_gpt.training import Backend, LogRecord, TrainingRequest, TrialResult, TrialState

if TYPE_CHECKING:  # Optuna loads with the run store, not at start-up
    from optuna.trial import FrozenTrial
    from optuna.trial import Trial as OptunaTrial

Echo = Callable[[str], None]


@dataclass
class RunResult:
    """What a finished run gives back to Python callers."""

    run_id: str
    folder: Path
    best_config: dict[str, Any] | None
    best_value: float | None
    best_metrics: dict[str, float]
    model_path: str | None
    trials: list[PastTrial]
    summary: dict[str, Any] = field(default_factory=dict)
    stopped_on_failures: bool = False


@dataclass
class Experiment:
    """A data card resolved against the plugins: its backend, model card and planning context."""

    data_card: DataCard
    backend: Backend
    model_card: ModelCard
    context: PlanningContext


def prepare(card: str | Path | DataCard, *, backend: str | None = None, model: str | None = None, seed: int = 0,
            constraints: dict[str, Any] | None = None, options: dict[str, Any] | None = None) -> Experiment:
    """Load and check the card, pick the backend and model card, and build the planning context.

    Fails fast with one clear error before any work: bad card, no backend for the task, unknown model, data that
    does not match the card.
    """
    data_card = card if isinstance(card, DataCard) else load_data_card(card)
    manager = get_plugin_manager()
    chosen, model_card = resolve_model_card(model, data_card, manager.backends(),
                                            manager.backend(backend) if backend else None)
    if not chosen.requirements.available:
        raise UsageError(f"backend '{chosen.name}' (model card '{model_card.name}') is unavailable: "
                         f"{chosen.requirements.reason}")
    chosen.check_data(data_card)
    context = PlanningContext(
        data_card=data_card,
        model_card=model_card,
        space=model_card.space(),
        objective=chosen.objective(data_card),
        seed=seed,
        constraints=dict(constraints or {}),
        options=dict(options or {}),
    )
    return Experiment(data_card, chosen, model_card, context)


def run(card: str | Path | DataCard, *, out: str | Path = "runs", echo: Echo | None = None,
        **options: Any) -> RunResult:
    """Run the loop on a data card and return the best configuration, its model and every trial.

    ``options`` are the run's settings, the fields of :class:`~automl_gpt.runs.options.RunSettings` (the ``run``
    command's options; None or left out: the default): ``planner`` is ``llm`` (the paper's method), ``tpe``,
    ``random``, ``default``, ``transfer`` or a plugin's; ``llm`` selects the provider (``local``,
    ``openai:gpt-4o-mini``...); ``budget`` counts trials. With ``experience`` the ``llm`` and ``transfer`` planners
    warm-start from similar past datasets, and the finished run joins the experience store. With ``ensemble`` the
    backend combines the best trials afterwards (:mod:`automl_gpt.runs.ensemble`). Same seed and LLM cache give the
    same trials. The run's folder is ``out/<run id>``; ``echo`` gets its progress lines (default: stderr).
    """
    asked = RunSettings.from_options(**options)
    get_plugin_manager().check_planner(asked.planner)
    experiment = _prepare(card, asked)
    run_id = new_run_id(experiment.data_card.name)
    folder = make_run_folder(Path(out), run_id)
    source = experiment.data_card.source
    settings = replace(asked, card=str(source) if source else "", backend=experiment.backend.name,
                       model=saved_model_name(asked.model or None, experiment.model_card),
                       study_name=asked.study_name or run_id, run_id=run_id, created=time.time())
    settings.save(folder)
    return _until_interrupted(Loop(experiment, settings, folder, echo))


def make_run_folder(out: Path, run_id: str) -> Path:
    """Create ``out/run_id`` (``run_id`` is one safe path component, see :func:`new_run_id`), or say in one line
    why the place cannot be written."""
    folder = out / run_id
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise StorageError(f"{out}: cannot create the run folder ({exc.strerror or exc}); pass a writable --out") \
            from None
    return folder


def resume(folder: str | Path, *, echo: Echo | None = None, **overrides: Any) -> RunResult:
    """Continue a stopped run from its folder with its own settings; finished trials are kept, interrupted ones
    marked FAIL. ``overrides`` change the settings a resumed run may change (:func:`~automl_gpt.runs.options.resumable`:
    the budgets and the failure limit; None: keep)."""
    folder = Path(folder)
    settings = RunSettings.load(folder)
    check_study(folder, settings)
    settings = settings.resumed(**overrides)
    settings.save(folder)
    return _until_interrupted(Loop(_prepare(settings.card, settings), settings, folder, echo))


def _prepare(card: str | Path | DataCard, settings: RunSettings) -> Experiment:
    """:func:`prepare` for a run with these settings."""
    return prepare(card, backend=settings.backend or None, model=settings.model or None, seed=settings.seed,
                   constraints=_constraints(settings.budget, settings.time_budget_s),
                   options={"llm": settings.llm, "llm_cache": settings.llm_cache})


def _until_interrupted(loop: Loop) -> RunResult:
    """Run the loop; Ctrl-C becomes one line saying that finished trials are kept and how to continue."""
    try:
        return loop.run()
    except KeyboardInterrupt:
        raise RunInterrupted(f"interrupted: finished trials are kept in {loop.folder}; continue with "
                             f"'automl-gpt run --resume {loop.folder}'") from None


def work(storage: str, study_name: str, *, out: str | Path = "runs", echo: Echo | None = None) -> RunResult:
    """Join a shared study as one more worker: same card, planner and budget as the worker that started it."""
    from automl_gpt.runs.store import load_settings_from_study

    settings = replace(load_settings_from_study(storage, study_name), storage=storage)
    experiment = _prepare(settings.card, settings)
    folder = Path(out) / settings.run_id
    folder.mkdir(parents=True, exist_ok=True)
    settings.save(folder)
    return Loop(experiment, settings, folder, echo).run()


class Loop:
    """One run: owns the store, the planner and the progress line."""

    def __init__(self, experiment: Experiment, settings: RunSettings, folder: Path, echo: Echo | None) -> None:
        self.experiment = experiment
        self.settings = settings
        self.folder = folder
        self.echo = echo or _stderr
        self._trial_lines: set[str] = set()  # lines trials echoed this run: each is printed once
        self.context = experiment.context
        self.objective = self.context.objective
        self.store = RunStore(folder, settings, self.context.space, self.objective.direction)
        self.manager = get_plugin_manager()

    def run(self) -> RunResult:
        from automl_gpt.runs.report import write_report

        if self.settings.storage is None:  # a single-process run: nothing else can be running its trials
            interrupted = self.store.requeue_interrupted()
            if interrupted:
                self.echo(f"resuming: {interrupted} interrupted trial(s) marked FAIL and queued again")
        self.context.history = self.store.history()
        self._done_at_start = self._slots_done()
        if self.settings.experience and self.settings.planner in EXPERIENCE_PLANNERS:
            self.context.experience, self.context.portfolio = load_experience(self.experiment, self.echo)
        planner = self.manager.planner(self.settings.planner, self.context)
        told = {t.number for t in self.context.history}
        started = time.monotonic()
        failures_in_a_row = 0
        stopped_on_failures = False
        while not self._out_of_time(started):
            taken = self._next_trial(planner, told)
            if taken is None:
                if self._others_running():
                    time.sleep(min(5, self.settings.heartbeat_s))
                    continue
                break
            trial, candidate = taken
            past = self._trial(trial, candidate)
            planner.tell(candidate, past.result)
            told.add(past.number)
            failures_in_a_row = failures_in_a_row + 1 if past.result.state == TrialState.FAIL else 0
            self._progress(past, started)
            if failures_in_a_row >= self.settings.max_failures:
                self.echo(f"stopping: {failures_in_a_row} trials failed in a row (--max-failures); "
                          f"last error: {past.result.error}")
                stopped_on_failures = True
                break
        self._save_stats(planner, time.monotonic() - started)
        if self.settings.ensemble and not self._others_running():
            self._ensemble()
        self.context.history = self.store.history()
        summary = write_report(self.folder, self.store, self.experiment, self.settings)
        if self.settings.experience:
            remember_run(self.experiment, self.context.history, self.settings.run_id, self.echo)
        best = summary.get("best") or {}
        return RunResult(
            run_id=self.settings.run_id,
            folder=self.folder,
            best_config=best.get("config"),
            best_value=best.get("value"),
            best_metrics=best.get("metrics", {}),
            model_path=best.get("model_path"),
            trials=self.context.history,
            summary=summary,
            stopped_on_failures=stopped_on_failures,
        )

    def _ensemble(self) -> None:
        """Combine the run's trials when its backend builds ensembles; a failure is one line, never a lost run."""
        from automl_gpt.runs.ensemble import ensemble_run

        try:
            ensemble_run(self.folder, self.store, self.experiment, echo=self.echo)
        except Exception as exc:  # the trials are safe in the study; 'automl-gpt ensemble RUN' can try again
            self.echo(f"no ensemble built: {_one_line(str(exc)) or type(exc).__name__}")

    def _next_trial(self, planner: Planner, told: set[int]) -> tuple[OptunaTrial, Candidate] | None:
        """Take the next queued trial; when the queue is empty and budget remains, plan a round first.

        Runs under the planning lock, so with many workers each round is planned (and each LLM call made) once.
        """
        with self.store.planning_lock():
            self.store.fail_stale()
            trials = self.store.trials()
            if self.store.waiting(trials) == 0:
                remaining = self.settings.budget - self.store.slots_used(trials)
                if remaining <= 0:
                    return None
                self._catch_up(planner, told, trials)
                candidates = self._ask(planner, min(self.settings.batch_size, remaining), trials)
                if not candidates:
                    self.echo(f"planner '{planner.name}' has nothing new to propose; stopping")
                    return None
                for candidate in candidates:
                    self._predict(candidate)
                    self.store.enqueue(candidate)
            return self.store.take()

    def _catch_up(self, planner: Planner, told: set[int], trials: list[FrozenTrial]) -> None:
        """Refresh the history from the study and tell the planner what other workers found."""
        self.context.history = self.store.history(trials)
        for past in self.context.history:
            if past.number not in told:
                told.add(past.number)
                planner.tell(Candidate(past.config, source="other worker"), past.result)

    def _ask(self, planner: Planner, n: int, trials: list[FrozenTrial], attempts: int = 5) -> list[Candidate]:
        """Up to ``n`` candidates not tried before; asks again (a few times) when all were duplicates."""
        seen = {config_key(t.params or t.system_attrs.get("fixed_params") or {}) for t in trials}
        for _ in range(attempts):
            fresh = []
            for candidate in planner.ask(n):
                key = config_key(candidate.config)
                if key not in seen:
                    seen.add(key)
                    fresh.append(candidate)
            if fresh:
                return fresh
        return []

    def _predict(self, candidate: Candidate) -> None:
        attach_predictions(candidate, self.context)

    def _others_running(self) -> bool:
        return self.store.running() > 0

    def _trial(self, trial: OptunaTrial, candidate: Candidate) -> PastTrial:
        workdir = self.store.trial_dir(trial.number)
        with self.store.heartbeat(trial):
            result = self._train(trial, candidate, workdir)
        value = result.value(self.objective)
        if result.state == TrialState.COMPLETE and (value is None or math.isnan(value)):
            result.state = TrialState.FAIL
            result.error = result.error or f"the backend reported no {self.objective.key}"
        self.store.finish(trial, result, value)
        past = PastTrial(trial.number, dict(candidate.config), result, list(candidate.predictions))
        self.context.history.append(past)
        return past

    def _train(self, trial: OptunaTrial, candidate: Candidate, workdir: Path) -> TrialResult:
        timeout = self.settings.trial_timeout_s
        started = time.monotonic()
        reported = {"count": 0}
        timed_out = {"flag": False}

        def report(record: LogRecord) -> bool:
            reported["count"] += 1
            if timeout is not None and time.monotonic() - started > timeout:
                timed_out["flag"] = True
                return True
            if (self.settings.prune and record.split == "valid" and record.metric == self.objective.metric
                    and _pruning_step(record.step) and not math.isnan(record.value)):
                trial.report(record.value, record.step)
                return bool(trial.should_prune())
            return False

        model_card, config = resolve(self.experiment.model_card, dict(candidate.config))  # a choice's member
        request = TrainingRequest(
            config=config, data_card=self.experiment.data_card, model_card=model_card, workdir=workdir,
            seed=(self.settings.seed + trial.number) % (SEED_MAX + 1), report=report,
            time_limit_s=timeout, limits=dict(self.settings.limits),
            echo=lambda text: self._trial_echo(trial.number, text),
        )
        try:
            result = self.manager.hook.run_training(backend=self.experiment.backend, request=request)
        except MemoryError:
            result = TrialResult(TrialState.FAIL, error="out of memory")
        except Exception as exc:  # a crashing trial is recorded, never fatal to the run
            result = TrialResult(TrialState.FAIL, error=f"{type(exc).__name__}: {_one_line(str(exc))}")
        if timed_out["flag"]:
            result.state = TrialState.FAIL
            result.error = f"timed out after {timeout:g} s (--trial-timeout)"
        result.duration_s = result.duration_s or time.monotonic() - started
        return result

    def _trial_echo(self, number: int, text: str) -> None:
        """A backend's line for the terminal (progress, weights, fallbacks), each distinct line once per run."""
        if text in self._trial_lines:
            return
        self._trial_lines.add(text)
        self.echo(f"  trial #{number}: {text}")

    def _out_of_time(self, started: float) -> bool:
        limit = self.settings.time_budget_s
        return limit is not None and time.monotonic() - started >= limit

    def _slots_done(self) -> int:
        """Finished trials that count against the budget (a trial interrupted and queued again counts once)."""
        retried = self.store.retried()
        return sum(t.number not in retried for t in self.context.history)

    def _progress(self, past: PastTrial, started: float) -> None:
        done = self._slots_done()
        total = self.settings.budget
        metric = self.objective.metric
        result = past.result
        text = f"trial {done}/{total} #{past.number} {result.state.value:<8}"
        value = result.value(self.objective)
        if result.state == TrialState.FAIL:
            text += f" error: {result.error}"
        elif value is not None:
            text += f" valid {metric} {value:.4g}"
            predicted = [f"{p.final:.4g} {p.predictor}" for p in past.predictions if p.final is not None]
            if predicted:
                text += " (predicted " + ", ".join(predicted) + ")"
        best = best_trial(self.context.history, self.objective)
        if best is not None:
            text += f" | best {best.result.value(self.objective):.4g} (#{best.number})"
        elapsed = time.monotonic() - started
        eta = elapsed / max(1, done - self._done_at_start) * max(0, total - done)
        text += f" | {_clock(elapsed)} elapsed, ETA {_clock(eta)}"
        self.echo(text)

    def _save_stats(self, planner: Planner, elapsed: float) -> None:
        """Add this session's wall time and planner statistics (LLM calls, fallbacks) to the study's totals."""
        attrs = self.store.study.user_attrs
        self.store.study.set_user_attr("wall_s", float(attrs.get("wall_s") or 0.0) + elapsed)
        stats = planner.stats()
        if stats:
            self.store.study.set_user_attr("planner_stats", _merge_stats(attrs.get("planner_stats") or {}, stats))


EXPERIENCE_PLANNERS = ("llm", "transfer")
EMBEDDINGS = Requirements(extra="transfer", modules=("sentence_transformers",))
SHOWN_EXPERIENCE = 3  # the most similar datasets named on the terminal


def load_experience(experiment: Experiment, echo: Echo) -> tuple[list[Experience], list[Candidate]]:
    """The most similar past datasets (the user's runs first, then the backend's shipped knowledge) and the
    learned portfolio of first configurations.

    Similarity uses the card text when the ``[transfer]`` extra is installed, the meta-features alone otherwise
    (said in one line). When the store cannot be read, the run goes on without experience and says why.
    """
    from automl_gpt.cards.similarity import CardEmbedder, text_encoder_installed
    from automl_gpt.runs.experience import ExperienceStore

    text = text_encoder_installed()
    if not text:
        echo(f"similar datasets by meta-features only (card-text similarity: {EMBEDDINGS.reason})")
    try:
        store = ExperienceStore(embedder=CardEmbedder(text=text))
        experience = experience_by_member(experiment.model_card,
                                          lambda card: store.find_similar(experiment.data_card, card))
        portfolio = portfolio_by_member(experiment.model_card, lambda card: store.portfolio(experiment.data_card, card))
    except AutomlGptError as exc:
        echo(f"no experience used: {exc}")
        return [], []
    if experience:
        shown = ", ".join(f"{e.dataset} ({'your run, ' if e.origin == 'user' else ''}similarity {e.similarity:.2f})"
                          for e in experience[:SHOWN_EXPERIENCE])
        more = len(experience) - SHOWN_EXPERIENCE
        echo(f"experience: {shown}" + (f" and {more} more" if more > 0 else ""))
    if portfolio:
        echo(f"knowledge: a portfolio of {len(portfolio)} first configurations learned from the shipped performance "
             f"{matrices(experiment.model_card)}; first: {portfolio[0].rationale.removeprefix('portfolio: ')}")
    return experience, portfolio


def matrices(card: ModelCard) -> str:
    """Which shipped performance matrices a run's portfolio came from, for the run's first lines."""
    from automl_gpt.planners.knowledge import shipped_matrix

    found = [(m.name, shipped_matrix(m)) for m in (card.members if isinstance(card, ModelChoice) else [card])]
    named = [f"{name} ({len(f[1].datasets)} datasets x {len(f[1].configs)} configurations)"
             for name, f in found if f is not None]
    return f"matri{'ces' if len(named) > 1 else 'x'} of {', '.join(named)}"


def remember_run(experiment: Experiment, history: list[PastTrial], run_id: str, echo: Echo) -> None:
    """Add a finished run to the user's experience store (for warm starts of later runs on similar data)."""
    if not history:
        return
    from automl_gpt.runs.experience import ExperienceStore

    objective = experiment.context.objective
    try:
        choice = isinstance(experiment.model_card, ModelChoice)
        for name, trials in trials_by_member(experiment.model_card, history):  # the card, or each chosen one
            ExperienceStore().add_run(
                experiment.data_card, name,
                [(t.config, t.result.value(objective), t.result.state.value) for t in trials], objective,
                logs=[t.result.log for t in trials], run_id=f"{run_id}-{name}" if choice else run_id,
                metrics=[t.result.metrics for t in trials], embed=False,
            )
    except AutomlGptError as exc:
        echo(f"the run was not added to the experience store: {exc}")


def attach_predictions(candidate: Candidate, context: PlanningContext) -> None:
    """Add every ``predict_training_log`` answer to ``candidate.predictions`` (one per predictor, first kept)."""
    predictions = get_plugin_manager().hook.predict_training_log(candidate=candidate, context=context)
    known = {p.predictor for p in candidate.predictions}
    candidate.predictions.extend(p for p in predictions if p is not None and p.predictor not in known)


def _pruning_step(step: int) -> bool:
    """Steps at which the objective goes to the pruner: every step up to 20, then every 10th. The same steps
    in every trial, so the pruner compares like with like; the full log is stored when the trial ends."""
    return step <= 20 or step % 10 == 0


def _constraints(budget: int, time_budget_s: float | None) -> dict[str, Any]:
    constraints: dict[str, Any] = {"budget": f"{budget} training runs"}
    if time_budget_s:
        constraints["time_budget"] = f"{time_budget_s:g} s"
    return constraints


def _merge_stats(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, (int, float)) and isinstance(merged.get(key), (int, float)):
            merged[key] = merged[key] + value
        else:
            merged[key] = value
    return merged


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


