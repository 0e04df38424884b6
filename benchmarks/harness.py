"""What the real-training benchmarks share: a suite dataset resolved against a backend, a cached evaluator that
trains configurations for real, the run loop's ask/train/tell cycle without its run folder, and the
leave-one-family-out of the shipped performance matrix.

Trainings are cached in ``benchmarks/out/cache`` (one JSON line per configuration, keyed by dataset,
configuration, limits and training seed), so a benchmark rerun or a second planner proposing the same
configuration trains nothing new.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from automl_gpt.cards import DataCard, ModelCard
from automl_gpt.planners import config_key
from automl_gpt.planners.base import PastTrial, Planner, PlanningContext
from automl_gpt.planners.knowledge import PerformanceMatrix
from automl_gpt.plugins import get_plugin_manager
from automl_gpt.training import Backend, TrainingRequest, TrialResult, TrialState
from mine_knowledge import LIMITS as MATRIX_LIMITS
from suite import families

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "benchmarks" / "out" / "cache"
TRAIN_SEED = 0
# the limits the shipped matrix was mined under, so a held-out dataset's trials compare with the matrix's values
LIMITS: dict[str, Any] = dict(MATRIX_LIMITS)


def quiet() -> None:
    """Silence Optuna's per-study chatter and experimental-feature warnings in benchmark output."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    logging.getLogger("automl_gpt").setLevel(logging.WARNING)


def leave_family_out(matrix: PerformanceMatrix, name: str) -> PerformanceMatrix:
    """The matrix without ``name`` and every dataset of its family (siblings share a generator or records)."""
    return matrix.without({name, families().get(name, name)})


@dataclass
class Setup:
    """A dataset resolved against a backend: the model card and objective the run loop would pick."""

    card: DataCard
    backend: Backend
    model_card: ModelCard

    def context(self, seed: int) -> PlanningContext:
        space = self.model_card.space()
        return PlanningContext(self.card, self.model_card, space, self.backend.objective(self.card), seed=seed)


def setup(card: DataCard, backend_name: str = "xgboost") -> Setup:
    """Check the data and pick the backend's first model card for the task."""
    backend = get_plugin_manager().backend(backend_name)
    backend.check_data(card)
    model_card = next(c for c in backend.model_cards() if card.task in c.tasks)
    return Setup(card, backend, model_card)


class Evaluator:
    """Trains configurations on one dataset through the backend, with a persistent cache of results.

    A result depends only on (dataset, configuration, limits, training seed): the holdout split is fixed by the
    model card, so the same configuration always scores the same and is trained once.
    """

    def __init__(self, prepared: Setup, limits: dict[str, Any], cache: Path | None, seed: int = TRAIN_SEED) -> None:
        self.prepared = prepared
        self.limits = dict(limits)
        self.seed = seed
        self.trained = 0
        tag = "-".join(f"{k}{v}" for k, v in sorted(limits.items()) if k != "threads")
        self.file = cache / f"{prepared.card.name}-{tag}-s{seed}.jsonl" if cache else None
        self._known: dict[str, dict[str, Any]] = {}
        if self.file is not None and self.file.exists():
            for line in self.file.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    item = json.loads(line)
                    self._known[item["key"]] = item

    def __call__(self, config: dict[str, Any]) -> TrialResult:
        key = config_key(config)
        item = self._known.get(key)
        if item is None:
            result = self._train(config)
            item = {
                "key": key,
                "state": result.state.value,
                "metrics": result.metrics,
                "error": result.error,
                "duration_s": round(result.duration_s, 3),
            }
            self._known[key] = item
            self.trained += 1
            if self.file is not None:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                with self.file.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(item) + "\n")
        return TrialResult(
            TrialState(item["state"]),
            metrics=dict(item["metrics"]),
            error=item.get("error"),
            duration_s=float(item.get("duration_s") or 0.0),
        )

    def _train(self, config: dict[str, Any]) -> TrialResult:
        with tempfile.TemporaryDirectory() as tmp:
            request = TrainingRequest(
                config=dict(config),
                data_card=self.prepared.card,
                model_card=self.prepared.model_card,
                workdir=Path(tmp),
                seed=self.seed,
                limits=dict(self.limits),
            )
            started = time.monotonic()
            try:
                result = self.prepared.backend.train(request)
            except Exception as exc:  # recorded like the run loop records it
                result = TrialResult(TrialState.FAIL, error=f"{type(exc).__name__}: {exc}")
            result.duration_s = result.duration_s or time.monotonic() - started
            return result


def drive(planner: Planner, context: PlanningContext, budget: int, evaluate: Evaluator,
          batch: int = 1) -> list[PastTrial]:
    """The run loop's ask/train/tell cycle (``batch`` candidates per ask), without its run folder and report."""
    seen = {config_key(p.config) for p in context.history}
    for _ in range(budget * 5):
        wanted = min(batch, budget - len(context.history))
        if wanted <= 0:
            break
        for candidate in planner.ask(wanted):
            if config_key(candidate.config) in seen or len(context.history) >= budget:
                continue
            seen.add(config_key(candidate.config))
            result = evaluate(candidate.config)
            context.history.append(PastTrial(len(context.history), dict(candidate.config), result))
            planner.tell(candidate, result)
    return context.history
