"""The plugin registers the xgboost backend, stays light to import, and ships a sound model card."""

from __future__ import annotations

import subprocess
import sys

import automl_gpt_backend_tabular
from automl_gpt.testing import plugins_loaded
from automl_gpt_backend_tabular.backend import XGBoostBackend


def test_registers_the_xgboost_backend() -> None:
    with plugins_loaded(automl_gpt_backend_tabular) as manager:
        backend = manager.backend("xgboost")
        assert isinstance(backend, XGBoostBackend)
        assert backend.tasks == {"binary", "multiclass", "regression"}
        record = next(r for r in manager.plugin_records() if r.module == "automl_gpt_backend_tabular")
        assert record.status == "loaded"
        assert record.provides["backends"][0]["name"] == "xgboost"
    assert automl_gpt_backend_tabular.requirements.extra == "tabular"


def test_import_and_model_cards_do_not_load_heavy_libraries() -> None:
    code = (
        "import sys, automl_gpt_backend_tabular as p; from automl_gpt_backend_tabular.backend import XGBoostBackend;"
        "XGBoostBackend().model_cards(); print(sorted(m for m in ('xgboost', 'sklearn', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_model_card_space_and_defaults() -> None:
    binary, others = (c for c in XGBoostBackend().model_cards() if c.name == "xgboost")
    assert binary.tasks == ["binary"] and set(others.tasks) == {"multiclass", "regression"}
    space = binary.space()
    stages = space.by_stage()
    assert set(stages["data_processing"]) == {"categorical_encoding", "missing_values", "validation", "folds"}
    assert {"learning_rate", "max_depth", "n_estimators", "scale_pos_weight"} <= set(stages["hyperparameters"])
    assert space["learning_rate"].log and space["reg_alpha"].log and space["reg_lambda"].log
    assert space["colsample_bytree"].low <= 0.2, "keep the column sampling range wide"
    defaults = binary.defaults()
    assert defaults == {  # XGBoost's own defaults (reg_alpha 1e-8 is 0 in effect)
        "categorical_encoding": "native",
        "missing_values": "native",
        "validation": "holdout",
        "learning_rate": 0.3,
        "n_estimators": 100,
        "max_depth": 6,
        "min_child_weight": 1,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "reg_alpha": 1e-8,
        "reg_lambda": 1,
        "gamma": 0,
        "max_bin": 256,
        "grow_policy": "depthwise",
        "reweight_classes": False,
    }
    assert "scale_pos_weight" not in others.space() and "reweight_classes" not in others.space()
    assert binary.space()["scale_pos_weight"].condition == {"reweight_classes": [True]}
