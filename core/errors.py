"""One exception hierarchy for automl-gpt.

Every error a user can cause or fix derives from :class:`AutomlGptError`. The CLI turns it into one line
(``error: <message>``) and exit code 2 (usage and input errors) or 1 (runtime failures); ``--debug`` or
``AUTOML_GPT_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

from pathlib import Path


class AutomlGptError(Exception):
    """Base class of every error automl-gpt reports to a user."""

    exit_code = 1


class UsageError(AutomlGptError):
    """A bad option, an unknown name or an input the user must change before any work starts."""

    exit_code = 2


class CardError(UsageError):
    """A data or model card that cannot be used: names the file, the field, the line if known, and the fix."""

    def __init__(
        self,
        path: str | Path | None,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.field = field
        self.line = line
        self.fix = fix
        where = self.path or "<card>"
        if line is not None:
            where += f":{line}"
        parts = [where]
        if field:
            parts.append(f"field '{field}'")
        text = ": ".join(parts) + f": {message}"
        if fix:
            text += f" ({fix})"
        super().__init__(text)


class PluginError(AutomlGptError):
    """A plugin failed to load, or a hook implementation raised."""


class UnknownNameError(UsageError):
    """A backend, model, provider or planner name that no loaded plugin provides."""


class SearchSpaceError(UsageError):
    """A search space declaration or a configuration that does not fit its space."""


class LLMError(AutomlGptError):
    """An LLM provider call failed. ``retryable`` says whether a retry with back-off may help.

    ``retry_after`` is the wait in seconds the provider asked for (its Retry-After), which the LLM client honours
    before the next attempt; ``status`` the HTTP status of the failed call. Both are None when unknown;
    :func:`automl_gpt.llm.client.http_error` sets them.
    """

    retryable = False
    retry_after: float | None = None
    status: int | None = None


class LLMAuthError(LLMError):
    """The provider refused the credentials (HTTP 401/403). Fix the key; retrying will not help."""


class LLMRateLimitError(LLMError):
    """The provider asked us to slow down (HTTP 429)."""

    retryable = True


class LLMServerError(LLMError):
    """The provider failed (HTTP 5xx, connection refused or reset)."""

    retryable = True


class LLMTimeoutError(LLMError):
    """The provider did not answer within the timeout."""

    retryable = True


class LLMOutputError(LLMError):
    """The model's answer could not be parsed or validated against the requested schema."""


class TrainingError(AutomlGptError):
    """A trial failed for a reason that belongs in its FAILED record (crash, out of memory, bad config)."""


class ConfigError(TrainingError):
    """A configuration outside its model card's search space (:meth:`automl_gpt.cards.SearchSpace.check`): names
    the parameter, the value and what the space allows. The trial fails with this line; the run goes on."""


class RunInterrupted(AutomlGptError):
    """The user stopped a run (Ctrl-C); the message says where its finished trials are and how to resume."""

    exit_code = 130


class StorageError(AutomlGptError):
    """A place automl-gpt must write cannot be used: a storage server that refuses, a read-only folder."""


class DamagedFileError(UsageError):
    """A file automl-gpt wrote earlier (run settings, study, summary, cache, store, keys) that cannot be read."""

    def __init__(self, path: str | Path, problem: str, fix: str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: damaged or unreadable ({_one_line(problem)}); {fix}")


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class DataError(UsageError):
    """Data files that do not match their card (missing column, one-class target, empty file...)."""
