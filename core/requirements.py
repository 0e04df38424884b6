"""Optional dependencies of a plugin, checked without importing them."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Requirements:
    """The import names a plugin needs and how to install them.

    ``modules`` are import names (``sklearn``, not ``scikit-learn``). The install hint shown when one is missing
    is ``hint`` when given, else ``pip install '<package>[<extra>]'``: first-party plugins name an extra of
    ``automl-gpt``; a third-party plugin names its own distribution as ``package`` (``Requirements(
    package="acme-automl", extra="gpu", modules=("acme_trainer",))``), or gives the command as ``hint``.

    ``available`` looks the modules up with :func:`importlib.util.find_spec`, which finds a package without
    running it, so listing plugins stays fast and a broken heavy library cannot break the CLI.
    """

    extra: str | None = None
    modules: tuple[str, ...] = ()
    package: str = "automl-gpt"
    hint: str | None = None

    @property
    def install_hint(self) -> str | None:
        """The command that installs the missing modules, or None when nothing says how."""
        if self.hint:
            return self.hint
        return f"pip install '{self.package}[{self.extra}]'" if self.extra else None

    @cached_property
    def missing(self) -> tuple[str, ...]:
        return tuple(m for m in self.modules if not _findable(m))

    @property
    def available(self) -> bool:
        return not self.missing

    @property
    def reason(self) -> str | None:
        """Why the plugin is unavailable, with the install hint; None when available."""
        if not self.missing:
            return None
        text = "missing " + ", ".join(self.missing)
        return f"{text}: {self.install_hint}" if self.install_hint else text


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
