"""One detection trial: build an mmengine Runner from a config dict, train, evaluate, save (imports mmdet).

The workdir receives ``trial.json`` (configuration, effective budget, starting weights), ``mmdet_config.py`` (the
full MMDetection config), ``metrics.json``, ``train.log`` (mmengine's log and library warnings, which stay off the
terminal) and, under ``mmdet/``, mmengine's checkpoint. Without a GPU, :data:`CPU_LIMITS` cap a trial's budget
where the run set no limit of that name. A workdir that
already holds a checkpoint of the same configuration is resumed from it (a longer ``max_iters`` continues
training); one holding a different configuration is refused rather than overwritten.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from automl_gpt.errors import AutomlGptError, TrainingError
from automl_gpt.training import TrainingRequest, TrialResult, TrialState
from automl_gpt_backend_vision.coco import subset
from automl_gpt_backend_vision.data import CocoSplit, DetectionData
from automl_gpt_backend_vision.detectors import DataPaths, Schedule, runner_config

RUNNER_DIR = "mmdet"
TRIAL_LOG = "train.log"  # mmengine's log, the COCO evaluation's printout and library warnings of the trial
# Caps for trials without a GPU, where the user set none (the bundled example then runs 2 trials in minutes).
CPU_LIMITS: dict[str, int] = {"max_iters": 40, "max_image_scale": 320, "evaluations": 2}
# Budget knobs that may change between a run and its resumption; everything else must match.
RESUMABLE_KEYS = ("max_iters",)


def run_trial(request: TrainingRequest, config: dict[str, Any], data: DetectionData, started: float) -> TrialResult:
    """Train one configuration for real and return its result (FAIL with a one-line error on any failure)."""
    from automl_gpt_backend_vision.hooks import StreamLogHook, TrialStopped

    options = request.model_card.options
    hook = StreamLogHook(request.report, score_thr=float(options.get("score_thr", 0.001)), echo=request.echo)
    try:
        result = _train(request, config, data, hook)
    except TrialStopped:
        result = TrialResult(TrialState.PRUNED, metrics=_metrics(hook), log=hook.log)
    except AutomlGptError as exc:
        result = TrialResult(TrialState.FAIL, log=hook.log, error=_one_line(str(exc)))
    except MemoryError:
        result = TrialResult(TrialState.FAIL, log=hook.log, error="out of memory (lower batch_size or image_scale)")
    except Exception as exc:  # a crash inside mmdet/mmengine is this trial's failure, told in one line
        result = TrialResult(TrialState.FAIL, log=hook.log, error=f"{type(exc).__name__}: {_one_line(str(exc))}")
    result.duration_s = time.monotonic() - started
    return result


def _train(request: TrainingRequest, config: dict[str, Any], data: DetectionData, hook: Any) -> TrialResult:
    import torch
    from automl_gpt.progress import warnings_to_file
    from automl_gpt_backend_vision.checkpoint import mmengine_safe_globals
    from automl_gpt_backend_vision.hooks import LoadCheckpointHook
    from automl_gpt_backend_vision.pretrained import starting_point
    from mmengine.config import Config, ConfigDict
    from mmengine.runner import Runner

    workdir = request.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if request.limits.get("threads"):
        torch.set_num_threads(int(request.limits["threads"]))
    cuda = torch.cuda.is_available()
    limits = _limits(request, cuda)
    schedule = _schedule(config, request.model_card.options, limits, cuda)
    paths = DataPaths(
        train_ann=str(_annotations(data.train, limits.get("max_images"), workdir / "train.json")),
        train_images=str(data.train.images),
        valid_ann=str(
            _annotations(data.valid, limits.get("max_valid_images", limits.get("max_images")), workdir / "valid.json")
        ),
        valid_images=str(data.valid.images),
        classes=data.classes,
    )
    trial = {
        "config": config,
        "detector": request.model_card.options.get("detector", request.model_card.name),
        "model_card": request.model_card.name,
        "schedule": vars(schedule),
        "data": vars(paths) | {"classes": list(paths.classes)},
        "device": "cuda" if cuda else "cpu",
        "seed": request.seed,
    }
    resume = _should_resume(workdir, trial)
    start = starting_point(request.model_card, config, request.echo)
    if start.fallback:
        request.echo(start.fallback)
    trial["starting_weights"] = start.describe()
    (workdir / "trial.json").write_text(json.dumps(trial, indent=2, default=str))
    pretrained = start.path is not None
    kwargs = runner_config(trial["detector"], config, paths, schedule, request.model_card.options, pretrained)
    Config(kwargs).dump(str(workdir / "mmdet_config.py"))
    kwargs = {k: ConfigDict(v) if isinstance(v, dict) else v for k, v in kwargs.items()}  # mmdet reads attributes
    hooks: list[Any] = [hook]
    if start.path is not None and not resume:
        hooks.append(LoadCheckpointHook(start.path, str(start.source), request.echo))
    log_path = workdir / TRIAL_LOG
    with warnings_to_file(log_path), log_path.open("a", encoding="utf-8") as log_file, redirect_stdout(log_file):
        runner = Runner(
            work_dir=str(workdir / RUNNER_DIR),
            custom_hooks=hooks,
            resume=resume,
            default_scope="mmdet",
            experiment_name=f"trial-{uuid.uuid4().hex[:12]}",
            randomness={"seed": request.seed},
            env_cfg={"cudnn_benchmark": False, "dist_cfg": {"backend": "nccl"}},
            log_level="WARNING",  # the Runner's start-up report stays out of the terminal
            **kwargs,
        )
        to_file = _route_logger(runner.logger, log_path, str(limits.get("log_level", "ERROR")))
        try:
            with mmengine_safe_globals():
                runner.train()
                if not hook.last_valid:  # resumed at or past the end: evaluate the saved model once
                    runner.val()
        finally:
            runner.logger.removeHandler(to_file)
            to_file.close()
    metrics = _metrics(hook)
    (workdir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    artifacts = {
        "config": str(workdir / "mmdet_config.py"),
        "metrics": str(workdir / "metrics.json"),
        "trial": str(workdir / "trial.json"),
    }
    last = workdir / RUNNER_DIR / "last_checkpoint"
    if last.is_file():
        artifacts["model"] = last.read_text().strip()
    return TrialResult(TrialState.COMPLETE, metrics=metrics, log=hook.log, artifacts=artifacts)


def _limits(request: TrainingRequest, cuda: bool) -> dict[str, Any]:
    """The run's limits, with :data:`CPU_LIMITS` filled in (and said once) where no GPU trains and the user set
    none: a detector's full schedule takes about half an hour per trial on two CPU cores."""
    limits = dict(request.limits)
    if cuda or str(limits.get("device", "")).startswith("cuda"):
        return limits
    added = {name: value for name, value in CPU_LIMITS.items() if name not in limits}
    if added:
        shown = ", ".join(f"{name}={value}" for name, value in added.items())
        request.echo(
            f"no GPU: trials capped at {shown} so a run takes minutes on a CPU "
            "(--limit NAME=VALUE sets another cap; the card's full schedule is meant for a GPU)"
        )
    return limits | added


def _route_logger(logger: Any, log_file: Path, console_level: str) -> Any:
    """mmengine's log from INFO up goes to the trial's log file; the terminal gets ``console_level`` and above
    (``limits.log_level``, default ERROR): progress lines come through ``request.echo`` instead."""
    import logging

    for handler in logger.handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel(console_level.upper())
        else:
            handler.setLevel(logging.INFO)
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    to_file.setLevel(logging.INFO)
    logger.addHandler(to_file)
    return to_file


def _schedule(config: dict[str, Any], options: dict[str, Any], limits: dict[str, Any], cuda: bool) -> Schedule:
    iters = int(config["max_iters"])
    if limits.get("max_iters"):
        iters = min(iters, int(limits["max_iters"]))
    scale = int(config["image_scale"])
    if limits.get("max_image_scale"):
        scale = min(scale, int(limits["max_image_scale"]))
    batch = int(config["batch_size"])
    if limits.get("max_batch_size"):
        batch = min(batch, int(limits["max_batch_size"]))
    evaluations = int(limits.get("evaluations", options.get("evaluations", 4)))
    interval = max(1, math.ceil(iters / max(1, evaluations)))
    workers = int(limits.get("num_workers", 2 if cuda else 0))
    return Schedule(iters=iters, val_interval=interval, image_scale=scale, batch_size=batch, num_workers=workers)


def _annotations(split: CocoSplit, max_images: Any, target: Path) -> Path:
    """The split's annotation file, or a subset of its first ``max_images`` images written to ``target``."""
    if not max_images or int(max_images) >= split.summary.n_images:
        return split.annotations
    target.write_text(json.dumps(subset(split.raw, int(max_images))))
    return target


def _should_resume(workdir: Path, trial: dict[str, Any]) -> bool:
    if not (workdir / RUNNER_DIR / "last_checkpoint").is_file():
        return False
    saved_file = workdir / "trial.json"
    saved = json.loads(saved_file.read_text()) if saved_file.is_file() else {}
    if _resume_key(saved) != _resume_key(trial):
        raise TrainingError(
            f"workdir {workdir} holds a checkpoint of another configuration; use a fresh workdir to train this one"
        )
    return True


def _resume_key(trial: dict[str, Any]) -> str:
    config = {k: v for k, v in trial.get("config", {}).items() if k not in RESUMABLE_KEYS}
    schedule = {k: v for k, v in trial.get("schedule", {}).items() if k not in ("iters", "val_interval")}
    return json.dumps([config, trial.get("detector"), schedule, trial.get("data")], sort_keys=True, default=str)


def _metrics(hook: Any) -> dict[str, float]:
    metrics = {f"valid/{name}": value for name, value in hook.last_valid.items()}
    for record in reversed(hook.log):
        if record.split == "train" and record.metric == "loss":
            metrics["train/loss"] = record.value
            break
    return metrics


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"
