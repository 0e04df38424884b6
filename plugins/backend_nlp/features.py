"""Tokenisation into overlapping windows, and post-processing of start/end logits into answer spans.

The recipe is the Hugging Face ``run_qa`` one: a question and its context are tokenised together with the
context truncated into windows of ``max_seq_length`` tokens that overlap by ``doc_stride`` tokens; each window is
labelled with the token span of the first answer, or with the [CLS] position when the answer is not inside it.
At evaluation, the ``n_best`` start and end positions of every window are paired into spans of at most
``max_answer_length`` tokens inside the context, and the best-scoring span over all windows of a question is its
answer, read from the context through the tokenizer's character offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from automl_gpt.errors import TrainingError
from automl_gpt_backend_nlp.squad import QAExample

Offsets = list[tuple[int, int] | None]


@dataclass
class Windows:
    """Tokenised question/context windows with their labels and the way back to the examples."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    start_positions: list[int]
    end_positions: list[int]
    example_index: list[int]
    offsets: list[Offsets] = field(repr=False)
    doc_stride: int = 0

    def __len__(self) -> int:
        return len(self.input_ids)


def effective_stride(max_seq_length: int, doc_stride: int, max_query_length: int) -> int:
    """``doc_stride`` capped at half the room a window leaves for context, so windows always advance."""
    room = max_seq_length - max_query_length - 3  # [CLS] question [SEP] context [SEP]
    if room < 16:
        raise TrainingError(
            f"max_seq_length {max_seq_length} leaves no room for context after a question of up to "
            f"{max_query_length} tokens (raise max_seq_length or lower options.max_query_length)"
        )
    return max(0, min(doc_stride, room // 2))


def tokenize(
    tokenizer: Any, examples: Sequence[QAExample], max_seq_length: int, doc_stride: int, max_query_length: int = 64
) -> Windows:
    """Tokenise ``examples`` into labelled windows (no padding: batches are padded when they are made)."""
    if not getattr(tokenizer, "is_fast", False):
        raise TrainingError(
            "the backbone's tokenizer is not a fast (Rust) tokenizer, which offsets and doc stride "
            "need (use a backbone with a tokenizer.json)"
        )
    stride = effective_stride(max_seq_length, doc_stride, max_query_length)
    pad_on_right = getattr(tokenizer, "padding_side", "right") == "right"
    questions = _short_questions(tokenizer, [e.question.lstrip() for e in examples], max_query_length)
    contexts = [e.context for e in examples]
    encoded = tokenizer(
        questions if pad_on_right else contexts,
        contexts if pad_on_right else questions,
        truncation="only_second" if pad_on_right else "only_first",
        max_length=max_seq_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    context_id = 1 if pad_on_right else 0
    windows = Windows([], [] if "token_type_ids" in encoded else None, [], [], [], [], stride)
    for i, input_ids in enumerate(encoded["input_ids"]):
        example_index = encoded["overflow_to_sample_mapping"][i]
        sequence_ids = encoded.sequence_ids(i)
        offsets: Offsets = [
            (int(o[0]), int(o[1])) if s == context_id else None
            for o, s in zip(encoded["offset_mapping"][i], sequence_ids, strict=True)
        ]
        start, end = _label(offsets, examples[example_index], cls_index=_cls_index(tokenizer, input_ids))
        windows.input_ids.append(list(input_ids))
        if windows.token_type_ids is not None:
            windows.token_type_ids.append(list(encoded["token_type_ids"][i]))
        windows.start_positions.append(start)
        windows.end_positions.append(end)
        windows.example_index.append(example_index)
        windows.offsets.append(offsets)
    return windows


def best_spans(
    examples: Sequence[QAExample],
    windows: Windows,
    start_logits: Sequence[np.ndarray],
    end_logits: Sequence[np.ndarray],
    n_best: int = 20,
    max_answer_length: int = 30,
) -> dict[str, str]:
    """The best answer text per example id from the logits of its windows (empty when no valid span exists)."""
    best: dict[int, tuple[float, str]] = {}
    for w, example_index in enumerate(windows.example_index):
        offsets = windows.offsets[w]
        starts, ends = start_logits[w], end_logits[w]
        length = min(len(offsets), len(starts))
        start_candidates = np.argsort(starts[:length])[::-1][:n_best]
        end_candidates = np.argsort(ends[:length])[::-1][:n_best]
        context = examples[example_index].context
        for s in start_candidates:
            s_offset = offsets[s]
            if s_offset is None:
                continue
            for e in end_candidates:
                e_offset = offsets[e]
                if e_offset is None or e < s or e - s + 1 > max_answer_length:
                    continue
                score = float(starts[s] + ends[e])
                if example_index not in best or score > best[example_index][0]:
                    best[example_index] = (score, context[s_offset[0] : e_offset[1]])
    return {e.id: best[i][1] if i in best else "" for i, e in enumerate(examples)}


def _short_questions(tokenizer: Any, questions: list[str], max_query_length: int) -> list[str]:
    """Questions cut to ``max_query_length`` tokens (at a token boundary), so the context always has room."""
    encoded = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    short = []
    for question, offsets in zip(questions, encoded["offset_mapping"], strict=True):
        short.append(question if len(offsets) <= max_query_length else question[: offsets[max_query_length - 1][1]])
    return short


def _cls_index(tokenizer: Any, input_ids: Sequence[int]) -> int:
    cls_id = tokenizer.cls_token_id
    if cls_id is not None and cls_id in input_ids:
        return list(input_ids).index(cls_id)
    return 0


def _label(offsets: Offsets, example: QAExample, cls_index: int) -> tuple[int, int]:
    """Token start/end of the first answer inside this window, or (cls, cls) when it is not wholly inside."""
    if not example.answers:  # a question to answer, not to learn from
        return cls_index, cls_index
    answer = example.answers[0]
    start_char, end_char = answer.start, answer.start + len(answer.text)
    context_tokens = [i for i, o in enumerate(offsets) if o is not None]
    if not context_tokens:
        return cls_index, cls_index
    first, last = context_tokens[0], context_tokens[-1]
    if offsets[first][0] > start_char or offsets[last][1] < end_char:  # type: ignore[index]
        return cls_index, cls_index
    start = first
    while start <= last and offsets[start][0] <= start_char:  # type: ignore[index]
        start += 1
    end = last
    while end >= first and offsets[end][1] >= end_char:  # type: ignore[index]
        end -= 1
    return start - 1, end + 1
