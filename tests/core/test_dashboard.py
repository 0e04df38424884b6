"""optuna-dashboard opens a run's study as it is: every trial, with the values the run recorded."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from automl_gpt.runs.loop import run
from automl_gpt.testing import plugins_loaded

from . import loop_support

optuna_dashboard = pytest.importorskip("optuna_dashboard")


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A finished six-trial run, and optuna-dashboard's WSGI app on its study.db, served on 127.0.0.1."""
    import optuna

    with plugins_loaded(loop_support):
        result = run(loop_support.data_card(tmp_path), planner="random", budget=6, seed=0, prune=False,
                     experience=False, out=tmp_path / "runs", echo=lambda _: None)
    storage = optuna.storages.RDBStorage(f"sqlite:///{result.folder / 'study.db'}")
    server: WSGIServer = make_server("127.0.0.1", 0, optuna_dashboard.wsgi(storage), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", result.folder
    finally:
        server.shutdown()
        server.server_close()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def test_dashboard_shows_the_run_and_its_trials(dashboard: tuple[str, Path]) -> None:
    url, folder = dashboard
    summaries = _get(f"{url}/api/studies")["study_summaries"]
    assert [s["study_name"] for s in summaries] == [folder.name]
    study = _get(f"{url}/api/studies/{summaries[0]['study_id']}")
    summary = json.loads((folder / "summary.json").read_text())
    assert len(study["trials"]) == summary["trials"]["total"] == 6
    best = next(t for t in study["trials"] if t["number"] == summary["best"]["trial"])
    assert best["values"] == [summary["best"]["value"]] and best["state"] == "Complete"
    assert {"x", "lr", "kind"} <= {p["name"] for p in best["params"]}
