"""One extractive-QA trial, for real: examples, windows, a PyTorch fine-tuning loop that streams its log, save.

Imported only when a trial runs (it imports torch and transformers). Policy, in order:

1. Examples: the card's train split, and its valid split or, without one, a held-out ``valid_fraction`` of the
   training contexts. ``limits['max_train_examples']`` and ``limits['max_eval_examples']`` keep seeded random
   subsets (seed ``options.split_seed``, the same in every trial, so trials are comparable).
2. Windows: question/context windows of ``max_seq_length`` tokens overlapping by ``doc_stride``
   (:mod:`.features`), padded per batch.
3. Steps: ``num_epochs`` passes over the shuffled training windows in batches of ``batch_size``, capped at
   ``limits['max_steps']``; as with the transformers Trainer's ``max_steps``, the learning-rate schedule spans the
   steps actually run. ``num_epochs`` 0 takes no step: the reader is scored as it is (a zero-training baseline of
   a reader already fine-tuned for QA). Without a GPU, :data:`CPU_LIMITS` fill in the limits the run did not set.
   AdamW (no decay on biases and LayerNorm weights), gradient clipping at ``options.max_grad_norm``, the schedule
   from ``transformers.get_scheduler``.
4. Log: ``train/loss`` after every optimizer step; ``valid`` ``exact_match``, ``f1`` (official SQuAD v1.1, in
   percent) and ``loss`` at ``options.evaluations`` (or ``limits['evaluations']``) evenly spaced steps, the last
   after the final step. When ``request.report`` returns True the trial stops at once and is ``PRUNED``. Progress
   lines (step k/N, loss, ETA) and which reader loaded go to ``request.echo``; library warnings to ``train.log``.
5. Saved in the trial folder: ``model/`` (model and tokenizer, ``save_pretrained``), ``config.json`` (the exact
   configuration, sizes, device, versions), ``metrics.json`` and ``predictions.json`` (validation answers by id,
   the official evaluation script's input format).

Device: ``limits['device']`` when set, else CUDA when torch sees a GPU (with bfloat16 autocast where supported),
else the CPU with ``limits['threads']`` threads (default: every core this process may use). With a seed, a CPU run
is repeatable exactly.

A plain loop rather than the Trainer: every step's loss reaches ``report`` as it happens, a stop request takes
effect before the next step, and evaluation runs the span post-processing without a Trainer subclass.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from automl_gpt.cards import ModelCard
from automl_gpt.errors import AutomlGptError, TrainingError
from automl_gpt.progress import StepProgress, warnings_to_file
from automl_gpt.training import LogRecord, Split, TrainingLog, TrainingRequest, TrialResult, TrialState
from automl_gpt_backend_nlp import features, squad
from automl_gpt_backend_nlp.backbone import backbone_name, load_backbone, quiet_transformers
from automl_gpt_backend_nlp.inference import make_batch, window_logits
from automl_gpt_backend_nlp.metrics import squad_scores

DEFAULT_OPTIONS: dict[str, Any] = {
    "max_query_length": 64,
    "n_best_size": 20,
    "max_answer_length": 30,
    "evaluations": 4,
    "eval_batch_size": 64,
    "max_grad_norm": 1.0,
    "valid_fraction": 0.1,
    "split_seed": 0,
}
# Hyper-parameters a card may leave out of its search space: fixed by its options, else these values.
FIXED_DEFAULTS: dict[str, Any] = {
    "max_seq_length": 256,
    "doc_stride": 64,
    "learning_rate": 5e-5,
    "num_epochs": 2,
    "batch_size": 16,
    "warmup_ratio": 0.0,
    "weight_decay": 0.0,
    "lr_scheduler": "linear",
}
# Caps for trials on a CPU where the run set none: the bundled SQuAD slice then runs 2 trials in minutes.
CPU_LIMITS: dict[str, int] = {"max_steps": 15, "evaluations": 2, "max_train_examples": 1000, "max_eval_examples": 200}
TRIAL_LOG = "train.log"  # library warnings raised while the trial runs, kept off the terminal
NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")


def trial_config(model_card: ModelCard, config: dict[str, Any]) -> dict[str, Any]:
    """The full configuration of a trial: the checked search-space values, then the card's fixed options, then
    :data:`FIXED_DEFAULTS` for hyper-parameters the card neither searches nor fixes."""
    fixed = {name: model_card.options.get(name, value) for name, value in FIXED_DEFAULTS.items()}
    return {**fixed, **model_card.space().check(config)}


def run_trial(request: TrainingRequest) -> TrialResult:
    """Train one configuration; any trial-level problem becomes a FAIL result with a one-line reason."""
    started = time.monotonic()
    trial: _Trial | None = None
    try:
        trial = _Trial(request)
        result = trial.run()
    except AutomlGptError as exc:
        result = TrialResult(TrialState.FAIL, error=_one_line(str(exc)))
    except Exception as exc:  # a crash inside torch or transformers fails this trial, never the run
        if is_out_of_memory(exc):
            result = TrialResult(TrialState.FAIL, error=out_of_memory_reason(trial))
        else:
            result = TrialResult(TrialState.FAIL, error=f"{type(exc).__name__}: {_one_line(str(exc))}")
        if trial is not None:
            result.log = trial.log
    result.duration_s = time.monotonic() - started
    return result


def is_out_of_memory(exc: BaseException) -> bool:
    """True for host or GPU allocation failures (MemoryError, torch's OutOfMemoryError, allocator errors)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def out_of_memory_reason(trial: _Trial | None) -> str:
    """The one-line FAIL reason of an out-of-memory trial, naming what to lower."""
    if trial is None:
        return "out of memory while preparing the trial (lower limits.max_train_examples)"
    trial.release_memory()
    return (
        f"out of memory on {trial.device} with batch_size {trial.config['batch_size']} and max_seq_length "
        f"{trial.config['max_seq_length']} (lower them, or limits.max_train_examples)"
    )


class _Trial:
    def __init__(self, request: TrainingRequest) -> None:
        self.request = request
        self.card = request.data_card
        self.model_card = request.model_card
        self.options = {**DEFAULT_OPTIONS, **request.model_card.options}
        self.config = trial_config(request.model_card, dict(request.config))
        self.limits = dict(request.limits)
        self.log = TrainingLog()
        self.workdir = Path(request.workdir)
        self.device = str(self.limits.get("device") or "")
        self.model: Any = None
        self.tokenizer: Any = None
        self.total_steps = 0
        self.predictions: dict[str, str] = {}

    # -- the trial ----------------------------------------------------------------------------------------------

    def run(self) -> TrialResult:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with warnings_to_file(self.workdir / TRIAL_LOG):
            return self._run()

    def _run(self) -> TrialResult:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # effective when torch's OpenMP is not yet loaded
        import torch
        from transformers import set_seed

        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._cap_for_cpu()
        train, valid, test = self._examples()
        with _torch_threads(torch, self._threads()):
            set_seed(self.request.seed)
            model, tokenizer, source = load_backbone(self.model_card, self.request.echo)
            self.model = model.to(self.device)
            self.tokenizer = tokenizer
            train_windows = self._windows(train)
            valid_windows = self._windows(valid)
            pruned = self._fit(torch, train_windows, valid, valid_windows)
            if pruned:
                return TrialResult(TrialState.PRUNED, metrics=self._last_valid_metrics(), log=self.log)
            metrics = self._last_valid_metrics()
            if self.total_steps:
                metrics["train/loss"] = self._recent_train_loss()
            if test is not None:
                scores, _, loss = self._evaluate(torch, test, self._windows(test))
                metrics.update({"test/exact_match": scores["exact_match"], "test/f1": scores["f1"], "test/loss": loss})
            sizes = {
                "train_examples": len(train),
                "train_windows": len(train_windows),
                "valid_examples": len(valid),
                "valid_windows": len(valid_windows),
                "test_examples": len(test) if test is not None else 0,
            }
            artifacts = self._save(source, sizes, metrics)
        return TrialResult(TrialState.COMPLETE, metrics=metrics, log=self.log, artifacts=artifacts)

    def release_memory(self) -> None:
        """Drop the model and free cached GPU memory (after an out-of-memory error)."""
        self.model = None
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    # -- data ---------------------------------------------------------------------------------------------------

    def _examples(self) -> tuple[list[squad.QAExample], list[squad.QAExample], list[squad.QAExample] | None]:
        seed = int(self.options["split_seed"])
        train = squad.load_split(self.card, "train")
        if self.card.valid is not None:
            valid = squad.load_split(self.card, "valid")
        else:
            train, valid = squad.split_by_context(train, float(self.options["valid_fraction"]), seed)
        max_train, max_eval = self._limit("max_train_examples"), self._limit("max_eval_examples")
        test = squad.load_split(self.card, "test") if self.card.test is not None else None
        return (
            squad.subset(train, max_train, seed),
            squad.subset(valid, max_eval, seed),
            squad.subset(test, max_eval, seed) if test is not None else None,
        )

    def _windows(self, examples: list[squad.QAExample]) -> features.Windows:
        return features.tokenize(
            self.tokenizer,
            examples,
            int(self.config["max_seq_length"]),
            int(self.config["doc_stride"]),
            int(self.options["max_query_length"]),
        )

    # -- training -----------------------------------------------------------------------------------------------

    def _fit(
        self, torch: Any, train_windows: features.Windows, valid: list[squad.QAExample], valid_windows: features.Windows
    ) -> bool:
        """The training loop; True when ``report`` asked to stop (pruned)."""
        from transformers import get_scheduler

        batch_size = int(self.config["batch_size"])
        steps_per_epoch = math.ceil(len(train_windows) / batch_size)
        self.total_steps = int(self.config["num_epochs"]) * steps_per_epoch
        max_steps = self._limit("max_steps")
        if max_steps is not None:
            self.total_steps = min(self.total_steps, max_steps)
        optimizer = torch.optim.AdamW(self._param_groups(), lr=float(self.config["learning_rate"]))
        scheduler = get_scheduler(
            str(self.config["lr_scheduler"]),
            optimizer,
            num_warmup_steps=math.ceil(float(self.config["warmup_ratio"]) * self.total_steps),
            num_training_steps=self.total_steps,
        )
        if self.total_steps == 0:  # num_epochs 0: the reader as it is (a zero-training baseline)
            return self._validate(torch, 0, valid, valid_windows)
        evaluations = int(self.limits.get("evaluations") or self.options["evaluations"])
        eval_at = evaluation_steps(self.total_steps, evaluations)
        progress = StepProgress(self.request.echo, self.total_steps)
        generator = torch.Generator().manual_seed(self.request.seed)
        max_norm = float(self.options["max_grad_norm"])
        step = 0
        self.model.train()
        while step < self.total_steps:
            order = torch.randperm(len(train_windows), generator=generator).tolist()
            for first in range(0, len(order), batch_size):
                if step >= self.total_steps:
                    break
                rows = order[first : first + batch_size]
                batch = make_batch(torch, train_windows, rows, self.tokenizer.pad_token_id or 0, self.device)
                with self._autocast(torch):
                    loss = self.model(**batch).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                value = float(loss.item())
                if math.isnan(value) or math.isinf(value):
                    raise TrainingError(f"training diverged: the loss is {value} at step {step} (lower learning_rate)")
                if self._report(step, "train", "loss", value):
                    return True
                progress.update(step, value)
                if step in eval_at and self._validate(torch, step, valid, valid_windows):
                    return True
        return False

    def _validate(self, torch: Any, step: int, valid: list[squad.QAExample], windows: features.Windows) -> bool:
        scores, self.predictions, loss = self._evaluate(torch, valid, windows)
        self.model.train()
        for metric, value in (("exact_match", scores["exact_match"]), ("f1", scores["f1"]), ("loss", loss)):
            if self._report(step, "valid", metric, value):
                return True
        return False

    def _evaluate(
        self, torch: Any, examples: list[squad.QAExample], windows: features.Windows
    ) -> tuple[dict[str, float], dict[str, str], float]:
        """Official EM/F1 of the model's best spans, the predictions by id, and the mean window loss."""
        batch_size = int(self.limits.get("eval_batch_size") or self.options["eval_batch_size"])
        starts, ends, loss = window_logits(
            torch,
            self.model,
            windows,
            batch_size=batch_size,
            pad_id=self.tokenizer.pad_token_id or 0,
            device=self.device,
            autocast=self._autocast(torch),
        )
        predictions = features.best_spans(
            examples,
            windows,
            starts,
            ends,
            n_best=int(self.options["n_best_size"]),
            max_answer_length=int(self.options["max_answer_length"]),
        )
        return squad_scores(examples, predictions), predictions, loss

    def _param_groups(self) -> list[dict[str, Any]]:
        decay: list[Any] = []
        no_decay: list[Any] = []
        for name, parameter in self.model.named_parameters():
            if parameter.requires_grad:
                (no_decay if name.endswith(NO_DECAY) else decay).append(parameter)
        return [
            {"params": decay, "weight_decay": float(self.config["weight_decay"])},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    def _autocast(self, torch: Any) -> Any:
        if self.device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    # -- log, metrics, artifacts ------------------------------------------------------------------------------------

    def _report(self, step: int, split: Split, metric: str, value: float) -> bool:
        record = LogRecord(step, split, metric, float(value))
        self.log.append(record)
        return bool(self.request.report(record))

    def _last_valid_metrics(self) -> dict[str, float]:
        return {
            f"valid/{metric}": value
            for split, metric in self.log.metrics()
            if split == "valid"
            for value in [self.log.final("valid", metric)]
            if value is not None
        }

    def _recent_train_loss(self) -> float:
        """Mean training loss over the last (up to) ten steps."""
        losses = [v for _, v in self.log.curve("train", "loss")][-10:]
        return sum(losses) / len(losses) if losses else float("nan")

    def _save(self, source: str, sizes: dict[str, int], metrics: dict[str, float]) -> dict[str, str]:
        import torch
        import transformers

        self.workdir.mkdir(parents=True, exist_ok=True)
        model_dir = self.workdir / "model"
        with quiet_transformers():
            self.model.save_pretrained(model_dir)
            self.tokenizer.save_pretrained(model_dir)
        config_path = self.workdir / "config.json"
        config_path.write_text(
            json.dumps(
                {
                    "config": self.config,
                    "model_card": self.model_card.name,
                    "backbone": backbone_name(self.model_card),
                    "backbone_source": source,
                    "options": self.options,
                    "limits": self.limits,
                    "seed": self.request.seed,
                    "steps": self.total_steps,
                    "effective_doc_stride": features.effective_stride(
                        int(self.config["max_seq_length"]),
                        int(self.config["doc_stride"]),
                        int(self.options["max_query_length"]),
                    ),
                    "device": self.device,
                    "threads": torch.get_num_threads(),
                    **sizes,
                    "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
                },
                indent=2,
                default=str,
            ),
            encoding="utf-8",
        )
        metrics_path = self.workdir / "metrics.json"
        metrics_path.write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        predictions_path = self.workdir / "predictions.json"
        predictions_path.write_text(json.dumps(self.predictions, indent=1, ensure_ascii=False), encoding="utf-8")
        return {
            "model": str(model_dir),
            "config": str(config_path),
            "metrics": str(metrics_path),
            "predictions": str(predictions_path),
        }

    # -- settings -------------------------------------------------------------------------------------------------

    def _cap_for_cpu(self) -> None:
        """Without a GPU, fill in :data:`CPU_LIMITS` the run did not set, and say so (once per run)."""
        if self.device != "cpu":
            return
        added = {name: value for name, value in CPU_LIMITS.items() if name not in self.limits}
        if added:
            shown = ", ".join(f"{name}={value}" for name, value in added.items())
            self.request.echo(
                f"no GPU: trials capped at {shown} so a run takes minutes on a CPU "
                "(--limit NAME=VALUE sets another cap; the card's full schedule is meant for a GPU)"
            )
            self.limits.update(added)

    def _limit(self, name: str) -> int | None:
        value = self.limits.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
            raise TrainingError(f"limits.{name} must be a positive integer, got {value!r}")
        return int(value)

    def _threads(self) -> int:
        if self.limits.get("threads"):
            return max(1, int(self.limits["threads"]))
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)


def evaluation_steps(total_steps: int, evaluations: int) -> set[int]:
    """``evaluations`` evenly spaced steps in ``1..total_steps``, always including the last."""
    count = max(1, min(int(evaluations), total_steps))
    return {max(1, round(total_steps * k / count)) for k in range(1, count + 1)}


@contextmanager
def _torch_threads(torch: Any, threads: int) -> Iterator[None]:
    """Run with ``threads`` intra-op threads, then restore the process's setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _one_line(text: str) -> str:
    return " ".join(text.split())
