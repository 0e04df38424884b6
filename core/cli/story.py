"""The closing lines of ``automl-gpt run``: what a newcomer needs to read at the end of a run."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

PERCENT_METRICS = ("accuracy", "balanced_accuracy", "auc")


def closing_lines(summary: dict[str, Any], folder: Path) -> list[str]:
    """Best trial vs the defaults (validation and test), where the gain came from, the model, the report and the
    next commands to try."""
    lines = [f"run {summary['run_id']}: {summary['trials']['total']} trials in {folder}"]
    best = summary.get("best")
    if not best:
        return [*lines, f"report: {folder / 'report.html'}"]
    metric = summary["objective"]["metric"]
    defaults = summary.get("defaults")
    line = f"best: trial #{best['trial']} ({best.get('source') or '?'}) valid {metric} {best['value']:.4g}"
    if defaults and defaults["trial"] != best["trial"] and defaults["value"]:
        change = (best["value"] - defaults["value"]) / abs(defaults["value"])
        line += f" vs the defaults' {defaults['value']:.4g} (trial #{defaults['trial']}, {change:+.1%})"
    elif defaults:
        line += " = the defaults: nothing tried beat them"
    lines.append(line)
    tests = _tests(best["metrics"])
    if tests:
        base = _tests(defaults["metrics"]) if defaults and defaults["trial"] != best["trial"] else {}
        lines.append("test: " + ", ".join(
            f"{name} {value}" + (f" (defaults {base[name]})" if name in base else "") for name, value in tests.items()))
    sources = summary.get("sources") or {}
    if sources:
        split = ", ".join(f"{n} {s}" for s, n in sorted(sources.items(), key=lambda item: -item[1]))
        lines.append(f"the best came from {best.get('source') or '?'}; trials by source: {split}")
    lines.append(f"config: {json.dumps(best['config'])}")
    if best.get("model_path"):
        lines.append(f"model: {best['model_path']}")
    lines.append(f"report: {folder / 'report.html'}")
    run = shlex.quote(str(folder))
    lines.append(f"next: automl-gpt predict {run} NEW_DATA.csv   |   automl-gpt report {run}   |   "
                 f"automl-gpt run CARD --budget 30")
    return lines


def _tests(metrics: dict[str, float]) -> dict[str, str]:
    shown = {}
    for key, value in sorted(metrics.items()):
        if not key.startswith("test/"):
            continue
        name = key.removeprefix("test/")
        shown[name] = f"{100 * value:.2f}%" if name in PERCENT_METRICS else f"{value:.4g}"
    return shown
