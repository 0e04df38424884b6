"""Checks of a run's option values, made before any folder is created or any work starts.

Each bad value is one :class:`~automl_gpt.errors.UsageError` naming the option and a value that works, so a
script sees exit code 2 and nothing on disk changes.
"""

from __future__ import annotations

import math
from typing import Any

from automl_gpt.errors import UsageError

SEED_MAX = 2**32 - 1  # numpy's and XGBoost's seeds are unsigned 32-bit integers


def check_seed(seed: int) -> None:
    """A seed must fit the 32-bit unsigned range every library below us accepts."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise UsageError(f"--seed {seed}: must be a whole number from 0 to {SEED_MAX}")


def check_count(option: str, value: int, example: int) -> None:
    """A count option (``--budget``, ``--n``...) must be at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{option} {value}: must be at least 1 (e.g. {option} {example})")


def check_duration(option: str, seconds: float | None) -> None:
    """A time limit, when given, must be a positive finite number of seconds."""
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"{option} {seconds:g}s: must be more than 0 (e.g. {option} 5m)")


def check_limits(limits: dict[str, Any]) -> None:
    """Backend caps (``--limit NAME=VALUE``) that are numbers must be finite and not negative."""
    for name, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"--limit {name}={value}: a limit must be a number of 0 or more (e.g. max_rows=5000)")


def check_run_options(*, budget: int, batch_size: int, seed: int, max_failures: int, time_budget_s: float | None,
                      trial_timeout_s: float | None, limits: dict[str, Any]) -> None:
    """Every option of ``run`` at once, in the order a user reads them."""
    check_count("--budget", budget, 30)
    check_count("--batch-size", batch_size, 2)
    check_seed(seed)
    check_count("--max-failures", max_failures, 5)
    check_duration("--time-budget", time_budget_s)
    check_duration("--trial-timeout", trial_timeout_s)
    check_limits(limits)
