"""The run folder and its Optuna study: where every trial, prediction, prompt and real log is kept.

A run folder holds ``run.json`` (the settings, for ``--resume``), ``study.db`` (an Optuna SQLite study, unless
another storage URL was given), ``trials/<number>/`` (each trial's artifacts) and, at the end, ``report.html``
and ``summary.json``. Everything about a trial lives in the study (its parameters, user attributes and state),
so any worker sharing the storage sees it; nothing is kept only in memory. A trial's user attributes are three,
each written once: ``candidate`` (source, rationale, repairs, predictions, prompt, raw LLM answer; at enqueue),
``worker`` (``host:pid``; when taken) and ``result`` (metrics, log, artifacts, error, duration; when it ends).
Studies written before this layout kept each of those fields as its own attribute; the readers take both.

Several workers may share one study (PostgreSQL, or SQLite on one machine). Candidates are *enqueued* as
WAITING trials and *taken* with ``study.ask()``, which hands each waiting trial to exactly one worker. Planning
happens under a :meth:`RunStore.planning_lock` (a PostgreSQL advisory lock, or a file lock beside a SQLite
database), so two workers never ask the LLM for the same round. Running trials send heartbeats; a trial whose
worker died is failed by the next worker that looks, and re-queued once (Optuna's
``RetryHeartbeatStaleTrialCallback``, minus what the dead worker wrote: the retry is a fresh, unsigned trial).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import hashlib
import logging
import math
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_gpt.cards.model_choice import is_choice_spec, same_model_pruner
from automl_gpt.cards.search_space import CategoricalParam, FloatParam, IntParam, SearchSpace
from automl_gpt.errors import DamagedFileError, StorageError, UsageError
from automl_gpt.planners.base import Candidate, PastTrial, Prediction
from automl_gpt.runs.options import RunSettings
from automl_gpt.training import Direction, TrainingLog, TrialResult, TrialState

if TYPE_CHECKING:  # Optuna loads when a store opens, not at start-up (``plugins list`` stays fast)
    from optuna.storages import RDBStorage
    from optuna.study import Study
    from optuna.trial import FrozenTrial, Trial

logger = logging.getLogger("automl_gpt.runs.store")

SETTINGS_ATTR = "settings"
INTERRUPTED = "interrupted: the process running this trial stopped before it finished"
CANDIDATE_ATTR = "candidate"
WORKER_ATTR = "worker"
RESULT_ATTR = "result"
MAX_RETRIES = 1
MAX_SLUG = 60
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def new_run_id(card_name: str) -> str:
    """A sortable, unique run id: ``<slug of the card name>-<yyyymmdd-hhmmss>-<4 hex>``.

    The id names the run's folder, so it is one safe path component whatever the card's name holds.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{slug(card_name)}-{stamp}-{uuid.uuid4().hex[:4]}"


def slug(name: str, max_length: int = MAX_SLUG) -> str:
    """``name`` as a safe folder-name part: letters, digits, ``_``, ``.`` and ``-`` only (every other run of
    characters, ``/`` and newlines included, becomes one ``_``), no leading dot or dash, at most ``max_length``
    characters; ``run`` when nothing is left."""
    text = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    text = text[:max_length].strip("._-")
    return text or "run"


def open_storage(url: str, heartbeat_s: int | None = 10) -> RDBStorage:
    """An Optuna RDB storage with heartbeats and one retry of trials whose worker died."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # We drive heartbeats ourselves around each trial (ask/tell, not Study.optimize), with Optuna's stable-for-years
    # but still "experimental" heartbeat API: its warnings say nothing a user can act on.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    retry = _retry_callback()
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    storage = _created_once(lambda: optuna.storages.RDBStorage(
        url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_s,
        grace_period=None if heartbeat_s is None else 3 * heartbeat_s,
        heartbeat_stale_trial_callback=retry if heartbeat_s else None,
    ))
    if url.startswith("sqlite"):
        _fast_sqlite(storage.engine)
    return storage


def _created_once(create: Callable[[], RDBStorage], attempts: int = 5) -> RDBStorage:
    """``create()``, again when it lost the race to create a fresh database's tables to another process.

    Optuna creates its tables and schema-version row on first use; two processes opening one fresh study at once
    (a worker and the run, or a report) could both try, and the loser failed with "table already exists" or a
    UNIQUE constraint on the version row. By the next attempt the winner has created them.
    """
    import sqlalchemy.exc

    for attempt in range(1, attempts):
        try:
            return create()
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError) as exc:
            if isinstance(exc, sqlalchemy.exc.OperationalError) and "already exists" not in str(exc):
                raise
            time.sleep(0.05 * attempt)
    return create()


def _fast_sqlite(engine: Any) -> None:
    """WAL journal with normal sync: a commit costs a write, not an fsync, and survives a killed process (only
    an operating-system crash can lose the last commits). Without it each streamed log value cost ~30 ms."""
    import sqlalchemy

    def on_connect(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    sqlalchemy.event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections opened before the listener existed are replaced


def _retry_callback() -> Callable[[Study, FrozenTrial], None]:
    """Queue a failed trial again (at most ``MAX_RETRIES`` times) with its configuration and candidate only.

    Optuna's callback copies every user attribute onto the retry. The dead worker's ``worker`` signature would
    make the retry look signed, i.e. already beating, from the moment it is taken: if the worker that takes it
    died before its first heartbeat, neither Optuna's check (no heartbeat) nor :meth:`RunStore.fail_stale`
    (signed) would ever fail it. Its ``result``, if it wrote one, belongs to the failed trial too.
    """
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)

    def requeue(study: Study, trial: FrozenTrial) -> None:
        fresh = copy.copy(trial)
        fresh.user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in (WORKER_ATTR, RESULT_ATTR)}
        retry(study, fresh)

    return requeue


def load_settings_from_study(storage_url: str, study_name: str) -> RunSettings:
    """The settings the first worker stored in a shared study (for ``automl-gpt worker``)."""
    import optuna

    try:
        study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url, None))
    except KeyError:
        raise UsageError(f"no study '{study_name}' in that storage: start it with 'automl-gpt run ... "
                         f"--storage URL --study {study_name}'") from None
    data = study.user_attrs.get(SETTINGS_ATTR)
    if not data:
        raise UsageError(f"study '{study_name}' was not created by 'automl-gpt run' (it has no settings)")
    return RunSettings.from_dict(data)


STUDY_FILE = "study.db"
RESTORE_STUDY = "restore study.db from a backup; nothing in the run folder was changed"


def check_study(folder: Path, settings: RunSettings) -> None:
    """Refuse to continue or re-report a run whose SQLite study in ``folder`` is missing, empty or damaged while
    the folder holds its results (a fresh study would overwrite them with an empty run)."""
    if settings.storage is not None:
        return
    path = folder / STUDY_FILE
    results = (folder / "summary.json").exists() or any((folder / "trials").glob("*"))
    if not path.exists() or path.stat().st_size == 0:
        if results:
            state = "missing" if not path.exists() else "empty"
            raise DamagedFileError(path, f"{state}, but the folder holds the run's results", RESTORE_STUDY)
        return
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            names = {row[0] for row in connection.execute("SELECT study_name FROM studies")}
            connection.execute("SELECT COUNT(*) FROM trials").fetchone()
    except sqlite3.Error as exc:
        raise DamagedFileError(path, f"not a readable study: {exc}", RESTORE_STUDY) from None
    if settings.study_name not in names and results:
        raise DamagedFileError(path, f"it holds no study '{settings.study_name}'", RESTORE_STUDY)


@contextlib.contextmanager
def _readable_storage(url: str) -> Iterator[None]:
    """Turn a storage that cannot be opened (a damaged file, a server that refuses) into one clear error."""
    import sqlalchemy.exc

    try:
        yield
    except sqlalchemy.exc.DatabaseError as exc:
        problem = " ".join(str(exc.orig).split()) if exc.orig is not None else type(exc).__name__
        if url.startswith("sqlite:///") and ("not a database" in problem or "malformed" in problem):
            raise DamagedFileError(url.removeprefix("sqlite:///"), problem, RESTORE_STUDY) from None
        raise StorageError(f"cannot open the study storage {_without_password(url)}: {problem} "
                           "(check the --storage URL, the server, and that the place is writable)") from None


def _without_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class RunStore:
    """Opens the run's study and converts between Optuna trials and automl-gpt's trial records."""

    def __init__(self, folder: Path, settings: RunSettings, space: SearchSpace, direction: Direction) -> None:
        import optuna

        self.folder = folder
        self.settings = settings
        self.space = space
        self.url = settings.storage_url(folder)
        pruner: optuna.pruners.BasePruner = (
            optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10) if settings.prune
            else optuna.pruners.NopPruner()
        )
        if settings.prune and is_choice_spec(settings.model):  # several model cards: prune like against like
            pruner = same_model_pruner(pruner)
        with _readable_storage(self.url):
            self.storage = open_storage(self.url, settings.heartbeat_s)
            self.study = optuna.create_study(
                storage=self.storage,
                study_name=settings.study_name,
                direction=direction,
                load_if_exists=True,
                sampler=optuna.samplers.RandomSampler(seed=settings.seed),
                pruner=pruner,
            )
        if SETTINGS_ATTR not in self.study.user_attrs:
            self.study.set_user_attr(SETTINGS_ATTR, settings.to_dict())
        self._lock_engine: Any = None
        self.lock_wait_s = 0.0
        self._stale_checked_at: float | None = None
        self._past: dict[int, PastTrial] = {}  # finished trials never change: each is converted once

    # -- the queue --------------------------------------------------------------------------------------

    def enqueue(self, candidate: Candidate) -> None:
        """Put a candidate in the shared queue as a WAITING trial, with its predictions and provenance (one
        attribute, written in the same transaction as the trial)."""
        attrs = {CANDIDATE_ATTR: {
            "source": candidate.source,
            "rationale": candidate.rationale,
            "repairs": candidate.repairs,
            "predictions": [_prediction_to_dict(p) for p in candidate.predictions],
            "prompt": candidate.prompt,
            "raw_response": candidate.raw_response,
        }}
        self.study.enqueue_trial(candidate.config, user_attrs=attrs, skip_if_exists=False)

    def trials(self) -> list[FrozenTrial]:
        """One read of every trial of the study (pass it to the helpers below to avoid re-reading)."""
        return self.study.get_trials(deepcopy=False)

    def waiting(self, trials: list[FrozenTrial] | None = None) -> int:
        import optuna

        return sum(t.state == optuna.trial.TrialState.WAITING for t in trials or self.trials())

    def running(self, trials: list[FrozenTrial] | None = None) -> int:
        import optuna

        return sum(t.state == optuna.trial.TrialState.RUNNING for t in trials or self.trials())

    def retried(self, trials: list[FrozenTrial] | None = None) -> set[int]:
        """Numbers of failed trials that were queued again (their retry carries their budget slot)."""
        return {n for t in (trials if trials is not None else self.trials())
                for n in t.system_attrs.get("retry_history", [])}

    def slots_used(self, trials: list[FrozenTrial] | None = None) -> int:
        """Trials that count against the budget: every trial, a retried one and its retries counted once."""
        trials = trials if trials is not None else self.trials()
        return len(trials) - len(self.retried(trials))

    def take(self) -> tuple[Trial, Candidate]:
        """Take the oldest WAITING trial as this worker's running trial (call under the planning lock).

        Sends the trial's first heartbeat (:meth:`heartbeat` sends the later ones).
        """
        trial = self.study.ask()
        # Beat, fill in the parameters, then sign: a trial signed by a worker always has a heartbeat and its whole
        # configuration, so a worker that dies at any point is noticed (see fail_stale for the unsigned case).
        self.storage.record_heartbeat(_trial_id(trial))
        config = self.space.active(self.fixed_params(trial))
        for name in config:
            _suggest(trial, name, self.space[name])
        trial.set_user_attr(WORKER_ATTR, WORKER_ID)
        attrs = _candidate_attrs(trial.user_attrs)  # as read by ask(), after the trial left the queue
        candidate = Candidate(
            dict(trial.params), source=str(attrs.get("source", "?")), rationale=str(attrs.get("rationale", "")),
            predictions=[_prediction_from_dict(p) for p in attrs.get("predictions") or []],
            repairs=list(attrs.get("repairs") or []), prompt=attrs.get("prompt"),
            raw_response=attrs.get("raw_response"),
        )
        return trial, candidate

    def fixed_params(self, trial: Trial) -> dict[str, Any]:
        """The configuration enqueued for a trial that ``study.ask()`` handed out (maybe by another worker).

        Optuna keeps it in the trial's system attributes, which its public ``Trial`` no longer exposes; the
        storage's getter is the one supported way to read them.
        """
        attrs = self.storage.get_trial_system_attrs(_trial_id(trial))
        return dict(attrs.get("fixed_params") or {})

    def finish(self, trial: Trial, result: TrialResult, value: float | None) -> None:
        """Record a trial's result in the study (COMPLETE, PRUNED or FAIL) with its log and metrics.

        Two writes: the result as one attribute, then the state and value. The state goes straight to the storage
        rather than through ``study.tell``, which reads the trial twice around the same write; the study's sampler,
        the one thing ``tell`` would also inform, takes no part here (the planners choose configurations).
        """
        import optuna

        states = optuna.trial.TrialState
        record = {"metrics": result.metrics, "log": result.log.to_list(), "artifacts": result.artifacts,
                  "error": result.error, "duration_s": result.duration_s}
        values = None if value is None or math.isnan(value) else [float(value)]
        if result.state == TrialState.COMPLETE and values is not None:
            state = states.COMPLETE
        elif result.state == TrialState.PRUNED:
            state = states.PRUNED  # with the last value it reached, as tell gives a pruned trial
        else:
            state, values = states.FAIL, None
        try:
            trial.set_user_attr(RESULT_ATTR, record)
            self.storage.set_trial_state_values(_trial_id(trial), state, values)
        except optuna.exceptions.UpdateFinishedTrialError:
            # Another worker missed our heartbeats (an overloaded machine) and failed this trial; its retry is
            # queued and will train it again, so the budget slot is not lost.
            logger.warning("trial %d was declared dead by another worker before it finished; its retry will run",
                           trial.number)

    # -- workers that died ------------------------------------------------------------------------------

    def requeue_interrupted(self) -> int:
        """Fail and re-queue every RUNNING trial at once: only for a single-process run being resumed, where no
        other worker can be running them. Returns how many."""
        import optuna

        running = self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        for trial in running:  # a FAIL trial without a result reads as INTERRUPTED (see to_past_trial)
            self._fail_and_requeue(trial)
        return len(running)

    def fail_stale(self, trials: list[FrozenTrial] | None = None) -> None:
        """Fail (and re-queue) trials whose worker stopped sending heartbeats.

        A worker killed between ``study.ask()`` and its first heartbeat leaves a RUNNING trial that Optuna's
        heartbeat check never sees; such a trial (not yet signed by a worker) is failed and re-queued once it is
        twice the grace period old. A retry is unsigned until taken too (see ``_retry_callback``), so this holds
        for it as for a fresh trial.

        Looks at most once per heartbeat interval (a call sooner after the last one returns at once): a trial goes
        stale only after three intervals without a beat, so this delays its retry by at most one interval and
        spares the store a query per trial when trials are short.
        """
        import optuna

        now_s = time.monotonic()
        if self._stale_checked_at is not None and now_s - self._stale_checked_at < self.settings.heartbeat_s:
            return
        self._stale_checked_at = now_s
        optuna.storages.fail_stale_trials(self.study)
        grace = 3 * self.settings.heartbeat_s
        now = datetime.datetime.now()
        for trial in trials if trials is not None else self.trials():
            unsigned = trial.state == optuna.trial.TrialState.RUNNING and WORKER_ATTR not in trial.user_attrs
            if unsigned and trial.datetime_start and (now - trial.datetime_start).total_seconds() > 2 * grace:
                self._fail_and_requeue(trial)

    def _fail_and_requeue(self, trial: FrozenTrial) -> None:
        """Mark a running trial FAIL and queue its configuration again (once), as Optuna does for stale trials."""
        import optuna

        try:
            failed = self.storage.set_trial_state_values(_trial_id(trial), optuna.trial.TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker got there first
            return
        if failed:
            _retry_callback()(self.study, self.storage.get_trial(_trial_id(trial)))

    @contextlib.contextmanager
    def heartbeat(self, trial: Trial) -> Iterator[None]:
        """Send heartbeats for a running trial from a background thread while the block runs (the first one was
        sent by :meth:`take`, just before)."""
        interval = self.settings.heartbeat_s
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(interval):
                with contextlib.suppress(Exception):  # a missed beat is retried at the next interval
                    self.storage.record_heartbeat(_trial_id(trial))

        thread = threading.Thread(target=beat, name=f"heartbeat-{trial.number}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    @contextlib.contextmanager
    def planning_lock(self) -> Iterator[None]:
        """Held while a worker plans and takes a trial: a PostgreSQL advisory lock, or a file lock for SQLite."""
        started = time.monotonic()
        if self.url.startswith("postgresql"):
            with self._advisory_lock():
                self.lock_wait_s += time.monotonic() - started
                yield
            return
        if self.url.startswith("sqlite:///"):
            import fcntl

            lock_path = Path(self.url.removeprefix("sqlite:///") + ".lock")
            with open(lock_path, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                self.lock_wait_s += time.monotonic() - started
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        yield  # other databases: rely on Optuna's own transactions

    @contextlib.contextmanager
    def _advisory_lock(self) -> Iterator[None]:
        import sqlalchemy

        if self._lock_engine is None:
            self._lock_engine = sqlalchemy.create_engine(self.url, pool_pre_ping=True)
        key = int.from_bytes(hashlib.sha256(self.settings.study_name.encode()).digest()[:8], "big", signed=True)
        with self._lock_engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})

    # -- reading ----------------------------------------------------------------------------------------

    def trial_dir(self, number: int) -> Path:
        path = self.folder / "trials" / f"{number:04d}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def history(self, trials: list[FrozenTrial] | None = None) -> list[PastTrial]:
        """Every finished trial, in order, as planners and reports see it.

        Cheap to call again as the study grows: Optuna's storage cache reads only the trials that are new or
        were unfinished at the last read, and each finished trial is converted once.
        """
        history = []
        for trial in trials if trials is not None else self.trials():
            past = self._past.get(trial.number)
            if past is None:
                past = to_past_trial(trial)
                if past is None:
                    continue
                self._past[trial.number] = past
            history.append(past)
        return history


def to_past_trial(trial: FrozenTrial) -> PastTrial | None:
    """An Optuna FrozenTrial as a :class:`PastTrial`; None while it is still waiting or running."""
    import optuna

    states = {
        optuna.trial.TrialState.COMPLETE: TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED: TrialState.PRUNED,
        optuna.trial.TrialState.FAIL: TrialState.FAIL,
    }
    if trial.state not in states:
        return None
    attrs = trial.user_attrs.get(RESULT_ATTR) or trial.user_attrs
    result = TrialResult(
        state=states[trial.state],
        metrics=dict(attrs.get("metrics") or {}),
        log=TrainingLog.from_list(attrs.get("log") or []),
        artifacts=dict(attrs.get("artifacts") or {}),
        error=attrs.get("error") or (INTERRUPTED if trial.state == optuna.trial.TrialState.FAIL else None),
        duration_s=float(attrs.get("duration_s") or 0.0),
    )
    predictions = [_prediction_from_dict(p) for p in _candidate_attrs(trial.user_attrs).get("predictions") or []]
    return PastTrial(trial.number, dict(trial.params), result, predictions)


def trial_source(trial: FrozenTrial) -> str:
    """Which planner (or ``other worker``, ``transfer``...) proposed an Optuna trial; ``?`` when unknown."""
    return str(_candidate_attrs(trial.user_attrs).get("source", "?"))


def _trial_id(trial: Trial | FrozenTrial) -> int:
    """A trial's id in its storage, which the storage calls above (heartbeats, state writes, system attributes)
    take and Optuna exposes on neither ``Trial`` nor ``FrozenTrial``: the one use of an Optuna private attribute
    in automl-gpt (checked against Optuna 4.0 to 5.0.0; a rename there fails ``tests/core/test_run_store.py``)."""
    return trial._trial_id


def _candidate_attrs(user_attrs: dict[str, Any]) -> dict[str, Any]:
    """The candidate's fields of a trial: one attribute, or (studies from older versions) separate ones."""
    return dict(user_attrs.get(CANDIDATE_ATTR) or user_attrs)


def _suggest(trial: Trial, name: str, param: FloatParam | IntParam | CategoricalParam) -> None:
    if isinstance(param, FloatParam):
        trial.suggest_float(name, param.low, param.high, log=param.log)
    elif isinstance(param, IntParam):
        trial.suggest_int(name, param.low, param.high, log=param.log)
    else:
        trial.suggest_categorical(name, param.choices)


def _prediction_to_dict(prediction: Prediction) -> dict[str, Any]:
    data: dict[str, Any] = {"predictor": prediction.predictor, "final": prediction.final,
                            "log": prediction.log.to_list()}
    if prediction.uncertainty is not None:
        data["uncertainty"] = prediction.uncertainty
    return data


def _prediction_from_dict(data: dict[str, Any]) -> Prediction:
    return Prediction(data["predictor"], data.get("final"), TrainingLog.from_list(data.get("log") or []),
                      data.get("uncertainty"))


def inside_run(path: Path, folder: Path, anchor: str = "trials") -> Path:
    """A recorded path, re-rooted in the run ``folder`` (from its ``anchor`` folder on) when the run was started
    from another directory or has moved."""
    if path.exists() or anchor not in path.parts:
        return path
    parts = path.parts
    index = len(parts) - 1 - parts[::-1].index(anchor)
    return folder.joinpath(*parts[index:])
