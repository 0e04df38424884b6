"""Running a QA model over windows, and answering questions with a trained trial's saved model.

:func:`window_logits` is shared by training-time evaluation and :func:`answer_questions`, so a saved model
answers exactly as it was scored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from automl_gpt_backend_nlp import features
from automl_gpt_backend_nlp.squad import QAExample


def make_batch(torch: Any, windows: features.Windows, rows: Sequence[int], pad_id: int, device: str) -> dict[str, Any]:
    """Right-padded tensors of some windows, with their answer positions, on ``device``."""
    length = max(len(windows.input_ids[i]) for i in rows)
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
    token_type_ids = torch.zeros((len(rows), length), dtype=torch.long)
    for r, index in enumerate(rows):
        ids = windows.input_ids[index]
        input_ids[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention_mask[r, : len(ids)] = 1
        if windows.token_type_ids is not None:
            token_type_ids[r, : len(ids)] = torch.tensor(windows.token_type_ids[index], dtype=torch.long)
    batch = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "start_positions": torch.tensor([windows.start_positions[i] for i in rows], dtype=torch.long),
        "end_positions": torch.tensor([windows.end_positions[i] for i in rows], dtype=torch.long),
    }
    if windows.token_type_ids is not None:
        batch["token_type_ids"] = token_type_ids
    return {name: tensor.to(device) for name, tensor in batch.items()}


def window_logits(
    torch: Any,
    model: Any,
    windows: features.Windows,
    *,
    batch_size: int,
    pad_id: int,
    device: str,
    autocast: AbstractContextManager[Any] | None = None,
) -> tuple[list[Any], list[Any], float]:
    """Start and end logits of every window (trimmed to its length) and the mean window loss, in eval mode.

    Windows are batched by length, so little padding is computed.
    """
    model.eval()
    by_length = sorted(range(len(windows)), key=lambda i: len(windows.input_ids[i]))
    start_logits: list[Any] = [None] * len(windows)
    end_logits: list[Any] = [None] * len(windows)
    loss_sum = 0.0
    with torch.inference_mode():
        for first in range(0, len(by_length), batch_size):
            rows = by_length[first : first + batch_size]
            with autocast or nullcontext():
                output = model(**make_batch(torch, windows, rows, pad_id, device))
            loss_sum += float(output.loss) * len(rows)
            starts = output.start_logits.float().cpu().numpy()
            ends = output.end_logits.float().cpu().numpy()
            for r, index in enumerate(rows):
                length = len(windows.input_ids[index])
                start_logits[index], end_logits[index] = starts[r, :length], ends[r, :length]
    return start_logits, end_logits, loss_sum / max(1, len(windows))


def answer_questions(
    model_dir: str | Path, pairs: Sequence[tuple[str, str]], *, device: str | None = None
) -> list[str]:
    """Answer ``(question, context)`` pairs with a trial's saved model (its ``model`` artifact).

    Window length, stride and read-out settings come from the trial's ``config.json`` beside the model folder.
    """
    import torch
    from automl_gpt_backend_nlp.backbone import quiet_transformers
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    model_dir = Path(model_dir)
    settings = _trial_settings(model_dir)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForQuestionAnswering.from_pretrained(model_dir).to(device)
    examples = [QAExample(str(i), "", context, question, ()) for i, (question, context) in enumerate(pairs)]
    windows = features.tokenize(
        tokenizer, examples, settings["max_seq_length"], settings["doc_stride"], settings["max_query_length"]
    )
    starts, ends, _ = window_logits(
        torch, model, windows, batch_size=settings["eval_batch_size"], pad_id=tokenizer.pad_token_id or 0, device=device
    )
    best = features.best_spans(
        examples, windows, starts, ends, n_best=settings["n_best_size"], max_answer_length=settings["max_answer_length"]
    )
    return [best[e.id] for e in examples]


def _trial_settings(model_dir: Path) -> dict[str, int]:
    settings = {
        "max_seq_length": 384,
        "doc_stride": 128,
        "max_query_length": 64,
        "n_best_size": 20,
        "max_answer_length": 30,
        "eval_batch_size": 64,
    }
    config_path = model_dir.parent / "config.json"
    if config_path.exists():
        saved = json.loads(config_path.read_text(encoding="utf-8"))
        for source in (saved.get("options", {}), saved.get("config", {})):
            settings.update({k: int(v) for k, v in source.items() if k in settings})
    return settings
