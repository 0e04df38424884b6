"""Typed search spaces: declaration checks, repair of untrusted configurations, conditions, sampling."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from automl_gpt.cards.search_space import CategoricalParam, FloatParam, IntParam, Param, SearchSpace
from automl_gpt.errors import ConfigError, SearchSpaceError, TrainingError
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

PARAM = TypeAdapter(Param)


def make_space() -> SearchSpace:
    """A space with every kind of parameter and a chain of conditions (leaves -> policy -> booster)."""
    return SearchSpace(
        {
            "learning_rate": FloatParam(low=1e-3, high=0.5, log=True, default=0.1),
            "subsample": FloatParam(low=0.5, high=1.0),
            "max_depth": IntParam(low=1, high=12, default=6),
            "n_estimators": IntParam(low=10, high=2000, log=True),
            "booster": CategoricalParam(choices=["gbtree", "dart", "gblinear"], stage="model"),
            "policy": CategoricalParam(choices=["depthwise", "lossguide"], condition={"booster": ["gbtree", "dart"]}),
            "max_leaves": IntParam(low=4, high=256, condition={"policy": ["lossguide"]}),
            "scale": CategoricalParam(choices=[1, 2.5, None, True], default=1),
        }
    )


def test_declaration_checks() -> None:
    with pytest.raises(ValidationError, match="above high"):
        FloatParam(low=2, high=1)
    with pytest.raises(ValidationError, match="log-scaled parameter needs low > 0"):
        FloatParam(low=0, high=1, log=True)
    with pytest.raises(ValidationError, match="outside"):
        IntParam(low=1, high=3, default=7)
    with pytest.raises(ValidationError, match="not one of the choices"):
        CategoricalParam(choices=["a"], default="b")
    with pytest.raises(ValidationError, match="must not be empty"):
        CategoricalParam(choices=[])
    with pytest.raises(ValidationError):
        PARAM.validate_python({"type": "float", "low": 0, "high": 1, "step": 2})
    with pytest.raises(SearchSpaceError, match="unknown parameter 'nope'"):
        SearchSpace({"a": IntParam(low=0, high=1, condition={"nope": [1]})})
    with pytest.raises(SearchSpaceError, match="cycle: a -> b -> a"):
        SearchSpace(
            {"a": IntParam(low=0, high=1, condition={"b": [1]}), "b": IntParam(low=0, high=1, condition={"a": [1]})}
        )


def test_mapping_form_is_discriminated_by_type() -> None:
    assert isinstance(PARAM.validate_python({"type": "int", "low": 1, "high": 3}), IntParam)
    assert isinstance(PARAM.validate_python({"type": "categorical", "choices": ["x"]}), CategoricalParam)
    with pytest.raises(ValidationError):
        PARAM.validate_python({"type": "complex", "low": 1, "high": 2})


def test_defaults_are_inside_and_respect_conditions() -> None:
    space = make_space()
    defaults = space.defaults()
    assert defaults["learning_rate"] == 0.1
    assert defaults["subsample"] == 0.75
    assert defaults["n_estimators"] == round(math.sqrt(10 * 2000))
    assert defaults["policy"] == "depthwise"
    assert "max_leaves" not in defaults  # policy defaults to depthwise
    assert space.contains(defaults)


def test_repair_casts_clips_snaps_and_notes_every_change() -> None:
    space = make_space()
    raw = {
        "learning_rate": "0.9",
        "subsample": 0.1,
        "max_depth": 6.6,
        "n_estimators": 5,
        "booster": "GBTree",
        "policy": "lossguide",
        "max_leaves": 300,
        "scale": 2.5,
        "colour": "red",
    }
    repaired = space.repair(raw)
    assert repaired.config == {
        "learning_rate": 0.5,
        "subsample": 0.5,
        "max_depth": 7,
        "n_estimators": 10,
        "booster": "gbtree",
        "policy": "lossguide",
        "max_leaves": 256,
        "scale": 2.5,
    }
    notes = "\n".join(repaired.notes)
    for expected in (
        "dropped unknown parameter 'colour'",
        "learning_rate: clipped 0.9 down to 0.5",
        "max_depth: rounded 6.6 to 7",
        "booster: read 'GBTree' as 'gbtree'",
        "max_leaves: clipped 300 down to 256",
    ):
        assert expected in notes
    assert space.contains(repaired.config)


def test_repair_fills_missing_and_drops_inactive() -> None:
    space = make_space()
    repaired = space.repair({"booster": "gblinear", "policy": "lossguide", "max_leaves": 8})
    assert "policy" not in repaired.config and "max_leaves" not in repaired.config
    assert "dropped 'policy': inactive under this configuration" in repaired.notes
    assert "learning_rate: missing, used default 0.1" in repaired.notes


def test_conditions_chain_switches_off_as_a_whole() -> None:
    space = make_space()
    # max_leaves' own condition (policy=lossguide) holds, but policy is inactive under gblinear.
    assert "max_leaves" not in space.active({"booster": "gblinear", "policy": "lossguide", "max_leaves": 8})
    assert space.active({"booster": "dart", "policy": "lossguide", "max_leaves": 8})["max_leaves"] == 8


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("fast", "parameter 'learning_rate': 'fast' is not a number"),
        (True, "is a boolean, not a number"),
        (float("nan"), "is not a number"),
        ([0.1], "is not a number"),
    ],
)
def test_repair_rejects_what_cannot_fit(value: Any, message: str) -> None:
    with pytest.raises(SearchSpaceError, match=message.replace("(", r"\(").replace("[", r"\[")):
        make_space().repair({"learning_rate": value})


def test_categorical_matching_is_type_aware() -> None:
    param = CategoricalParam(choices=[1, 2.5, None, True])
    assert param.repair(True) == (True, None)
    assert param.repair(1) == (1, None)
    assert param.repair(1.0) == (1, "read 1.0 as 1")
    assert param.repair("2.5") == (2.5, "read '2.5' as 2.5")
    assert param.repair(None) == (None, None)
    with pytest.raises(ValueError, match="not one of"):
        param.repair("three")
    assert make_space().repair({"scale": None}).config["scale"] is None  # None is a choice here


def test_optuna_distributions_and_json_schema() -> None:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    space = make_space()
    dists = space.to_optuna()
    assert dists["learning_rate"] == FloatDistribution(1e-3, 0.5, log=True)
    assert dists["n_estimators"] == IntDistribution(10, 2000, log=True)
    assert isinstance(dists["booster"], CategoricalDistribution)
    assert "max_leaves" not in space.to_optuna({"booster": "gblinear"})
    schema = space.json_schema()
    assert schema["properties"]["max_depth"] == {"type": "integer", "minimum": 1, "maximum": 12}
    assert "max_leaves" not in schema["required"] and "booster" in schema["required"]


def test_describe_groups_by_stage() -> None:
    lines = make_space().describe().splitlines()
    assert lines[0].startswith("[model] booster: one of 'gbtree', 'dart', 'gblinear'")
    assert "[hyperparameters] learning_rate: float in [0.001, 0.5], log scale, default 0.1" in lines
    assert any(
        line.startswith("[hyperparameters] max_leaves") and "only when policy in ['lossguide']" in line
        for line in lines
    )


# -- properties --------------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["gbtree", "DART", " lossguide ", "1e400", "-inf"]),
)
raw_configs = st.dictionaries(
    st.sampled_from([*make_space(), "unknown"]),
    scalars,
    max_size=10,
)


@st.composite
def spaces(draw: st.DrawFn) -> SearchSpace:
    """Random spaces of float/log, int/log and categorical parameters, some conditional on earlier ones."""
    params: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["float", "int", "categorical"]))
        condition: dict[str, list[Any]] = {}
        categorical = [n for n, p in params.items() if isinstance(p, CategoricalParam)]
        if categorical and draw(st.booleans()):
            other = draw(st.sampled_from(categorical))
            condition = {other: [params[other].choices[0]]}
        if kind == "categorical":
            choices = draw(
                st.lists(
                    st.one_of(st.integers(-3, 3), st.text("abc", min_size=1, max_size=3)),
                    min_size=1,
                    max_size=4,
                    unique_by=lambda c: (type(c), str(c).lower()),
                )
            )
            params[f"p{index}"] = CategoricalParam(choices=choices, condition=condition)
            continue
        log = draw(st.booleans())
        low = draw(st.floats(1e-6 if log else -1e6, 1e6))
        high = draw(st.floats(low, 1e7))
        if kind == "int":
            low_i, high_i = math.ceil(low), max(math.ceil(low), math.floor(high))
            params[f"p{index}"] = IntParam(
                low=max(low_i, 1) if log else low_i,
                high=max(high_i, 1) if log else high_i,
                log=log,
                condition=condition,
            )
        else:
            params[f"p{index}"] = FloatParam(low=low, high=high, log=log, condition=condition)
    return SearchSpace(params)


@settings(max_examples=100, deadline=None)
@given(raw=raw_configs)
def test_repair_output_is_always_inside_the_space(raw: dict[str, Any]) -> None:
    space = make_space()
    try:
        repaired = space.repair(raw)
    except SearchSpaceError as exc:
        assert str(exc).startswith("parameter '")
        return
    assert space.contains(repaired.config)
    assert space.repair(repaired.config).config == repaired.config  # repair is idempotent


@settings(max_examples=80, deadline=None)
@given(space=spaces(), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_random_spaces_sample_and_repair_inside(space: SearchSpace, seed: int, data: st.DataObject) -> None:
    rng = random.Random(seed)
    sample = space.sample(rng)
    assert space.contains(sample), sample
    assert space.contains(space.defaults())
    noisy = {name: data.draw(st.one_of(scalars, st.just(value))) for name, value in sample.items()}
    try:
        repaired = space.repair(noisy)
    except SearchSpaceError:
        return
    assert space.contains(repaired.config), (noisy, repaired)


def test_check_hands_a_backend_the_configuration_or_one_clear_rejection() -> None:
    space = make_space()
    checked = space.check({"booster": "gblinear", "policy": "lossguide", "max_depth": 3.0, "scale": None})
    defaults = space.defaults()
    del defaults["policy"]  # switched off by booster: dropped; the rest at their defaults
    assert checked == {**defaults, "booster": "gblinear", "max_depth": 3, "scale": None}
    assert type(checked["max_depth"]) is int
    assert space.check({"scale": True})["scale"] is True and space.check({"scale": 2.5})["scale"] == 2.5


@pytest.mark.parametrize("config,line", [
    ({"learning_rate": 0.9}, "parameter 'learning_rate': 0.9 is outside [0.001, 0.5]"),
    ({"learning_rate": "0.1"}, "parameter 'learning_rate': '0.1' is not a number"),
    ({"learning_rate": math.nan}, "parameter 'learning_rate': nan is not a number"),
    ({"max_depth": False}, "parameter 'max_depth': False is not a number"),
    ({"max_depth": 2.5}, "parameter 'max_depth': 2.5 is not a whole number (an integer in [1, 12])"),
    ({"max_depth": math.inf}, "parameter 'max_depth': inf is outside [1, 12]"),
    ({"booster": "GBTREE"}, "parameter 'booster': 'GBTREE' is not one of ['gbtree', 'dart', 'gblinear']"),
    ({"scale": "1"}, "parameter 'scale': '1' is not one of [1, 2.5, None, True]"),
    ({"depth": 3}, "unknown parameter 'depth' (known: learning_rate, subsample, max_depth, n_estimators, booster, "
                   "policy, max_leaves, scale)"),
])
def test_check_rejects_what_repair_would_change(config: dict[str, Any], line: str) -> None:
    with pytest.raises(ConfigError) as error:
        make_space().check(config)
    assert str(error.value) == line and isinstance(error.value, TrainingError)
