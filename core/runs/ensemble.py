"""Ensembles of a run's trials: greedy selection with replacement (Caruana et al., 2004), and the run step that
asks the backend to build, save and score one.

The core owns what is generic: :func:`greedy_selection` over any library of validation predictions and a loss,
the request and result types, and :func:`ensemble_run`, which hands the run's completed trials to
:meth:`automl_gpt.training.Backend.build_ensemble`, records the result in the study (so ``summary.json`` and
the report, computed from the study alone, show it) and says in one line whether it beats the best single trial.
The backend owns what is not: where its trials keep their validation predictions, which trials were scored on
the same validation rows, how members are combined and saved as a model file its ``load_model`` recognises.
Selection reads validation predictions only; the test split, when the card has one, is scored once afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_gpt.runs.store import inside_run
from automl_gpt.training import Objective, TrialState

if TYPE_CHECKING:
    import numpy as np
    from automl_gpt.cards import DataCard
    from automl_gpt.planners.base import PastTrial
    from automl_gpt.runs.loop import Experiment
    from automl_gpt.runs.store import RunStore

ENSEMBLE_ATTR = "ensemble"  # the study's user attribute holding the run's ensemble (see Ensemble.to_dict)
ENSEMBLE_FOLDER = "ensemble"  # inside the run folder
DEFAULT_ROUNDS = 50  # auto-sklearn's ensemble_size


@dataclass
class Selection:
    """What :func:`greedy_selection` chose: how often each library member was picked in the kept rounds, and the
    loss after every round (``trajectory``, all rounds, for the report)."""

    counts: list[int]
    trajectory: list[float]

    @property
    def rounds(self) -> int:
        """Rounds kept (the best prefix of the trajectory)."""
        return sum(self.counts)

    @property
    def weights(self) -> list[float]:
        """counts / rounds, one per library member (zero for members never picked)."""
        return [count / self.rounds for count in self.counts]

    @property
    def loss(self) -> float:
        """The loss of the kept ensemble: the lowest value of the trajectory."""
        return min(self.trajectory)


def greedy_selection(library: Sequence[np.ndarray], loss: Callable[[np.ndarray], float],
                     rounds: int = DEFAULT_ROUNDS) -> Selection:
    """Ensemble selection with replacement (Caruana et al., 2004; auto-sklearn's ``EnsembleSelection``).

    ``library`` holds each member's predictions on the same validation rows (probabilities or values, same
    shape); ``loss`` maps averaged predictions to the value to minimise. Round 1 picks the best single member;
    each later round adds (again, possibly) the member whose addition gives the lowest loss of the equally
    weighted average of the picks; ties go to the earlier member. The kept ensemble is the shortest best prefix
    of the rounds, so its loss is never above the best single member's; weights are counts / rounds.
    """
    import numpy as np

    if not library:
        raise ValueError("greedy_selection needs at least one member")
    if rounds < 1:
        raise ValueError("greedy_selection needs at least one round")
    members = [np.asarray(p, dtype="float64") for p in library]
    total = np.zeros_like(members[0])
    picks: list[int] = []
    trajectory: list[float] = []
    for size in range(rounds):
        losses = [loss((total + p) / (size + 1)) for p in members]
        chosen = int(np.argmin(losses))
        total += members[chosen]
        picks.append(chosen)
        trajectory.append(float(losses[chosen]))
    kept = int(np.argmin(trajectory)) + 1
    counts = [0] * len(members)
    for index in picks[:kept]:
        counts[index] += 1
    return Selection(counts, trajectory)


@dataclass
class EnsembleRequest:
    """What :meth:`~automl_gpt.training.Backend.build_ensemble` receives: the run's completed trials (artifact
    paths found inside the run folder), the folder to write the ensemble's model file into (it exists), and the
    number of selection rounds."""

    data_card: DataCard
    objective: Objective
    trials: list[PastTrial]
    folder: Path
    rounds: int = DEFAULT_ROUNDS


@dataclass
class Ensemble:
    """What a backend built: the saved model file, each member trial's weight, and its scores.

    ``metrics`` are the ensemble's ``valid/<metric>`` values on the shared validation rows and, when the card has
    a test split, its ``test/<metric>`` values (scored once, after selection). ``best_trial`` is the best single
    trial among the candidates and ``best_metrics`` its scores on the same basis; ``candidates`` counts the
    trials scored on those validation rows; ``trajectory`` is the validation loss after each selection round.
    """

    model_path: Path
    weights: dict[int, float]
    metrics: dict[str, float]
    best_trial: int
    best_metrics: dict[str, float]
    candidates: int
    trajectory: list[float] = field(default_factory=list)

    def value(self, objective: Objective) -> float | None:
        """The ensemble's validation objective."""
        return self.metrics.get(objective.key)

    def beats(self, objective: Objective) -> bool:
        """True when the ensemble is strictly better than the best single trial on validation."""
        mine, best = self.metrics.get(objective.key), self.best_metrics.get(objective.key)
        return mine is not None and best is not None and objective.better(mine, best)

    def to_dict(self, objective: Objective) -> dict[str, Any]:
        """The JSON form kept in the study and shown under ``ensemble`` in ``summary.json``."""
        return {
            "model_path": str(self.model_path),
            "members": [{"trial": n, "weight": w} for n, w in sorted(self.weights.items(), key=lambda kv: -kv[1])],
            "value": self.value(objective),
            "metrics": self.metrics,
            "best_trial": self.best_trial,
            "best_metrics": self.best_metrics,
            "candidates": self.candidates,
            "rounds": len(self.trajectory),
            "served": self.beats(objective),
        }


def ensemble_run(folder: Path, store: RunStore, experiment: Experiment, *, rounds: int = DEFAULT_ROUNDS,
                 echo: Callable[[str], None]) -> Ensemble | None:
    """Build the run's ensemble through its backend, record it in the study and say in one line what it gives.

    Returns None (and records nothing) when no trial completed or the backend builds no ensembles. ``predict RUN``
    serves the ensemble when it beats the best single trial on validation (``served`` in the record).
    """
    trials = store.trials()
    retried = store.retried(trials)
    complete = [_rooted(t, folder) for t in store.history(trials)
                if t.result.state == TrialState.COMPLETE and t.number not in retried]
    if not complete:
        return None
    objective = experiment.context.objective
    target = folder / ENSEMBLE_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    request = EnsembleRequest(experiment.data_card, objective, complete, target, rounds)
    try:
        ensemble = experiment.backend.build_ensemble(request)
    finally:
        if not any(target.iterdir()):  # nothing built: leave no empty folder behind
            target.rmdir()
    if ensemble is None:
        return None
    record = ensemble.to_dict(objective)
    store.study.set_user_attr(ENSEMBLE_ATTR, record)
    echo(describe(record, objective))
    return ensemble


def describe(record: dict[str, Any], objective: Objective) -> str:
    """One line: the ensemble's members and scores beside the best single trial's, and which one predict serves."""
    metric, best = objective.metric, record["best_trial"]
    members = ", ".join(f"#{m['trial']} x{m['weight']:.2f}" for m in record["members"])
    line = (f"ensemble of {len(record['members'])} of {record['candidates']} trials ({members}): valid {metric} "
            f"{record['value']:.4g} vs {record['best_metrics'].get(objective.key, float('nan')):.4g} for the best "
            f"single trial #{best}")
    test_key = f"test/{metric}"
    if test_key in record["metrics"] and test_key in record["best_metrics"]:
        line += f"; test {metric} {record['metrics'][test_key]:.4g} vs {record['best_metrics'][test_key]:.4g}"
    if record["served"]:
        return line + f"; predict serves the ensemble ({record['model_path']})"
    return line + f"; no better on validation, so predict serves trial #{best}"


def _rooted(trial: PastTrial, folder: Path) -> PastTrial:
    """The trial with its artifact paths found inside the run folder (the run may have moved since)."""
    artifacts = {name: str(inside_run(Path(path), folder)) for name, path in trial.result.artifacts.items()}
    return replace(trial, result=replace(trial.result, artifacts=artifacts))
