"""What crosses the training boundary: requests, streamed logs, results, and the Backend base class.

A backend plugin subclasses :class:`Backend` and registers an instance through ``register_backends``. The core
calls :meth:`Backend.train` (through the ``run_training`` hook) with a :class:`TrainingRequest`; the backend
streams :class:`LogRecord` objects through ``request.report`` as training goes, and returns a
:class:`TrialResult`. When ``report`` returns True the core wants the trial stopped (pruned): the backend stops
at once and returns a result with state ``PRUNED``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from automl_gpt.requirements import Requirements

if TYPE_CHECKING:  # pydantic stays out of start-up (plugins list); cards are only annotations here
    from automl_gpt.cards import DataCard, ModelCard
    from automl_gpt.prediction import Predictor
    from automl_gpt.runs.ensemble import Ensemble, EnsembleRequest

Split = Literal["train", "valid", "test"]
Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class LogRecord:
    """One value of one metric on one split at one training step (boosting round, optimizer step...)."""

    step: int
    split: Split
    metric: str
    value: float


class TrainingLog(Sequence[LogRecord]):
    """An ordered list of :class:`LogRecord`, real or predicted, with curve helpers."""

    def __init__(self, records: Iterable[LogRecord] = ()) -> None:
        self._records = list(records)

    def __getitem__(self, index: int) -> LogRecord:  # type: ignore[override]
        return self._records[index]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[LogRecord]:
        return iter(self._records)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrainingLog) and self._records == other._records

    def append(self, record: LogRecord) -> None:
        self._records.append(record)

    def curve(self, split: Split, metric: str) -> list[tuple[int, float]]:
        """(step, value) pairs of one metric on one split, in step order."""
        return sorted((r.step, r.value) for r in self._records if r.split == split and r.metric == metric)

    def final(self, split: Split, metric: str) -> float | None:
        """The last value of a metric on a split, or None when it was never logged."""
        points = self.curve(split, metric)
        return points[-1][1] if points else None

    def best(self, split: Split, metric: str, direction: Direction) -> float | None:
        """The best value of a metric on a split over the whole log."""
        values = [v for _, v in self.curve(split, metric) if not math.isnan(v)]
        if not values:
            return None
        return min(values) if direction == "minimize" else max(values)

    def metrics(self) -> list[tuple[Split, str]]:
        """The (split, metric) pairs present, in first-seen order."""
        seen: dict[tuple[Split, str], None] = {}
        for record in self._records:
            seen[(record.split, record.metric)] = None
        return list(seen)

    def to_list(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self._records]

    @classmethod
    def from_list(cls, items: Iterable[dict[str, Any]]) -> TrainingLog:
        return cls(LogRecord(int(i["step"]), i["split"], str(i["metric"]), float(i["value"])) for i in items)


class TrialState(str, enum.Enum):
    """Final state of a trial, as in Optuna."""

    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Objective:
    """The metric a search optimises: read from ``TrialResult.metrics['valid/<metric>']``."""

    metric: str
    direction: Direction

    @property
    def key(self) -> str:
        return f"valid/{self.metric}"

    def better(self, a: float, b: float) -> bool:
        """True when value ``a`` is strictly better than ``b``."""
        return a < b if self.direction == "minimize" else a > b


ReportFn = Callable[[LogRecord], bool]


@dataclass
class TrainingRequest:
    """Everything a backend needs to train one configuration.

    ``config`` is the trial's configuration: train what ``model_card.space().check(config)`` returns, and fail the
    trial with its :class:`~automl_gpt.errors.ConfigError` line when it rejects it. ``report`` streams the real log and
    returns True when the trial must stop early (pruned). ``limits`` carries budget caps the user set (for example
    ``max_rows``, ``max_steps``, ``max_examples``) that the backend honours when it knows them. ``echo`` prints a
    line for the person watching (progress, which weights were loaded, a fallback); the run loop prints each
    distinct line once per run, prefixed with the trial number.
    """

    config: dict[str, Any]
    data_card: DataCard
    model_card: ModelCard
    workdir: Path
    seed: int = 0
    report: ReportFn = field(default=lambda record: False)
    time_limit_s: float | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    echo: Callable[[str], None] = field(default=lambda text: None)


@dataclass
class TrialResult:
    """The outcome of one trial.

    ``metrics`` uses ``<split>/<metric>`` keys (``valid/logloss``, ``test/accuracy``); ``artifacts`` maps names
    (``model``, ``config``) to file paths; ``error`` says why a FAIL failed, in one line.
    """

    state: TrialState
    metrics: dict[str, float] = field(default_factory=dict)
    log: TrainingLog = field(default_factory=TrainingLog)
    artifacts: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0

    def value(self, objective: Objective) -> float | None:
        return self.metrics.get(objective.key)


class Backend:
    """Base class of task backends. Subclass it in a plugin and register an instance.

    Subclasses set ``name``, ``tasks`` and ``requirements`` and implement :meth:`model_cards`,
    :meth:`objective`, :meth:`check_data` and :meth:`train`. Heavy libraries are imported inside those methods,
    never at module import.
    """

    name: str = ""
    description: str = ""
    tasks: frozenset[str] = frozenset()
    requirements: Requirements = Requirements()

    def model_cards(self) -> list[ModelCard]:
        """The model cards this backend can train, first one the default."""
        raise NotImplementedError

    def objective(self, data_card: DataCard) -> Objective:
        """The validation metric the search optimises for this dataset."""
        raise NotImplementedError

    def check_data(self, data_card: DataCard) -> None:
        """Raise :class:`~automl_gpt.errors.DataError` or CardError when the data does not match the card."""
        raise NotImplementedError

    def train(self, request: TrainingRequest) -> TrialResult:
        """Train one configuration for real, streaming the log through ``request.report``."""
        raise NotImplementedError

    def load_model(self, model_path: Path) -> Predictor:
        """Load a saved model for prediction (see :mod:`automl_gpt.prediction`).

        ``model_path`` is what a trial's ``model`` artifact names, or a model file this backend wrote itself (an
        ensemble of trials). Raise :class:`~automl_gpt.errors.UsageError` when the path holds no model of
        this backend. Backends that cannot predict yet keep this default.
        """
        from automl_gpt.errors import UsageError

        raise UsageError(f"backend '{self.name}' cannot load saved models for prediction")

    def build_ensemble(self, request: EnsembleRequest) -> Ensemble | None:
        """Combine the run's completed trials into one model (see :mod:`automl_gpt.runs.ensemble`), save it in
        ``request.folder`` as a file :meth:`load_model` recognises, and score it; None: this backend builds none.

        Called after a run (unless ``--no-ensemble``) and by ``automl-gpt ensemble RUN``. Select on validation
        predictions only; score the test split, when the card has one, once afterwards. Raise
        :class:`~automl_gpt.errors.UsageError` when the trials kept nothing to combine.
        """
        return None

    def supports(self, data_card: DataCard) -> bool:
        return data_card.task in self.tasks

    def knowledge_base(self) -> Path | None:
        """A shipped experience export of past runs on public data (None: this backend ships none)."""
        return None

    def performance_matrix(self) -> Path | None:
        """A shipped :class:`~automl_gpt.planners.knowledge.PerformanceMatrix` (configurations x public datasets), which
        answers for :meth:`knowledge_base` and gives the first trials and the predicted logs (None: none)."""
        return None

    def performance_matrices(self) -> list[Path]:
        """Every shipped performance matrix, each mined with one of this backend's model cards (the file names its
        card); a run uses the one mined with its own card. By default :meth:`performance_matrix` alone."""
        path = self.performance_matrix()
        return [Path(path)] if path is not None else []

    def describe(self) -> dict[str, Any]:
        """What ``plugins list`` shows about this backend."""
        return {
            "name": self.name,
            "tasks": sorted(self.tasks),
            "available": self.requirements.available,
            "unavailable_reason": self.requirements.reason,
        }
