"""``automl-gpt predict RUN DATA``: the best trial's model by default, any trial or model file on request."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from automl_gpt.loop import run

from .cli_support import cli, one_line_error

pytestmark = pytest.mark.slow

SMALL = {"max_rows": 1500, "max_rounds": 30, "threads": 2}


@pytest.fixture(scope="module")
def adult_run(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished three-trial TPE run on the shipped Adult card."""
    out = tmp_path_factory.mktemp("runs")
    result = run(repo / "examples" / "adult" / "card.yaml", planner="tpe", budget=3, out=out, limits=SMALL,
                 experience=False, echo=lambda _: None)
    assert result.best_config is not None
    return result.folder


def test_predict_uses_the_best_trial_and_writes_into_the_run(adult_run: Path, repo: Path, tmp_path: Path) -> None:
    test_file = repo / "examples" / "adult" / "adult.test.gz"
    summary = pd.read_json(adult_run / "summary.json", typ="series")
    best = summary["best"]["trial"]
    done = cli("predict", adult_run.name, test_file, "--runs", adult_run.parent, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = Path(done.stdout.strip())
    assert written == adult_run / "predictions" / f"adult-trial{best}.csv"
    predictions = pd.read_csv(written)
    assert len(predictions) == 16281 and set(predictions["prediction"]) <= {"<=50K", ">50K"}
    assert f"16281 predictions by trial{best}" in done.stderr


def test_predict_with_another_trial_or_a_model_file(adult_run: Path, repo: Path, tmp_path: Path) -> None:
    test_file = repo / "examples" / "adult" / "adult.test.gz"
    by_trial = cli("predict", adult_run, test_file, "--trial", "0", "--out", tmp_path / "t0.parquet")
    assert by_trial.returncode == 0, by_trial.stderr
    model = adult_run / "trials" / "0000" / "model.json"
    by_model = cli("predict", adult_run, test_file, "--model", model, "--out", tmp_path / "m.parquet")
    assert by_model.returncode == 0, by_model.stderr
    assert pd.read_parquet(tmp_path / "t0.parquet").equals(pd.read_parquet(tmp_path / "m.parquet"))


def test_bad_input_is_one_line_and_exit_2(adult_run: Path, repo: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.parquet"
    pd.DataFrame({"age": [39], "workclass": ["State-gov"]}).to_parquet(rows)
    assert "missing column(s) 'fnlwgt'" in one_line_error(cli("predict", adult_run, rows))
    assert "--trial 99" in one_line_error(cli("predict", adult_run, rows, "--trial", "99"))
    assert "no such file" in one_line_error(cli("predict", adult_run, tmp_path / "absent.csv"))
    headerless = tmp_path / "rows.csv"  # the Adult card reads files without a header, as adult.data is
    headerless.write_text("forty, State-gov, 77516, Bachelors, 13, Never-married\n")
    assert "column 'age' is numeric" in one_line_error(cli("predict", adult_run, headerless))
    assert "no run 'nope'" in one_line_error(cli("predict", "nope", rows, "--runs", tmp_path))
