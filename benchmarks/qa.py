"""SQuAD v1.1 extractive QA with the transformers-qa backend: default configuration vs a planner's choice.

Protocol:

1. Fixed slices, seeded: ``--train`` questions from ``train-subset-3000.json`` and ``--dev`` questions from the
   official ``dev-v1.1.json`` (the report set). The search uses a smaller, separate slice: ``--search-train``
   training questions and ``--search-dev`` dev questions disjoint from the report set, so the planner never sees
   the questions it is scored on.
2. ``default``: the model card's defaults (``--model``, default: the backend's default card, a reader already
   fine-tuned on SQuAD; ``no training`` scores that reader as it is when the card allows ``num_epochs`` 0).
3. ``<planner>``: :class:`automl_gpt.planners.TPEPlanner` (or ``random``) drives ``--trials`` short trials of
   ``--search-steps`` steps through ask/tell on the search slice (TPE's first trial is the default
   configuration); the configuration with the best search-dev F1 is then trained like the default.
4. Both final runs get the same step budget, ``--steps`` optimizer steps (``limits.max_steps``; the learning-rate
   schedule spans it), and are scored once on the report set with the official EM/F1.

Printed: the search trials, then ``config | steps | EM | F1 | train wall | search wall``. The planner row's total
wall time includes its search.

Run: ``nice -n 10 python benchmarks/qa.py`` (2,000 / 500 questions), ``--quick`` (tiny sizes: a smoke check of
the protocol), or shrink with ``--train``, ``--dev``, ``--steps``, ``--trials``. ``--device cpu|cuda`` says where
trials train (default: CUDA when torch sees it); the header and ``results.json`` record it and the reader each run
loaded. The hub is offline unless ``HF_HUB_OFFLINE=0`` is set: then the card's reader is downloaded once into the
Hugging Face cache; offline and not cached, trials say so and train the packaged MiniLM. The last line is a paired
bootstrap interval of the F1 difference on the report questions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SQUAD = Path(os.environ.get("AUTOML_GPT_SHARED_DATA", REPO.parent / "shared" / "data")) / "squad"


@dataclass
class Run:
    """One trained configuration and its scores."""

    label: str
    config: dict[str, Any]
    state: str
    steps: int
    exact_match: float | None
    f1: float | None
    wall_s: float
    error: str | None = None
    search_wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.quick:
        args.train, args.dev, args.steps = 200, 60, 12
        args.search_train, args.search_dev, args.search_steps, args.trials = 100, 30, 6, 3
    from automl_gpt.cards import DataCard, card_from_mapping
    from automl_gpt_backend_nlp.backend import TransformersQABackend
    from automl_gpt_backend_nlp.squad import load_examples, subset, to_squad_json

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_pool = load_examples(SQUAD / "train-subset-3000.json")
    dev_pool = load_examples(SQUAD / "dev-v1.1.json")
    rng = random.Random(args.seed)
    dev_order = rng.sample(range(len(dev_pool)), args.dev + args.search_dev)
    slices = {
        "train": subset(train_pool, args.train, args.seed),
        "dev": [dev_pool[i] for i in sorted(dev_order[: args.dev])],
        "search_train": subset(train_pool, args.search_train, args.seed + 1),
        "search_dev": [dev_pool[i] for i in sorted(dev_order[args.dev :])],
    }
    for name, examples in slices.items():
        (out / f"{name}.json").write_text(json.dumps(to_squad_json(examples)), encoding="utf-8")

    def card(train: str, valid: str) -> DataCard:
        return card_from_mapping(
            DataCard,
            {
                "name": f"squad-{train}",
                "task": "extractive_qa",
                "modality": "text",
                "train": str(out / f"{train}.json"),
                "valid": str(out / f"{valid}.json"),
            },
        )

    backend = TransformersQABackend()
    cards = {c.name: c for c in backend.model_cards()}
    model_card = cards.get(args.model or next(iter(cards)))
    if model_card is None:
        print(f"--model: no card '{args.model}' (known: {', '.join(cards)})", file=sys.stderr)
        return 2
    args.model = model_card.name
    device = _device(args.device)
    if device is None:
        print("--device cuda: torch sees no CUDA GPU here (use --device cpu)", file=sys.stderr)
        return 2
    args.device = device
    report_card, search_card = card("train", "dev"), card("search_train", "search_dev")
    limits = {
        "evaluations": 1,
        "threads": args.threads,
        "device": device,
        # the slices are the protocol's sizes: no CPU cap of the backend may shrink them
        "max_train_examples": max(args.train, args.search_train),
        "max_eval_examples": max(args.dev, args.search_dev),
    }
    print(_header(args), flush=True)

    search_started = time.monotonic()
    searched = _search(args, backend, search_card, model_card, dict(limits, max_steps=args.search_steps), out)
    search_wall = time.monotonic() - search_started
    finished = [r for r in searched if r.f1 is not None]
    if not finished:
        print("every search trial failed; see the errors above", file=sys.stderr)
        return 1
    chosen = max(finished, key=lambda r: r.f1 or 0.0)

    final_limits = dict(limits, max_steps=args.steps)
    finals = []
    epochs = model_card.space()["num_epochs"]
    if getattr(epochs, "low", 1) == 0:  # a reader already fine-tuned for QA: its score before any training
        untrained = {**model_card.defaults(), "num_epochs": 0}
        finals.append(_train(backend, report_card, model_card, untrained, "no training", final_limits, out, args.seed))
    default = _train(backend, report_card, model_card, model_card.defaults(), "default", final_limits, out, args.seed)
    picked = _train(backend, report_card, model_card, chosen.config, args.planner, final_limits, out, args.seed)
    picked.search_wall_s = search_wall
    finals += [default, picked]
    print(_table(finals, args), flush=True)
    low, high = paired_f1_interval(slices["dev"], out / "final" / "default", out / "final" / args.planner, args.seed)
    print(
        f"\n{args.planner} - default, F1 on the same {len(slices['dev'])} dev questions: "
        f"{(picked.f1 or 0) - (default.f1 or 0):+.1f}, paired bootstrap 95% interval [{low:+.1f}, {high:+.1f}]"
    )
    (out / "results.json").write_text(
        json.dumps(
            {
                "args": vars(args),
                "search": [r.__dict__ for r in searched],
                "final": [run.__dict__ for run in finals],
            },
            indent=2,
            default=str,
        ),
        encoding="utf-8",
    )
    return 0


def _search(
    args: argparse.Namespace, backend: Any, data_card: Any, model_card: Any, limits: dict[str, Any], out: Path
) -> list[Run]:
    from automl_gpt.planners import RandomPlanner, TPEPlanner
    from automl_gpt.planners.base import PlanningContext

    context = PlanningContext(
        data_card=data_card,
        model_card=model_card,
        space=model_card.space(),
        objective=backend.objective(data_card),
        seed=args.seed,
    )
    planner = (
        TPEPlanner(context, startup_trials=args.startup_trials) if args.planner == "tpe" else RandomPlanner(context)
    )
    runs: list[Run] = []
    print(
        f"search: {args.trials} trials x {args.search_steps} steps, {args.search_train} train / "
        f"{args.search_dev} dev questions",
        flush=True,
    )
    for number in range(args.trials):
        [candidate] = planner.ask(1)
        run, result = _train_result(
            backend,
            data_card,
            model_card,
            candidate.config,
            f"trial {number}",
            limits,
            out / "search" / str(number),
            args.seed + number,
        )
        planner.tell(candidate, result)
        runs.append(run)
        print(
            f"  {run.label}: F1 {_fmt(run.f1)} EM {_fmt(run.exact_match)} {run.wall_s:6.0f} s  "
            f"{_short(run.config)}{'  ' + run.error if run.error else ''}",
            flush=True,
        )
    return runs


def _train(
    backend: Any,
    data_card: Any,
    model_card: Any,
    config: dict[str, Any],
    label: str,
    limits: dict[str, Any],
    out: Path,
    seed: int,
) -> Run:
    run, _ = _train_result(backend, data_card, model_card, config, label, limits, out / "final" / label, seed)
    print(f"final {label}: F1 {_fmt(run.f1)} EM {_fmt(run.exact_match)} in {run.wall_s:.0f} s", flush=True)
    return run


def _train_result(
    backend: Any,
    data_card: Any,
    model_card: Any,
    config: dict[str, Any],
    label: str,
    limits: dict[str, Any],
    workdir: Path,
    seed: int,
) -> tuple[Run, Any]:
    from automl_gpt.training import TrainingRequest

    workdir.mkdir(parents=True, exist_ok=True)
    request = TrainingRequest(
        config=dict(config),
        data_card=data_card,
        model_card=model_card,
        workdir=workdir,
        seed=seed,
        limits=dict(limits),
        echo=lambda text: print(f"    {text}", file=sys.stderr, flush=True),
    )
    started = time.monotonic()
    result = backend.train(request)
    wall = time.monotonic() - started
    steps = max((r.step for r in result.log if r.split == "train"), default=0)
    run = Run(
        label,
        dict(config),
        result.state.value,
        steps,
        result.metrics.get("valid/exact_match"),
        result.metrics.get("valid/f1"),
        wall,
        result.error,
    )
    saved = Path(result.artifacts.get("config", workdir / "config.json"))
    if saved.is_file():
        details = json.loads(saved.read_text(encoding="utf-8"))
        run.extra = {"reader": details.get("backbone_source"), "device": details.get("device")}
    return run, result


def paired_f1_interval(
    examples: list[Any], run_a: Path, run_b: Path, seed: int, resamples: int = 2000
) -> tuple[float, float]:
    """95% paired-bootstrap interval of F1(b) - F1(a), in points, from the two trials' ``predictions.json``."""
    from automl_gpt_backend_nlp.metrics import best_over_ground_truths, f1_score

    predictions = [json.loads((run / "predictions.json").read_text(encoding="utf-8")) for run in (run_a, run_b)]
    differences = [
        100
        * (
            best_over_ground_truths(f1_score, predictions[1].get(e.id, ""), [a.text for a in e.answers])
            - best_over_ground_truths(f1_score, predictions[0].get(e.id, ""), [a.text for a in e.answers])
        )
        for e in examples
    ]
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(differences, k=len(differences))) / len(differences) for _ in range(resamples))
    return means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]


def _header(args: argparse.Namespace) -> str:
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    device = f"CUDA {torch.cuda.get_device_name(0)}" if args.device == "cuda" else "CPU"
    return (
        f"# SQuAD v1.1 QA benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n"
        f"machine: {cpu}, {os.cpu_count()} cores; trained on {device}; torch {torch.__version__}, transformers "
        f"{transformers.__version__}, threads {args.threads}\n"
        f"model card {args.model}; report slice: {args.train} train / {args.dev} dev questions, {args.steps} steps "
        f"per final run; planner {args.planner}, seed {args.seed}"
    )


def _device(asked: str | None) -> str | None:
    """``cuda`` or ``cpu``: what was asked (None when CUDA was asked and torch sees no GPU), else CUDA if present."""
    import torch

    if asked == "cuda" and not torch.cuda.is_available():
        return None
    return asked or ("cuda" if torch.cuda.is_available() else "cpu")


def _table(runs: list[Run], args: argparse.Namespace) -> str:
    lines = [
        "",
        "| config | steps | EM | F1 | train wall (s) | search wall (s) | total wall (s) | settings |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        total = run.wall_s + run.search_wall_s
        search = f"{run.search_wall_s:.0f} ({args.trials} trials)" if run.search_wall_s else "-"
        lines.append(
            f"| {run.label} | {run.steps} | {_fmt(run.exact_match)} | {_fmt(run.f1)} | {run.wall_s:.0f} | "
            f"{search} | {total:.0f} | {_short(run.config)} |"
        )
    return "\n".join(lines)


def _short(config: dict[str, Any]) -> str:
    names = {
        "learning_rate": "lr",
        "batch_size": "bs",
        "num_epochs": "ep",
        "max_seq_length": "len",
        "doc_stride": "stride",
        "warmup_ratio": "warmup",
        "weight_decay": "wd",
        "lr_scheduler": "sched",
    }
    parts = []
    for key, value in config.items():
        text = f"{value:.3g}" if isinstance(value, float) else str(value)
        parts.append(f"{names.get(key, key)} {text}")
    return ", ".join(parts)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--train", type=int, default=2000, help="training questions of the report run")
    parser.add_argument("--dev", type=int, default=500, help="dev questions the final runs are scored on")
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps of each final run")
    parser.add_argument("--search-train", type=int, default=500)
    parser.add_argument("--search-dev", type=int, default=120, help="dev questions disjoint from the report set")
    parser.add_argument("--search-steps", type=int, default=30)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--startup-trials", type=int, default=3, help="TPE random start-up trials")
    parser.add_argument("--planner", choices=("tpe", "random"), default="tpe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
    )
    parser.add_argument("--out", default=str(REPO / "runs" / "benchmark-qa"), help="slices, trials and results")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke check of the whole protocol")
    parser.add_argument("--model", default=None, help="model card name (default: the backend's default card)")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default=None, help="where trials train (default: CUDA when present)"
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
