"""mmengine hooks that stream a detector's training into automl-gpt's log (imported only when training).

:class:`StreamLogHook` turns per-iteration losses (train split) and per-evaluation COCO bbox mAP (valid split)
into :class:`~automl_gpt.training.LogRecord` objects sent through ``request.report``, and echoes progress lines
(iteration k/N, loss, ETA); when ``report`` asks for a stop it raises :class:`TrialStopped`, which the backend turns
into a PRUNED result. :class:`LoadCheckpointHook` loads the starting weights and says what loaded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automl_gpt.errors import TrainingError
from automl_gpt.progress import StepProgress
from automl_gpt.training import LogRecord, ReportFn, TrainingLog
from automl_gpt_backend_vision.checkpoint import LoadReport, load_user_checkpoint
from mmengine.hooks import Hook

VALID_METRICS = {"coco/bbox_mAP": "bbox_mAP", "coco/bbox_mAP_50": "bbox_mAP_50", "coco/bbox_mAP_75": "bbox_mAP_75"}


class TrialStopped(Exception):
    """Raised inside the training loop when automl-gpt asked the trial to stop (pruning, time limit)."""


class StreamLogHook(Hook):
    """Streams losses and bbox mAP through ``report``; refuses to let an evaluation pass silently as zero."""

    priority = "LOW"

    def __init__(self, report: ReportFn, score_thr: float, echo: Callable[[str], None] = lambda text: None) -> None:
        self.report = report
        self.score_thr = score_thr
        self.echo = echo
        self.log = TrainingLog()
        self.last_valid: dict[str, float] = {}
        self._detections = 0
        self._progress: StepProgress | None = None

    def before_train(self, runner: Any) -> None:
        self._progress = StepProgress(self.echo, runner.max_iters, unit="iteration", start=runner.iter)

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        step = runner.iter + 1
        losses: dict[str, float] = {}
        for name, value in (outputs or {}).items():
            if name.startswith("loss"):
                number = float(value.item() if hasattr(value, "item") else value)
                if not math.isfinite(number):
                    raise TrainingError(f"training diverged: {name} is {number} at iteration {step} (lower lr)")
                losses[name] = number
                self._send(LogRecord(step, "train", name, number))
        if self._progress is not None:
            self._progress.update(step, losses.get("loss"))

    def before_val_epoch(self, runner: Any) -> None:
        self._detections = 0

    def after_val_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        for sample in outputs or ():
            scores = sample.pred_instances.scores
            self._detections += int((scores >= self.score_thr).sum())

    def after_val_epoch(self, runner: Any, metrics: dict[str, float] | None = None) -> None:
        step = runner.iter
        metrics = metrics or {}
        if "coco/bbox_mAP" not in metrics:
            why = "no detections" if self._detections == 0 else f"{self._detections} detections but no bbox metric"
            raise TrainingError(
                f"evaluation at iteration {step} produced {why} on the valid split, so bbox mAP is undefined "
                "(train longer, raise lr, or lower options.score_thr)"
            )
        values = {name: float(metrics[key]) for key, name in VALID_METRICS.items() if key in metrics}
        values["detections"] = float(self._detections)
        self.last_valid = values
        for name, value in values.items():
            self._send(LogRecord(step, "valid", name, value))

    def _send(self, record: LogRecord) -> None:
        self.log.append(record)
        if self.report(record):
            raise TrialStopped(f"stopped at {record.split}/{record.metric} step {record.step}")


class LoadCheckpointHook(Hook):
    """Loads the starting weights after weight initialisation, before the first iteration, and says what loaded."""

    priority = "VERY_HIGH"

    def __init__(self, path: Path, source: str, echo: Callable[[str], None]) -> None:
        self.path = path
        self.source = source
        self.echo = echo
        self.report: LoadReport | None = None

    def before_train(self, runner: Any) -> None:
        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        self.report = load_user_checkpoint(model, self.path)
        line = f"starting weights {self.source}: {self.report.summary()}"
        runner.logger.info(f"{line} (file {self.path})")
        self.echo(line)
