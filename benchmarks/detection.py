"""Object detection on BCCD: the model card's default configuration vs a planner-chosen one, equal budget.

1. *default*: the detector card's defaults, trained ``--iters`` iterations on the train split, scored on the valid
   split with COCO bbox mAP (pycocotools through mmdet's CocoMetric).
2. *search*: ``--trials`` short trials (``--search-iters`` iterations, scored on the first ``--search-valid``
   valid images) proposed by a baseline planner of ``automl_gpt.planners`` (TPE or random) through ask/tell.
3. *chosen*: the best search configuration retrained exactly like the default (same ``--iters``).

Every run starts from the card's ``options.checkpoint`` (ImageNet ResNet weights, downloaded once into the weight
cache; from scratch, said in one line, when they cannot be had) unless ``--checkpoint`` names other weights or
``none``; ``--device cpu|cuda`` says where trials train (default: CUDA when torch sees it), recorded in the JSON
with each run's starting weights.

``max_iters`` is pinned to the budget in every run, so both final runs take the same number of optimizer steps;
``--max-batch-size`` and ``--max-scale`` cap the batch size and image scale (CPU budgets). Prints a Markdown table
(bbox mAP, mAP@50, wall time) and writes everything as JSON with ``--out``.

    nice -n 10 python benchmarks/detection.py --out detection.json            # ~20 min on 2 busy CPU cores
    nice -n 10 python benchmarks/detection.py --iters 120 --trials 4 --search-iters 30 --search-valid 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from automl_gpt.cards import DataCard, DataSplit, ModelCard
from automl_gpt.planners import RandomPlanner, TPEPlanner
from automl_gpt.planners.base import Candidate, PastTrial, Planner, PlanningContext
from automl_gpt.training import LogRecord, TrainingRequest, TrialResult, TrialState
from automl_gpt_backend_vision.backend import MMDetBackend

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("AUTOML_GPT_SHARED_DATA", REPO.parent / "shared" / "data")) / "detection" / "bccd"


def bccd_card(folder: Path) -> DataCard:
    """The data card of the BCCD COCO copy (train and val annotation files over one image folder)."""
    images = str(folder / "images")
    return DataCard(
        name="bccd",
        task="object_detection",
        modality="image",
        label_space=["RBC", "WBC", "Platelets"],
        train=DataSplit(path=str(folder / "annotations" / "instances_train.json"), images=images),
        valid=DataSplit(path=str(folder / "annotations" / "instances_val.json"), images=images),
    )


def run(
    backend: MMDetBackend,
    data_card: DataCard,
    model_card: ModelCard,
    config: dict[str, Any],
    limits: dict[str, Any],
    workdir: Path,
    seed: int,
) -> tuple[TrialResult, float]:
    """Train one configuration; returns the result and its wall time in seconds."""
    records: list[LogRecord] = []

    def report(record: LogRecord) -> bool:
        records.append(record)
        return False

    started = time.monotonic()
    result = backend.train(
        TrainingRequest(
            config=config,
            data_card=data_card,
            model_card=model_card,
            workdir=workdir,
            seed=seed,
            report=report,
            limits=limits,
            echo=lambda text: print(f"    {text}", file=sys.stderr, flush=True),
        )
    )
    return result, time.monotonic() - started


def search(
    backend: MMDetBackend,
    data_card: DataCard,
    model_card: ModelCard,
    planner_name: str,
    trials: int,
    limits: dict[str, Any],
    root: Path,
    seed: int,
) -> tuple[list[PastTrial], float]:
    """Run ``trials`` short trials proposed by the planner through ask/tell; returns them and the wall time."""
    objective = backend.objective(data_card)
    context = PlanningContext(
        data_card=data_card, model_card=model_card, space=model_card.space(), objective=objective, seed=seed
    )
    planner: Planner
    if planner_name == "tpe":
        planner = TPEPlanner(context, startup_trials=max(2, trials // 2), seed_with_default=False)
    else:
        planner = RandomPlanner(context)
    started = time.monotonic()
    for number in range(trials):
        candidate: Candidate = planner.ask(1)[0]
        config = {**candidate.config, "max_iters": limits["max_iters"]}
        result, wall = run(backend, data_card, model_card, config, limits, root / f"search-{number}", seed)
        planner.tell(candidate, result)
        context.history.append(PastTrial(number, config, result))
        value = result.value(objective)
        shown = f"{value:.4f}" if value is not None else result.error
        print(f"  search {number}: {result.state.value} bbox_mAP {shown} ({wall:.0f} s) {_short(config)}", flush=True)
    return context.history, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="BCCD folder (annotations/, images/)")
    parser.add_argument("--model", default="retinanet", help="model card: retinanet, fcos or faster_rcnn")
    parser.add_argument("--planner", choices=("tpe", "random"), default="tpe")
    parser.add_argument("--iters", type=int, default=80, help="iterations of the default and chosen runs")
    parser.add_argument("--trials", type=int, default=3, help="search trials")
    parser.add_argument("--evaluations", type=int, default=1, help="validation passes of the default and chosen runs")
    parser.add_argument("--search-iters", type=int, default=20, help="iterations of each search trial")
    parser.add_argument("--search-valid", type=int, default=20, help="valid images scoring each search trial")
    parser.add_argument("--max-scale", type=int, default=320, help="cap on image_scale (longest side, pixels)")
    parser.add_argument("--max-batch-size", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="where trials write (default: a temp folder)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default=None, help="where trials train (default: CUDA when present)"
    )
    parser.add_argument(
        "--checkpoint",
        default=None,
        help="starting weights instead of the card's options.checkpoint: a path, URL, torchvision:// name, or none",
    )
    args = parser.parse_args()
    args.device = _device(args.device)

    backend = MMDetBackend()
    data_card = bccd_card(args.data)
    backend.check_data(data_card)
    model_card = next(c for c in backend.model_cards() if c.name == args.model)
    if args.checkpoint is not None:
        start = None if args.checkpoint.lower() == "none" else args.checkpoint
        changed = model_card.model_copy(update={"options": {**model_card.options, "checkpoint": start}})
        changed._source = model_card.source  # relative paths in options resolve against the card's folder
        model_card = changed
    print(f"device {args.device}; starting weights {model_card.options.get('checkpoint') or 'none (from scratch)'}")
    caps = {"max_image_scale": args.max_scale, "max_batch_size": args.max_batch_size, "threads": args.threads}
    final_limits = {**caps, "max_iters": args.iters, "evaluations": args.evaluations}
    search_limits = {**caps, "max_iters": args.search_iters, "evaluations": 1, "max_valid_images": args.search_valid}
    root = args.workdir or Path(tempfile.mkdtemp(prefix="detection-bench-"))
    started = time.monotonic()

    print(f"default config, {args.iters} iterations", flush=True)
    default_config = {**model_card.defaults(), "max_iters": args.iters}
    default, default_wall = run(
        backend, data_card, model_card, default_config, final_limits, root / "default", args.seed
    )
    print(f"  {default.state.value} {default.metrics or default.error} ({default_wall:.0f} s)", flush=True)

    print(f"{args.planner} search: {args.trials} trials x {args.search_iters} iterations", flush=True)
    history, search_wall = search(
        backend, data_card, model_card, args.planner, args.trials, search_limits, root, args.seed
    )
    objective = backend.objective(data_card)
    finished = [p for p in history if p.result.state == TrialState.COMPLETE and p.result.value(objective) is not None]
    if not finished:
        raise SystemExit("every search trial failed: " + "; ".join(str(p.result.error) for p in history))
    best = max(finished, key=lambda p: p.result.value(objective) or 0.0)
    chosen_config = {**best.config, "max_iters": args.iters}
    print(f"chosen config (search trial {best.number}), {args.iters} iterations", flush=True)
    chosen, chosen_wall = run(backend, data_card, model_card, chosen_config, final_limits, root / "chosen", args.seed)
    print(f"  {chosen.state.value} {chosen.metrics or chosen.error} ({chosen_wall:.0f} s)", flush=True)

    rows = [("default", default, default_wall, default_config), ("chosen", chosen, chosen_wall, chosen_config)]
    print()
    print("| config | bbox mAP | mAP@50 | train+eval wall (s) | budget used | configuration (as sampled) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, result, wall, config in rows:
        print(
            f"| {name} | {_metric(result, 'bbox_mAP')} | {_metric(result, 'bbox_mAP_50')} | {wall:.0f} | "
            f"{_effective(result)} | "
            f"{_short(config)} |"
        )
    print(
        f"\nsearch: {args.trials} {args.planner} trials x {args.search_iters} iterations, {search_wall:.0f} s; "
        f"total {time.monotonic() - started:.0f} s"
    )
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "date": datetime.now(timezone.utc).isoformat(timespec="minutes"),
                    "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
                    "device": args.device,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "runs": {
                        name: {
                            "state": r.state.value,
                            "metrics": r.metrics,
                            "error": r.error,
                            "wall_s": wall,
                            "config": config,
                            "starting_weights": _starting_weights(r),
                        }
                        for name, r, wall, config in rows
                    },
                    "search": [
                        {
                            "number": p.number,
                            "config": p.config,
                            "state": p.result.state.value,
                            "metrics": p.result.metrics,
                            "error": p.result.error,
                        }
                        for p in history
                    ],
                    "search_wall_s": search_wall,
                    "total_wall_s": time.monotonic() - started,
                },
                indent=2,
            )
        )


def _device(asked: str | None) -> str:
    """Where trials train. ``cpu`` hides any GPU from torch (mmengine uses CUDA whenever it sees one)."""
    if asked == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        return "cpu"
    import torch

    if asked == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA GPU here (use --device cpu)")
    return "cuda" if torch.cuda.is_available() else "cpu"


def _starting_weights(result: TrialResult) -> Any:
    """The starting weights a run used (``trial.json``): source, file, and the fallback reason if it fell back."""
    path = result.artifacts.get("trial")
    return json.loads(Path(path).read_text()).get("starting_weights") if path else None


def _metric(result: TrialResult, name: str) -> str:
    value = result.metrics.get(f"valid/{name}")
    return f"{value:.3f}" if value is not None else f"FAIL ({result.error})"


def _effective(result: TrialResult) -> str:
    """The budget the backend actually used (after the caps), from the trial's saved ``trial.json``."""
    path = result.artifacts.get("trial")
    if not path:
        return "-"
    schedule = json.loads(Path(path).read_text())["schedule"]
    return f"{schedule['iters']} iters, batch {schedule['batch_size']}, scale {schedule['image_scale']}"


def _short(config: dict[str, Any]) -> str:
    keys = (
        "optimizer",
        "lr",
        "batch_size",
        "image_scale",
        "depth",
        "fpn_channels",
        "norm",
        "lr_schedule",
        "warmup_iters",
        "flip_prob",
    )
    return ", ".join(
        f"{k}={config[k]:.3g}" if isinstance(config.get(k), float) else f"{k}={config.get(k)}"
        for k in keys
        if k in config
    )


if __name__ == "__main__":
    main()
