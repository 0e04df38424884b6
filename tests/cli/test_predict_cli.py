"""``automl-gpt predict RUN DATA``: the best trial's model by default, any trial or model file on request."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from automl_gpt.runs.loop import run

from .cli_support import cli, one_line_error

pytestmark = pytest.mark.slow

SMALL = {"max_rows": 1500, "max_rounds": 30, "threads": 2}


@pytest.fixture(scope="module")
def adult_run(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished three-trial TPE run on the shipped Adult card (no ensemble: tests/cli/test_ensemble_cli.py)."""
    out = tmp_path_factory.mktemp("runs")
    result = run(repo / "examples" / "adult" / "card.yaml", planner="tpe", budget=3, out=out, limits=SMALL,
                 experience=False, ensemble=False, echo=lambda _: None)
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


# One very short trial on each bundled example: a few steps on a few examples (CPU, seconds to a minute).
EXAMPLES = {
    "squad": ("dev-100.json", {"max_train_examples": 8, "max_eval_examples": 4, "max_steps": 1, "evaluations": 1}),
    "bccd": ("images", {"max_iters": 2, "max_images": 2, "max_image_scale": 256, "evaluations": 1,
                        "max_batch_size": 2}),
}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_predict_on_the_bundled_qa_and_detection_examples(example: str, repo: Path, tmp_path: Path) -> None:
    data, limits = EXAMPLES[example]
    folder = repo / "examples" / example
    result = run(folder / "card.yaml", planner="default", budget=1, out=tmp_path, limits=limits, experience=False,
                 echo=lambda _: None)
    assert result.model_path is not None, result.trials[0].result.error
    done = cli("predict", result.folder, folder / data, "--out", tmp_path / "predictions.json")
    assert done.returncode == 0, done.stderr
    predictions = json.loads((tmp_path / "predictions.json").read_text(encoding="utf-8"))
    if example == "squad":  # {question id: answer}
        assert len(predictions) == 100 and all(isinstance(a, str) for a in predictions.values())
    else:  # COCO results: one entry per detection
        assert {d["file_name"] for d in predictions} <= {p.name for p in (folder / data).iterdir()}
    assert f"by trial0 ({result.model_path})" in done.stderr
