"""What a running trial shows the person watching: throttled progress lines, and library warnings kept in a file.

Backends get a line printer as ``TrainingRequest.echo`` (the run loop prints to the terminal, once per line and
run, prefixed with the trial number). :class:`StepProgress` turns optimizer steps into lines such as
``step 120/400, loss 0.532, 1:02 elapsed, ETA 3:25`` at most every ``interval_s`` seconds, and always at the last
step. :func:`warnings_to_file` sends Python warnings raised while a trial trains (deprecations inside torch,
transformers or mmengine that a user cannot act on) to a log file in the trial's folder instead of the terminal.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

PROGRESS_INTERVAL_S = 30.0


class StepProgress:
    """Progress of one trial's training loop: ``update(step, loss)`` after each step echoes a line now and then."""

    def __init__(
        self,
        echo: Callable[[str], None],
        total: int,
        *,
        unit: str = "step",
        interval_s: float = PROGRESS_INTERVAL_S,
        start: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.echo = echo
        self.total = max(0, int(total))
        self.start = start  # steps already done before this process (a resumed trial): not timed
        self.unit = unit
        self.interval_s = interval_s
        self.clock = clock
        self.started = clock()
        self.last_echo = self.started

    def update(self, step: int, loss: float | None = None) -> None:
        """Record that ``step`` (1-based) finished; echo a line when the interval passed or at the last step."""
        now = self.clock()
        if step < self.total and now - self.last_echo < self.interval_s:
            return
        self.last_echo = now
        self.echo(self.line(step, loss, now - self.started))

    def line(self, step: int, loss: float | None, elapsed: float) -> str:
        """``iteration 120/400, loss 0.532, 1:02 elapsed, ETA 3:25`` (ETA from the mean time per step so far)."""
        parts = [f"{self.unit} {step}/{self.total}"]
        if loss is not None and math.isfinite(loss):
            parts.append(f"loss {loss:.4g}")
        parts.append(f"{clock_text(elapsed)} elapsed")
        if self.start < step < self.total:
            parts.append(f"ETA {clock_text(elapsed / (step - self.start) * (self.total - step))}")
        return ", ".join(parts)


def clock_text(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@contextmanager
def warnings_to_file(path: Path) -> Iterator[Path]:
    """While active, every Python warning is appended to ``path`` (created on the first warning), not printed."""
    handle: list[TextIO] = []

    def show(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
             line: str | None = None) -> None:
        if not handle:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle.append(path.open("a", encoding="utf-8"))
        handle[0].write(warnings.formatwarning(message, category, filename, lineno, line))
        handle[0].flush()

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            yield path
        finally:
            for opened in handle:
                opened.close()
