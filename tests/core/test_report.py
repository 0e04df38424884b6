"""report.html: one self-contained file whose plotly charts render in a real headless browser, offline."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from automl_gpt.runs.loop import run
from automl_gpt.testing import plugins_loaded

from . import loop_support

CHARTS = ("Optimization history", "Parameter importances", "Parallel coordinates", "Slices",
          "Predicted vs real learning curves", "Predicted vs real final value")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


def _report(tmp_path: Path, budget: int) -> Path:
    with plugins_loaded(loop_support):
        result = run(loop_support.data_card(tmp_path), planner="random", budget=budget, seed=0, prune=False,
                     experience=False, out=tmp_path / "runs", echo=lambda _: None)
    return result.folder / "report.html"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of an eight-trial run (the surrogate predicts from the fourth trial on)."""
    return _report(tmp_path_factory.mktemp("report"), budget=8)


def test_one_file_with_plotly_inline_and_every_chart(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=|<link[^>]*\shref=", html), "nothing is fetched"
    assert "Plotly" in html and len(html) > 1_000_000, "plotly.js is embedded"
    for title in CHARTS:
        assert f"<h2>{title}" in html
    assert html.count('class="plotly-graph-div"') == len(CHARTS)
    assert "No chart" not in html


def test_a_chart_that_cannot_be_drawn_says_why(tmp_path: Path) -> None:
    html = _report(tmp_path, budget=1).read_text(encoding="utf-8")
    assert "No chart: needs at least 2 completed trials (this run has 1)" in html
    assert "No chart: no completed trial had a prediction" in html
    assert "Optimization history</h2><div" in html, "one trial is enough for the history"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)")
def test_charts_render_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    def chromium(*args: str) -> subprocess.CompletedProcess[str]:
        command = ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                   "--virtual-time-budget=15000", *args, report.as_uri()]
        return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)

    dom = chromium("--dump-dom").stdout
    assert dom.count('class="main-svg"') >= len(CHARTS), "plotly.js drew every chart"
    titles = re.findall(r'class="(?:x|y)title"[^>]*>([^<]+)<', dom)
    assert {"% of training steps", "valid loss", "real valid loss", "predicted valid loss"} <= set(titles)
    legend = re.findall(r'class="legendtext"[^>]*>([^<]+)<', dom)
    assert any("predicted by surrogate" in text for text in legend) and any("real" in text for text in legend)
    screenshot = tmp_path / "report.png"
    done = chromium("--window-size=1100,4800", f"--screenshot={screenshot}")
    assert screenshot.is_file() and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", done.stderr[-500:]
    assert screenshot.stat().st_size > 100_000, "a page of drawn charts, not a blank one"
