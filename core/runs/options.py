"""A run's settings, declared once: :class:`RunSettings`.

Each field is one setting. Its metadata says how a user gives it (``flag``: the command-line option, ``help``,
``reads``: how the command line reads the value), how it is checked (``check``, before any folder is created or any
work starts) and whether ``run --resume`` may change it (``resume``). The ``run`` command's options are generated
from these fields (:mod:`automl_gpt.cli.run_options`), :func:`automl_gpt.runs.loop.run` takes them as keyword
arguments, and the run folder's ``run.json`` and the study store them all, so ``--resume`` and workers continue with
the same settings. A new setting is one new field here.

Each bad value is one :class:`~automl_gpt.errors.UsageError` naming the option and a value that works, so a
script sees exit code 2 and nothing on disk changes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from automl_gpt.errors import DamagedFileError, UsageError
from automl_gpt.files import write_text_atomic

SEED_MAX = 2**32 - 1  # numpy's and XGBoost's seeds are unsigned 32-bit integers
SETTINGS_FILE = "run.json"

Reads = Literal["value", "duration", "pairs", "off_switch"]
"""How the command line reads a setting: ``value`` as typed (int, str...), ``duration`` as ``90s``/``20m``/``1.5h``,
``pairs`` as repeated ``NAME=VALUE``, ``off_switch`` as a ``--no-...`` flag that turns a default-on setting off."""


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


def _count(example: int) -> Callable[[str, Any], None]:
    return lambda option, value: check_count(option, value, example)


def _meta(flag: str | None, help: str, *, reads: Reads = "value", check: Callable[[str, Any], None] | None = None,
          resume: bool = False) -> dict[str, Any]:
    """The metadata of a setting the user chooses (``flag`` None: from Python only)."""
    return {"flag": flag, "help": help, "reads": reads, "check": check, "resume": resume}


def _option(default: Any, flag: str | None, help: str, **how: Any) -> Any:
    """A setting the user chooses, with an immutable default."""
    return field(default=default, metadata=_meta(flag, help, **how))


def _recorded(default: Any, help: str) -> Any:
    """A setting the run records itself (not an option)."""
    return field(default=default, metadata={"recorded": True, "help": help})


@dataclass(frozen=True)
class RunSettings:
    """What a run was asked to do, declared once (see the module docstring); saved in ``run.json`` and in the
    study."""

    card: str = _recorded("", "the data card file the run read (absolute)")
    budget: int = _option(30, "--budget", "Number of training runs (trials).", check=_count(30), resume=True)
    time_budget_s: float | None = _option(None, "--time-budget", "Stop after this much wall time (e.g. 20m).",
                                          reads="duration", check=check_duration, resume=True)
    planner: str = _option("llm", "--planner", "A registered planner: llm, tpe, random, default, transfer, or a "
                           "plugin's (see 'automl-gpt plugins list --all').")
    llm: str = _option("local", "--llm", "LLM provider[:model], e.g. local, local:/path/model.gguf, "
                       "openai:gpt-4o-mini.")
    backend: str = _option("", "--backend", "Backend name (default: the first installed one with a model "
                                  "card of that name for the task).")
    model: str = _option("", "--model", "Model card name (default: the backend's first), backend name, or "
                                "model card file; auto, or a,b,c: the planner chooses the model card too (a 'model' "
                                "parameter).")
    seed: int = _option(0, "--seed", "Seed of the planners and of each trial (trial n gets seed + n).",
                        check=lambda _, seed: check_seed(seed))
    batch_size: int = _option(2, "--batch-size", "Candidates per planning round.", check=_count(2))
    max_failures: int = _option(5, "--max-failures", "Stop after this many failures in a row.", check=_count(5),
                                resume=True)
    trial_timeout_s: float | None = _option(None, "--trial-timeout", "Fail a trial that runs longer than this "
                                            "(e.g. 5m).", reads="duration", check=check_duration, resume=True)
    limits: dict[str, Any] = field(default_factory=dict, metadata=_meta(
        "--limit", "Backend budget cap NAME=VALUE (e.g. max_rows=5000).", reads="pairs",
        check=lambda _, limits: check_limits(limits)))
    prune: bool = _option(True, "--no-prune", "Never stop a trial early.", reads="off_switch")
    llm_cache: bool = _option(True, "--no-cache", "Bypass the LLM response cache.", reads="off_switch")
    experience: bool = _option(True, "--no-experience", "Neither warm-start from similar past datasets nor add this "
                               "run to the experience store.", reads="off_switch")
    ensemble: bool = _option(True, "--no-ensemble", "Do not combine the best trials into an ensemble after the run "
                             "(tabular backends build one).", reads="off_switch")
    storage: str | None = _option(None, "--storage", "Optuna storage URL (default: SQLite in the run folder).")
    study_name: str = _option("", "--study", "Study name in the storage (default: the run id).")
    heartbeat_s: int = _option(10, None, "Seconds between a running trial's heartbeats (shared studies).")
    run_id: str = _recorded("", "the run's id, also its folder's name")
    created: float = _recorded(0.0, "when the run started (seconds since the epoch)")

    @classmethod
    def from_options(cls, **options: Any) -> RunSettings:
        """The settings a user chose (every other one, and one given as None, at its default), checked; an unknown
        name is one clear error."""
        declared = {f.name: f for f in user_options()}
        unknown = sorted(set(options) - set(declared))
        if unknown:
            raise UsageError(f"unknown run option(s) {', '.join(unknown)} (known: {', '.join(declared)})")
        settings = cls(**{k: v for k, v in options.items() if v is not None or default_of(declared[k]) is None})
        settings.check()
        return settings

    def check(self) -> None:
        """Check every setting that has a check, in the order they are declared."""
        for option in user_options():
            check = option.metadata["check"]
            if check is not None:
                check(option.metadata["flag"], getattr(self, option.name))

    def resumed(self, **overrides: Any) -> RunSettings:
        """These settings with the ones ``--resume`` may change replaced (None: keep), checked."""
        fixed = sorted(set(overrides) - {f.name for f in user_options() if f.metadata["resume"]})
        if fixed:
            raise UsageError(f"a resumed run keeps its {', '.join(fixed)}; only {', '.join(resumable())} can change")
        settings = replace(self, **{k: v for k, v in overrides.items() if v is not None})
        settings.check()
        return settings

    @classmethod
    def load(cls, folder: Path) -> RunSettings:
        """The settings in ``folder/run.json``; a missing or damaged file is one clear error."""
        path = folder / SETTINGS_FILE
        if not path.exists():
            raise UsageError(f"{folder}: not a run folder (no {SETTINGS_FILE}); pass a folder made by 'automl-gpt run'")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            settings = cls.from_dict(data)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError, AttributeError) as exc:
            raise DamagedFileError(path, f"{type(exc).__name__}: {exc}",
                                   "restore it from a backup, or start a new run") from None
        if not settings.run_id or not settings.backend:
            raise DamagedFileError(path, "it lacks run_id or backend", "restore it from a backup, or start a new run")
        return settings

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        """Settings from their stored form (``run.json``, the study); names this version does not know are left
        out, settings an older run did not store take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        """Every setting, as stored."""
        return asdict(self)

    def save(self, folder: Path) -> None:
        write_text_atomic(folder / SETTINGS_FILE, json.dumps(self.to_dict(), indent=2))

    def storage_url(self, folder: Path) -> str:
        return self.storage or f"sqlite:///{(folder / 'study.db').resolve()}"


def user_options() -> list[Field[Any]]:
    """The settings a user chooses (every field but those the run records itself), in declaration order."""
    return [f for f in fields(RunSettings) if not f.metadata.get("recorded")]


def resumable() -> list[str]:
    """The settings ``run --resume`` may change."""
    return [f.name for f in user_options() if f.metadata["resume"]]


def default_of(option: Field[Any]) -> Any:
    """A setting's default value."""
    if option.default_factory is not MISSING:
        return option.default_factory()
    return option.default
