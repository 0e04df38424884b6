"""The run folder and its Optuna study: where every trial, prediction, prompt and real log is kept.

A run folder holds ``run.json`` (the settings, for ``--resume``), ``study.db`` (an Optuna SQLite study, unless
another storage URL was given), ``trials/<number>/`` (each trial's artifacts) and, at the end, ``report.html``
and ``summary.json``. Everything about a trial lives in the study's user attributes, so any worker sharing the
storage sees it; nothing is kept only in memory.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from automl_gpt.errors import UsageError
from automl_gpt.planning import Candidate, PastTrial, Prediction
from automl_gpt.search_space import CategoricalParam, FloatParam, IntParam, SearchSpace
from automl_gpt.training import TrainingLog, TrialResult, TrialState

SETTINGS_FILE = "run.json"
INTERRUPTED = "interrupted: the process running this trial stopped before it finished"


@dataclass
class RunSettings:
    """What a run was asked to do; saved in ``run.json`` so ``--resume`` continues with the same settings."""

    card: str
    backend: str
    model: str
    planner: str = "llm"
    llm: str = "local"
    budget: int = 30
    time_budget_s: float | None = None
    seed: int = 0
    batch_size: int = 2
    max_failures: int = 5
    trial_timeout_s: float | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    prune: bool = True
    llm_cache: bool = True
    storage: str | None = None
    study_name: str = "automl-gpt"
    run_id: str = ""
    created: float = 0.0

    @classmethod
    def load(cls, folder: Path) -> RunSettings:
        path = folder / SETTINGS_FILE
        if not path.exists():
            raise UsageError(f"{folder}: not a run folder (no {SETTINGS_FILE}); pass a folder made by 'automl-gpt run'")
        return cls(**json.loads(path.read_text()))

    def save(self, folder: Path) -> None:
        (folder / SETTINGS_FILE).write_text(json.dumps(asdict(self), indent=2))


def new_run_id(card_name: str) -> str:
    """A sortable, unique run id: ``<card>-<yyyymmdd-hhmmss>-<4 hex>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{card_name}-{stamp}-{uuid.uuid4().hex[:4]}"


class RunStore:
    """Opens the run's study and converts between Optuna trials and automl-gpt's trial records."""

    def __init__(self, folder: Path, settings: RunSettings, space: SearchSpace, direction: str) -> None:
        import optuna

        self.folder = folder
        self.settings = settings
        self.space = space
        storage = settings.storage or f"sqlite:///{(folder / 'study.db').resolve()}"
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        pruner: optuna.pruners.BasePruner = (
            optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10) if settings.prune
            else optuna.pruners.NopPruner()
        )
        self.study = optuna.create_study(
            storage=storage,
            study_name=settings.study_name,
            direction=direction,
            load_if_exists=True,
            sampler=optuna.samplers.RandomSampler(seed=settings.seed),
            pruner=pruner,
        )

    def trial_dir(self, number: int) -> Path:
        path = self.folder / "trials" / f"{number:04d}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self, candidate: Candidate) -> Any:
        """Enqueue a candidate and take it as a running trial; returns the Optuna trial."""
        attrs = {
            "source": candidate.source,
            "rationale": candidate.rationale,
            "repairs": candidate.repairs,
            "predictions": [_prediction_to_dict(p) for p in candidate.predictions],
            "prompt": candidate.prompt,
            "raw_response": candidate.raw_response,
        }
        self.study.enqueue_trial(candidate.config, user_attrs=attrs, skip_if_exists=False)
        trial = self.study.ask()
        for name in self.space.active(self.fixed_params(trial)):
            _suggest(trial, name, self.space[name])
        return trial

    def fixed_params(self, trial: Any) -> dict[str, Any]:
        """The configuration enqueued for a trial that ``study.ask()`` handed out (maybe by another worker).

        Optuna keeps it in the trial's system attributes, which its public ``Trial`` no longer exposes; the
        storage's getter is the one supported way to read them.
        """
        attrs = self.study._storage.get_trial_system_attrs(trial._trial_id)
        return dict(attrs.get("fixed_params") or {})

    def finish(self, trial: Any, result: TrialResult, value: float | None) -> None:
        """Record a trial's result in the study (COMPLETE, PRUNED or FAIL) with its log and metrics."""
        import optuna

        trial.set_user_attr("metrics", result.metrics)
        trial.set_user_attr("log", result.log.to_list())
        trial.set_user_attr("artifacts", result.artifacts)
        trial.set_user_attr("error", result.error)
        trial.set_user_attr("duration_s", result.duration_s)
        if result.state == TrialState.COMPLETE and value is not None:
            self.study.tell(trial, value)
        elif result.state == TrialState.PRUNED:
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)

    def fail_interrupted(self) -> int:
        """Mark trials left RUNNING by a killed single-process run as FAIL (before resuming it); returns how many."""
        import optuna

        running = self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        for trial in running:
            self.study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        return len(running)

    def history(self) -> list[PastTrial]:
        """Every finished trial, in order, as planners and reports see it."""
        return [past for trial in self.study.get_trials(deepcopy=False) if (past := to_past_trial(trial))]


def to_past_trial(trial: Any) -> PastTrial | None:
    """An Optuna FrozenTrial as a :class:`PastTrial`; None while it is still waiting or running."""
    import optuna

    states = {
        optuna.trial.TrialState.COMPLETE: TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED: TrialState.PRUNED,
        optuna.trial.TrialState.FAIL: TrialState.FAIL,
    }
    if trial.state not in states:
        return None
    attrs = trial.user_attrs
    result = TrialResult(
        state=states[trial.state],
        metrics=dict(attrs.get("metrics") or {}),
        log=TrainingLog.from_list(attrs.get("log") or []),
        artifacts=dict(attrs.get("artifacts") or {}),
        error=attrs.get("error") or (INTERRUPTED if trial.state == optuna.trial.TrialState.FAIL else None),
        duration_s=float(attrs.get("duration_s") or 0.0),
    )
    predictions = [_prediction_from_dict(p) for p in attrs.get("predictions") or []]
    return PastTrial(trial.number, dict(trial.params), result, predictions)


def trial_source(trial: Any) -> str:
    return str(trial.user_attrs.get("source", "?"))


def _suggest(trial: Any, name: str, param: FloatParam | IntParam | CategoricalParam) -> None:
    if isinstance(param, FloatParam):
        trial.suggest_float(name, param.low, param.high, log=param.log)
    elif isinstance(param, IntParam):
        trial.suggest_int(name, param.low, param.high, log=param.log)
    else:
        trial.suggest_categorical(name, param.choices)


def _prediction_to_dict(prediction: Prediction) -> dict[str, Any]:
    return {"predictor": prediction.predictor, "final": prediction.final, "log": prediction.log.to_list()}


def _prediction_from_dict(data: dict[str, Any]) -> Prediction:
    return Prediction(data["predictor"], data.get("final"), TrainingLog.from_list(data.get("log") or []))
