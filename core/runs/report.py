"""The run report: ``summary.json`` (stable keys, for machines) and a self-contained ``report.html`` (charts in
:mod:`automl_gpt.runs.report_charts`).

Both are computed from the study alone, so a report of a run with many workers counts every worker's trials.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from automl_gpt.cards.model_choice import compare_models
from automl_gpt.errors import DamagedFileError
from automl_gpt.files import write_text_atomic
from automl_gpt.planners.base import PastTrial, best_trial, predicted_and_real
from automl_gpt.runs.store import trial_source
from automl_gpt.training import Objective, TrialState

if TYPE_CHECKING:
    from automl_gpt.runs.loop import Experiment
    from automl_gpt.runs.options import RunSettings
    from automl_gpt.runs.store import RunStore
    from optuna.study import Study

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"


def write_report(folder: Path, store: RunStore, experiment: Experiment, settings: RunSettings) -> dict[str, Any]:
    """Write ``summary.json`` and ``report.html`` into the run folder; returns the summary."""
    trials = store.trials()  # one read of the study serves the history, the sources and the retries
    history = store.history(trials)
    sources = {t.number: trial_source(t) for t in trials}
    summary = summarise(history, experiment.context.objective, settings, dict(store.study.user_attrs), sources,
                        store.retried(trials))
    summary["dataset"] = experiment.data_card.name
    summary["models"] = compare_models(experiment.model_card, history, experiment.context.objective)
    summary["defaults"] = defaults_trial(history, experiment.context.space.defaults(), experiment.context.objective)
    kept = recorded_trials(folder)
    if kept is not None and kept > summary["trials"]["total"]:
        raise DamagedFileError(
            store.url.removeprefix("sqlite:///"),
            f"it holds {summary['trials']['total']} finished trial(s) but {folder / SUMMARY_FILE} records {kept}",
            "restore the study from a backup; the summary and report were not overwritten",
        )
    write_text_atomic(folder / SUMMARY_FILE, json.dumps(summary, indent=2, default=str))
    write_text_atomic(folder / REPORT_FILE,
                      render_html(summary, history, experiment.context.objective, sources, store.study))
    return summary


def defaults_trial(history: list[PastTrial], defaults: dict[str, Any], objective: Objective) -> dict[str, Any] | None:
    """The complete trial of the model card's default configuration (the baseline a run must beat), if it ran."""
    from automl_gpt.planners import config_key

    key = config_key(defaults)
    for trial in history:
        if trial.result.state == TrialState.COMPLETE and config_key(trial.config) == key:
            return {"trial": trial.number, "value": trial.result.value(objective), "metrics": trial.result.metrics}
    return None


def recorded_trials(folder: Path) -> int | None:
    """The trial count of the run's current ``summary.json``; None when there is none or it cannot be read."""
    try:
        total = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))["trials"]["total"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None
    return total if isinstance(total, int) else None


def summarise(history: list[PastTrial], objective: Objective, settings: RunSettings, study_attrs: dict[str, Any],
              sources: dict[int, str], retried: set[int] | None = None) -> dict[str, Any]:
    """The run's summary with stable key names (public API: add keys, never rename them).

    ``trials.failed`` counts failures that stand; ``trials.retried`` counts failures (a worker died) whose
    trial was queued again and counted by its retry.
    """
    retried = retried or set()
    states = Counter(t.result.state.value for t in history if t.number not in retried)
    best = best_trial(history, objective)
    stats = dict(study_attrs.get("planner_stats") or {})
    training_s = sum(t.result.duration_s for t in history)
    wall_s = float(study_attrs.get("wall_s") or 0.0)
    llm_s = float(stats.get("llm_seconds") or 0.0)
    return {
        "run_id": settings.run_id,
        "backend": settings.backend,
        "model": settings.model,
        "planner": settings.planner,
        "llm": settings.llm if settings.planner == "llm" else None,
        "seed": settings.seed,
        "budget": settings.budget,
        "objective": {"metric": objective.metric, "direction": objective.direction, "key": objective.key},
        "trials": {
            "total": len(history) - len(retried & {t.number for t in history}),
            "complete": states.get("COMPLETE", 0),
            "pruned": states.get("PRUNED", 0),
            "failed": states.get("FAIL", 0),
            "retried": len(retried),
        },
        "best": None if best is None else {
            "trial": best.number,
            "config": best.config,
            "value": best.result.value(objective),
            "metrics": best.result.metrics,
            "model_path": best.result.artifacts.get("model"),
            "source": sources.get(best.number),
        },
        "predictions": prediction_quality(history, objective),
        "ensemble": study_attrs.get("ensemble"),
        "sources": dict(Counter(sources.get(t.number, "?") for t in history)),
        "llm_usage": stats,
        "time": {
            "wall_s": wall_s,
            "training_s": training_s,
            "llm_s": llm_s,
            "overhead_s": max(0.0, wall_s - training_s - llm_s),
        },
    }


MIN_TRIALS_FOR_RANKS = 5  # fewer predicted trials give no rank correlation: the report says "too few"
BOOTSTRAP_SAMPLES = 1000


def prediction_quality(history: list[PastTrial], objective: Objective) -> dict[str, dict[str, Any]]:
    """Per predictor: how many trials it predicted, the mean absolute error of the predicted vs real final
    validation objective (COMPLETE trials only) and, from :data:`MIN_TRIALS_FOR_RANKS` trials on, their Spearman
    rank correlation with a 95 % bootstrap interval (``spearman`` None and ``too_few`` True below that)."""
    quality = {}
    for predictor, values in sorted(predicted_and_real(history, objective).items()):
        predicted = np.asarray([p for p, _, _ in values])
        real = np.asarray([r for _, r, _ in values])
        too_few = len(values) < MIN_TRIALS_FOR_RANKS
        quality[predictor] = {
            "n": len(values),
            "too_few": too_few,
            "spearman": None if too_few else spearman(predicted, real),
            "spearman_interval": None if too_few else spearman_interval(predicted, real),
            "mae": float(np.abs(predicted - real).mean()),
        }
    return quality


def spearman_interval(a: np.ndarray, b: np.ndarray, samples: int = BOOTSTRAP_SAMPLES,
                      seed: int = 0) -> list[float] | None:
    """A 95 % percentile-bootstrap interval of :func:`spearman` over resampled pairs (seeded: reproducible)."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(samples):
        index = rng.integers(0, len(a), len(a))
        value = spearman(a[index], b[index])
        if value is not None:
            draws.append(value)
    if len(draws) < samples // 2:
        return None
    return [round(float(np.percentile(draws, 2.5)), 4), round(float(np.percentile(draws, 97.5)), 4)]


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman rank correlation with average ranks for ties; None when undefined (n < 3 or constant)."""
    if len(a) < 3:
        return None
    ranks_a, ranks_b = _ranks(a), _ranks(b)
    if ranks_a.std() == 0 or ranks_b.std() == 0:
        return None
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.arange(len(values), dtype=float)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


# -- HTML ----------------------------------------------------------------------------------------------------

def render_html(summary: dict[str, Any], history: list[PastTrial], objective: Objective,
                sources: dict[int, str], study: Study) -> str:
    """A self-contained HTML page: inline CSS, and charts drawn by plotly.js embedded inline (no network)."""
    from automl_gpt.runs.report_charts import chart_sections, plotly_script

    metric = objective.metric
    charts = chart_sections(study, history, objective)
    parts = [
        f"<h1>automl-gpt run {_e(summary['run_id'])}</h1>",
        f"<p>Dataset <b>{_e(summary.get('dataset', ''))}</b>, backend {_e(summary['backend'])}, model "
        f"{_e(summary['model'])}, planner <b>{_e(summary['planner'])}</b>"
        + (f" ({_e(summary['llm'])})" if summary.get("llm") else "")
        + f", seed {summary['seed']}. Objective: {objective.direction} validation {_e(metric)}.</p>",
        _trials_line(summary),
        "<h2>Best configuration</h2>",
        _best_block(summary),
        *(["<h2>Model cards compared</h2>", _models_block(summary, objective)] if summary.get("models") else []),
        *(["<h2>Ensemble of trials</h2>", _ensemble_block(summary, objective)] if summary.get("ensemble") else []),
        *(f"<h2>{_e(title)}</h2>{chart}" for title, chart in charts),
        "<h2>How good were the predictions?</h2>",
        _prediction_table(summary),
        "<h2>Leaderboard</h2>",
        _leaderboard(history, objective, sources),
        "<h2>LLM usage and time</h2>",
        _usage_block(summary),
    ]
    style = ("body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;"
             "font-size:13px}th{background:#f3f3f3}code{font-size:12px}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>automl-gpt {_e(summary['run_id'])}</title>"
            f"<style>{style}</style>{plotly_script()}</head><body>{''.join(parts)}</body></html>\n")


def _trials_line(summary: dict[str, Any]) -> str:
    t = summary["trials"]
    sources = ", ".join(f"{k}: {v}" for k, v in sorted(summary["sources"].items()))
    return (f"<p>{t['total']} trials: {t['complete']} complete, {t['pruned']} pruned, {t['failed']} failed"
            f" ({t.get('retried', 0)} more failed and were retried). "
            f"Proposed by: {_e(sources) or '-'}.</p>")


def _best_block(summary: dict[str, Any]) -> str:
    best = summary.get("best")
    if not best:
        return "<p>No trial completed.</p>"
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(_fmt(v))}</td></tr>" for k, v in best["config"].items())
    metrics = "".join(f"<tr><td>{_e(k)}</td><td>{_e(_fmt(v))}</td></tr>" for k, v in sorted(best["metrics"].items()))
    return (f"<p>Trial #{best['trial']} (from {_e(best.get('source') or '?')}), model file "
            f"<code>{_e(best.get('model_path') or '-')}</code></p>"
            f"<table><tr><th>parameter</th><th>value</th></tr>{rows}</table><p></p>"
            f"<table><tr><th>metric</th><th>value</th></tr>{metrics}</table>")


def _ensemble_block(summary: dict[str, Any], objective: Objective) -> str:
    """The ensemble beside the best single trial: members, weights, and both sets of scores."""
    ensemble = summary["ensemble"]
    members = ", ".join(f"#{m['trial']} ({m['weight']:.2f})" for m in ensemble["members"])
    keys = sorted(set(ensemble["metrics"]) | set(ensemble["best_metrics"]))
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(_fmt(ensemble['metrics'].get(k)))}</td>"
                   f"<td>{_e(_fmt(ensemble['best_metrics'].get(k)))}</td></tr>" for k in keys)
    verdict = ("It beats the best single trial on validation, so <code>automl-gpt predict</code> serves it."
               if ensemble["served"] else
               f"It is no better than trial #{ensemble['best_trial']} on validation, which predict serves.")
    return (f"<p>Greedy selection with replacement (Caruana et al., 2004) over {ensemble['candidates']} trials "
            f"predicted out of sample on the same validation rows, {ensemble['rounds']} rounds, minimising validation "
            f"{_e(objective.metric)}; weights: {_e(members)}. Model file <code>{_e(ensemble['model_path'])}</code>. "
            f"{verdict}</p><table><tr><th>metric</th><th>ensemble</th><th>best single trial "
            f"#{ensemble['best_trial']}</th></tr>{rows}</table>")


def _models_block(summary: dict[str, Any], objective: Objective) -> str:
    """The architecture comparison of a run over several model cards: trials and best trial per card."""
    rows = "".join(f"<tr><td>{_e(name)}</td><td>{row['trials']}</td><td>{row['complete']}</td>"
                   f"<td>{_fmt(row['best_value'])}</td><td>{'-' if row['best_trial'] is None else row['best_trial']}"
                   "</td></tr>" for name, row in summary["models"].items())
    return (f"<table><tr><th>model card</th><th>trials</th><th>complete</th><th>best valid "
            f"{_e(objective.metric)}</th><th>best trial</th></tr>{rows}</table>")


def _prediction_table(summary: dict[str, Any]) -> str:
    quality = summary["predictions"]
    if not quality:
        return "<p>No trial had a prediction to compare.</p>"
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td>{q['n']}</td><td>{_rank_cell(q)}</td><td>{_fmt(q['mae'])}</td></tr>"
        for name, q in quality.items())
    return ("<table><tr><th>predictor</th><th>trials</th><th>Spearman (predicted vs real final)</th>"
            f"<th>mean abs. error</th></tr>{rows}</table>")


def _rank_cell(quality: dict[str, Any]) -> str:
    if quality.get("too_few", quality["n"] < MIN_TRIALS_FOR_RANKS):
        return f"too few trials (fewer than {MIN_TRIALS_FOR_RANKS})"
    interval = quality.get("spearman_interval")
    if quality["spearman"] is None:
        return "undefined (constant values)"
    return _fmt(quality["spearman"]) + (f" [{_fmt(interval[0])}, {_fmt(interval[1])}]" if interval else "")


def _leaderboard(history: list[PastTrial], objective: Objective, sources: dict[int, str]) -> str:
    def key(t: PastTrial) -> float:
        value = t.result.value(objective)
        if value is None or t.result.state != TrialState.COMPLETE:
            return math.inf
        return value if objective.direction == "minimize" else -value

    rows = []
    for trial in sorted(history, key=key)[:15]:
        config = ", ".join(f"{k}={_fmt(v)}" for k, v in trial.config.items())
        rows.append(f"<tr><td>{trial.number}</td><td>{trial.result.state.value}</td>"
                    f"<td>{_fmt(trial.result.value(objective))}</td><td>{_e(sources.get(trial.number, '?'))}</td>"
                    f"<td>{trial.result.duration_s:.1f}</td><td><code>{_e(config)}</code>"
                    f"{'<br>' + _e(trial.result.error) if trial.result.error else ''}</td></tr>")
    return (f"<table><tr><th>#</th><th>state</th><th>valid {_e(objective.metric)}</th><th>source</th>"
            f"<th>seconds</th><th>config</th></tr>{''.join(rows)}</table>")


def _usage_block(summary: dict[str, Any]) -> str:
    usage = summary["llm_usage"]
    items = "".join(f"<tr><td>{_e(k)}</td><td>{_e(_fmt(v))}</td></tr>" for k, v in sorted(usage.items()))
    times = "".join(f"<tr><td>{_e(k)}</td><td>{v:.1f}</td></tr>" for k, v in summary["time"].items())
    return (f"<table><tr><th>LLM / planner</th><th></th></tr>{items or '<tr><td>no LLM calls</td></tr>'}</table>"
            f"<p></p><table><tr><th>time</th><th>seconds</th></tr>{times}</table>")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def _e(text: Any) -> str:
    return html.escape(str(text))
