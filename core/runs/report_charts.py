"""The report's charts: Optuna's visualization module and plotly, in one HTML file that opens offline.

plotly.js is embedded once, inline (no CDN); each chart is a ``<div>`` drawn by it. Charts: optimisation
history, parameter importances (PED-ANOVA, which needs no scikit-learn), parallel coordinates and slices of the
most important parameters, predicted vs real learning curves, and predicted vs real final values. A chart that
cannot be drawn yet (too few trials) says why instead.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from automl_gpt.planners.base import PastTrial, predicted_and_real
from automl_gpt.requirements import Requirements
from automl_gpt.training import Objective, TrainingLog, TrialState

if TYPE_CHECKING:  # Optuna and plotly load when a report is written
    from optuna.study import Study

# plotly is a core dependency; checked, so that a broken install still gets the report's tables
PLOTLY = Requirements(modules=("plotly",), hint="pip install 'plotly>=5.20'")
TOP_PARAMS = 6  # parameters shown in the parallel-coordinate and slice charts
TOP_TRIALS = 3  # trials whose learning curves are drawn
COLOURS = ("#c0392b", "#2471a3", "#229954")
HEIGHT = 420


def plotly_script() -> str:
    """The ``<script>`` element that carries plotly.js itself (put it once, before the charts)."""
    if not PLOTLY.available:
        return ""
    from plotly.offline import get_plotlyjs

    return f"<script>{get_plotlyjs()}</script>"


def chart_sections(study: Study, history: list[PastTrial], objective: Objective) -> list[tuple[str, str]]:
    """(title, HTML) of every chart, in report order."""
    if not PLOTLY.available:  # a broken install: the report's tables still come out
        return [("Charts", f"<p class='no-chart'>No charts: {html.escape(PLOTLY.reason or '')}.</p>")]
    target = f"valid {objective.metric}"
    important = _important_params(study)
    sections: list[tuple[str, Callable[[], Any]]] = [
        ("Optimization history", lambda: _history(study, target)),
        ("Parameter importances", lambda: _importances(study, target)),
        ("Parallel coordinates (most important parameters)",
         lambda: _optuna_plot("plot_parallel_coordinate", study, target, important)),
        ("Slices (most important parameters)", lambda: _optuna_plot("plot_slice", study, target, important)),
        ("Predicted vs real learning curves (best trials with a prediction)",
         lambda: learning_curves(history, objective)),
        ("Predicted vs real final value", lambda: predicted_vs_real(history, objective)),
    ]
    return [(title, _render(draw)) for title, draw in sections]


def learning_curves(history: list[PastTrial], objective: Objective) -> Any:
    """Real validation curves (solid) and every prediction of them (dashed) of the best trials, x in % of training.

    Trials that were predicted come first (the first trials of a run have no prediction yet).
    """
    import plotly.graph_objects as go

    trials = _best_trials(history, objective)
    if not trials:
        raise _NoChart("no trial completed")
    figure = go.Figure()
    for trial, colour in zip(trials, COLOURS, strict=False):
        real = _percent_curve(trial.result.log, objective.metric)
        figure.add_trace(go.Scatter(x=[x for x, _ in real], y=[y for _, y in real], mode="lines",
                                    name=f"#{trial.number} real", line={"color": colour, "width": 2}))
        for prediction, dash in zip(trial.predictions, ("dash", "dot", "dashdot"), strict=False):
            curve = _percent_curve(prediction.log, objective.metric)
            if curve:
                figure.add_trace(go.Scatter(
                    x=[x for x, _ in curve], y=[y for _, y in curve], mode="lines+markers",
                    name=f"#{trial.number} predicted by {prediction.predictor}",
                    line={"color": colour, "dash": dash}))
    figure.update_layout(xaxis_title="% of training steps", yaxis_title=f"valid {objective.metric}")
    return figure


def predicted_vs_real(history: list[PastTrial], objective: Objective) -> Any:
    """One point per predicted trial and predictor: predicted against real final objective, with the y = x line."""
    import plotly.graph_objects as go

    points = predicted_and_real(history, objective)
    if not points:
        raise _NoChart("no completed trial had a prediction")
    figure = go.Figure()
    values = [v for pts in points.values() for p, r, _ in pts for v in (p, r)]
    low, high = min(values), max(values)
    figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="perfect prediction",
                                line={"color": "#888", "dash": "dash"}))
    for (predictor, pts), colour in zip(sorted(points.items()), COLOURS * 3, strict=False):
        figure.add_trace(go.Scatter(x=[r for _, r, _ in pts], y=[p for p, _, _ in pts], mode="markers",
                                    name=predictor, marker={"color": colour, "size": 9},
                                    text=[f"trial #{n}" for _, _, n in pts]))
    figure.update_layout(xaxis_title=f"real valid {objective.metric}",
                         yaxis_title=f"predicted valid {objective.metric}")
    return figure


class _NoChart(Exception):
    """Why a chart cannot be drawn (shown in its place)."""


def _history(study: Study, target: str) -> Any:
    from optuna.visualization import plot_optimization_history

    _require_complete(study, 1)
    return plot_optimization_history(study, target_name=target)


def _importances(study: Study, target: str) -> Any:
    from optuna.importance import PedAnovaImportanceEvaluator
    from optuna.visualization import plot_param_importances

    _require_complete(study, 2)
    return plot_param_importances(study, evaluator=PedAnovaImportanceEvaluator(), target_name=target)


def _optuna_plot(name: Literal["plot_parallel_coordinate", "plot_slice"], study: Study, target: str,
                 params: list[str] | None) -> Any:
    from optuna.visualization import plot_parallel_coordinate, plot_slice

    _require_complete(study, 2)
    plot = plot_parallel_coordinate if name == "plot_parallel_coordinate" else plot_slice
    return plot(study, params=params, target_name=target)


def _important_params(study: Study) -> list[str] | None:
    """The most important parameters (None: all, when importances cannot be computed yet)."""
    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator

    try:
        _require_complete(study, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importances = optuna.importance.get_param_importances(study, evaluator=PedAnovaImportanceEvaluator())
    except (_NoChart, ValueError, RuntimeError):
        return None
    return list(importances)[:TOP_PARAMS] or None


def _require_complete(study: Study, n: int) -> None:
    import optuna

    done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    if done < n:
        raise _NoChart(f"needs at least {n} completed trial{'s' if n > 1 else ''} (this run has {done})")


def _render(draw: Callable[[], Any]) -> str:
    """A chart's ``<div>`` (plotly.js comes from :func:`plotly_script`), or a line saying why there is none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's "experimental" and PED-ANOVA's few-trials warnings
            figure = draw()
    except (_NoChart, ValueError, RuntimeError) as exc:
        return f"<p class='no-chart'>No chart: {html.escape(str(exc))}.</p>"
    figure.update_layout(height=HEIGHT, margin={"l": 70, "r": 30, "t": 40, "b": 60}, template="plotly_white",
                         title=None)
    html_div: str = figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
    return html_div


def _best_trials(history: list[PastTrial], objective: Objective) -> list[PastTrial]:
    complete = [t for t in history if t.result.state == TrialState.COMPLETE and t.result.value(objective) is not None]
    sign = 1 if objective.direction == "minimize" else -1
    ranked = sorted(complete, key=lambda t: (not t.predictions, sign * float(t.result.value(objective) or 0.0)))
    return ranked[:TOP_TRIALS]


def _percent_curve(log: TrainingLog, metric: str) -> list[tuple[float, float]]:
    """The validation curve with steps as % of its last step (real logs count rounds, predictions often %)."""
    points = [(s, v) for s, v in log.curve("valid", metric) if math.isfinite(v)]
    if not points:
        return []
    last = points[-1][0] or 1
    return [(100.0 * s / last, v) for s, v in points]
