"""automl-gpt tabular backend: XGBoost, histogram gradient boosting and linear models on CSV/Parquet tables.

Install with ``pip install 'automl-gpt[tabular]'``. Importing this package is light: XGBoost, pandas and
scikit-learn load only when data is checked or a trial trains.
"""

from __future__ import annotations

from collections.abc import Callable

from automl_gpt import hookimpl
from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend
from automl_gpt_backend_tabular.backend import XGBoostBackend

requirements = Requirements(extra="tabular", modules=("xgboost", "sklearn"))


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(XGBoostBackend())
