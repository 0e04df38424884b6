"""One rule for a bad configuration in every first-party backend: the same configuration outside the same search
space is rejected by tabular, NLP and vision with the same line (``SearchSpace.check``'s), before any training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.training import Backend, LogRecord, TrainingRequest, TrialState

SPACE = {
    "learning_rate": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True, "default": 1e-4},
    "depth": {"type": "int", "low": 1, "high": 12, "default": 6},
    "scheduler": {"type": "categorical", "choices": ["linear", "cosine"], "default": "linear"},
}
BACKENDS = {  # backend module, class, a task it trains
    "tabular": ("automl_gpt_backend_tabular.backend", "XGBoostBackend", "binary"),
    "nlp": ("automl_gpt_backend_nlp.backend", "TransformersQABackend", "extractive_qa"),
    "vision": ("automl_gpt_backend_vision.backend", "MMDetBackend", "object_detection"),
}
BAD = [  # a configuration outside SPACE -> the line every backend fails the trial with
    ({"learning_rate": 5.0}, "parameter 'learning_rate': 5.0 is outside [1e-05, 0.001]"),
    ({"depth": 2.5}, "parameter 'depth': 2.5 is not a whole number (an integer in [1, 12])"),
    ({"depth": True}, "parameter 'depth': True is not a number"),
    ({"scheduler": "Cosine"}, "parameter 'scheduler': 'Cosine' is not one of ['linear', 'cosine']"),
    ({"dropout": 0.1}, "unknown parameter 'dropout' (known: learning_rate, depth, scheduler)"),
]


def backend_named(key: str) -> Backend:
    module, name, _ = BACKENDS[key]
    backend: Backend = getattr(pytest.importorskip(module), name)()
    if not backend.requirements.available:
        pytest.skip(backend.requirements.reason)
    return backend


@pytest.mark.parametrize("config,line", BAD, ids=[line.split(":")[0] for _, line in BAD])
@pytest.mark.parametrize("key", list(BACKENDS))
def test_every_backend_rejects_a_bad_configuration_with_the_same_line(key: str, config: dict[str, Any], line: str,
                                                                      tmp_path: Path) -> None:
    backend = backend_named(key)
    task = BACKENDS[key][2]
    model_card = card_from_mapping(ModelCard, {"name": "shared", "backend": backend.name, "tasks": [task],
                                               "search_space": SPACE})
    data_card = card_from_mapping(DataCard, {"name": "d", "task": task, "train": str(tmp_path / "absent.json"),
                                             "target": "label"})
    streamed: list[LogRecord] = []
    request = TrainingRequest({**model_card.defaults(), **config}, data_card, model_card, tmp_path,
                              report=lambda record: streamed.append(record) or False)
    result = backend.train(request)
    assert (result.state, result.error, streamed) == (TrialState.FAIL, line, [])
