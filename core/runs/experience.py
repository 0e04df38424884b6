"""The experience store: past runs (card, embedding, meta-features, trials, metrics, logs) for warm starts.

Every finished run can be added with :meth:`ExperienceStore.add_run`. :meth:`ExperienceStore.find_similar` ranks
the stored datasets by similarity to a new data card (:mod:`automl_gpt.cards.similarity`) and returns their best
configurations adapted to the new search space, as :class:`~automl_gpt.planners.base.Experience` items for the
``transfer`` planner and the prompt. When the user's store is empty, the backend's shipped knowledge base
(:meth:`automl_gpt.training.Backend.knowledge_base`) answers instead.

The store is one SQLite file (``automl_gpt.paths.experience_path()`` unless given). Exports are JSON, gzipped when
the file name ends in ``.gz``; the shipped knowledge bases use the same format.
"""

from __future__ import annotations

import builtins
import gzip
import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from automl_gpt.cards import DataCard, ModelCard
from automl_gpt.cards.similarity import CardEmbedder, CardProfile, card_text, combined_similarity
from automl_gpt.errors import UsageError
from automl_gpt.planners import config_key
from automl_gpt.planners.base import Candidate, Experience
from automl_gpt.planners.knowledge import PerformanceMatrix, portfolio_candidates, shipped_matrix, task_family
from automl_gpt.planners.transfer import adapt_config
from automl_gpt.training import Objective, TrainingLog

FORMAT = "automl-gpt-experience"
FORMAT_VERSION = 1
SCHEMA_VERSION = 1
CONFIGS_PER_DATASET = 3
# How many similar datasets lend configurations to a run. Fusing many (their rankings weighted by similarity) finds
# configurations that are good on most tables; over the 16-dataset suite, leave-one-out, the first transferred
# trial beat the defaults on 11/16 held-out datasets with 15 neighbours and on 7/16 with 3 (docs/benchmarks.md).
SIMILAR_DATASETS = 15
SEARCHED_ENOUGH = 10  # complete trials after which a user's run weighs its full similarity in transfer
DESCRIPTION_CHARS = 240

TrialTuple = tuple[dict[str, Any], float | None, str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, dataset TEXT NOT NULL, task TEXT NOT NULL, model_card TEXT NOT NULL,
    metric TEXT NOT NULL, direction TEXT NOT NULL, card TEXT NOT NULL, embedding TEXT NOT NULL,
    embedding_model TEXT NOT NULL, meta TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    run_id TEXT NOT NULL REFERENCES runs(run_id), number INTEGER NOT NULL, config TEXT NOT NULL, value REAL,
    state TEXT NOT NULL, metrics TEXT NOT NULL, log TEXT NOT NULL, PRIMARY KEY (run_id, number)
);
CREATE INDEX IF NOT EXISTS runs_dataset ON runs(dataset);
"""


@dataclass
class StoredTrial:
    """One trial of a stored run."""

    config: dict[str, Any]
    value: float | None
    state: str
    metrics: dict[str, float] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StoredRun:
    """One run as the store (or an export) holds it."""

    run_id: str
    dataset: str
    task: str
    model_card: str
    metric: str
    direction: str
    card: dict[str, Any]
    embedding: list[float]
    embedding_model: str
    meta: dict[str, float]
    created: float
    trials: list[StoredTrial] = field(default_factory=list)

    @property
    def objective(self) -> Objective:
        return Objective(self.metric, "minimize" if self.direction == "minimize" else "maximize")

    def best_trials(self) -> list[StoredTrial]:
        """Complete trials with a value, best first."""
        done = [t for t in self.trials if t.state == "COMPLETE" and t.value is not None]
        return sorted(done, key=lambda t: t.value if self.direction == "minimize" else -t.value)  # type: ignore

    def to_dict(self, *, logs: bool = True) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "trials"}
        data["trials"] = [
            {
                "config": t.config,
                "value": t.value,
                "state": t.state,
                "metrics": t.metrics,
                **({"log": t.log} if logs and t.log else {}),
            }
            for t in self.trials
        ]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredRun:
        trials = [
            StoredTrial(
                dict(t["config"]),
                None if t.get("value") is None else float(t["value"]),
                str(t["state"]),
                dict(t.get("metrics") or {}),
                list(t.get("log") or []),
            )
            for t in data.get("trials", [])
        ]
        return cls(
            run_id=str(data["run_id"]),
            dataset=str(data["dataset"]),
            task=str(data["task"]),
            model_card=str(data["model_card"]),
            metric=str(data["metric"]),
            direction=str(data["direction"]),
            card=dict(data["card"]),
            embedding=[float(x) for x in data["embedding"]],
            embedding_model=str(data["embedding_model"]),
            meta={k: float(v) for k, v in data["meta"].items()},
            created=float(data.get("created") or 0.0),
            trials=trials,
        )


class ExperienceStore:
    """Past runs in a SQLite file; see the module docstring.

    ``path`` defaults to ``automl_gpt.paths.experience_path()``. A file that is not a valid store raises
    :class:`~automl_gpt.errors.UsageError` naming it, and is never overwritten. ``embedder`` computes card
    embeddings (all-MiniLM-L6-v2 by default).
    """

    def __init__(self, path: Path | None = None, *, embedder: CardEmbedder | None = None) -> None:
        if path is None:
            from automl_gpt.paths import experience_path

            path = experience_path()
        self.path = Path(path)
        self.embedder = embedder or CardEmbedder()
        self._profiles: dict[str, CardProfile] = {}

    # -- writing ---------------------------------------------------------------------------------------------
    def add_run(
        self,
        data_card: DataCard,
        model_card_name: str,
        trials: Sequence[TrialTuple],
        objective: Objective,
        logs: Sequence[TrainingLog | None] | None = None,
        run_id: str | None = None,
        metrics: Sequence[dict[str, float]] | None = None,
        *,
        embed: bool = True,
    ) -> str:
        """Store a finished run: its card, embedding, meta-features and trials; returns its run id.

        With ``embed=False`` the card's text embedding is left to the first query that needs it (the run loop
        does this, so finishing a run does not load the text encoder).

        ``trials`` are ``(config, objective value, state)`` tuples (state ``COMPLETE``, ``PRUNED`` or ``FAIL``);
        ``logs`` and ``metrics``, when given, are parallel to ``trials``. Adding a run id twice replaces it.
        """
        if logs is not None and len(logs) != len(trials):
            raise UsageError(f"add_run: {len(logs)} logs for {len(trials)} trials")
        if metrics is not None and len(metrics) != len(trials):
            raise UsageError(f"add_run: {len(metrics)} metric sets for {len(trials)} trials")
        log_lists = [log.to_list() if log is not None else [] for log in logs] if logs is not None else None
        run = StoredRun(
            run_id=run_id or f"{data_card.name}-{uuid.uuid4().hex[:8]}",
            dataset=data_card.name,
            task=data_card.task,
            model_card=model_card_name,
            metric=objective.metric,
            direction=objective.direction,
            card=data_card.model_dump(mode="json", exclude_none=True),
            embedding=[float(x) for x in self.embedder.embed(data_card)] if embed else [],
            embedding_model=self.embedder.model_name if embed else "",
            meta=self.embedder.meta_features(data_card),
            created=time.time(),
            trials=[
                StoredTrial(
                    dict(config),
                    None if value is None else float(value),
                    str(state),
                    dict(metrics[i]) if metrics is not None else {},
                    log_lists[i] if log_lists is not None else [],
                )
                for i, (config, value, state) in enumerate(trials)
            ],
        )
        self._write([run])
        return run.run_id

    def import_(self, path: Path) -> int:
        """Add the runs of an export file; returns how many runs were added or replaced."""
        runs = read_export(Path(path))
        self._write(runs)
        return len(runs)

    def export(self, path: Path, *, logs: bool = True) -> int:
        """Write every stored run to a JSON export (gzipped when the name ends in ``.gz``); returns the count."""
        runs = self.runs()
        write_export(Path(path), runs, logs=logs)
        return len(runs)

    # -- reading ---------------------------------------------------------------------------------------------
    def runs(self) -> list[StoredRun]:
        """Every stored run, oldest first, with its trials."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id, dataset, task, model_card, metric, direction, card, embedding, "
                "embedding_model, meta, created FROM runs ORDER BY created, run_id"
            ).fetchall()
            trials = db.execute(
                "SELECT run_id, config, value, state, metrics, log FROM trials ORDER BY run_id, number"
            ).fetchall()
        by_run: dict[str, list[StoredTrial]] = {}
        for run_id, config, value, state, metrics, log in trials:
            by_run.setdefault(run_id, []).append(
                StoredTrial(json.loads(config), value, state, json.loads(metrics), json.loads(log))
            )
        return [
            StoredRun(
                run_id=r[0],
                dataset=r[1],
                task=r[2],
                model_card=r[3],
                metric=r[4],
                direction=r[5],
                card=json.loads(r[6]),
                embedding=json.loads(r[7]),
                embedding_model=r[8],
                meta=json.loads(r[9]),
                created=r[10],
                trials=by_run.get(r[0], []),
            )
            for r in rows
        ]

    def list(self) -> list[dict[str, Any]]:
        """One summary per stored run: id, dataset, task, model card, trials, best value and metric."""
        summaries = []
        for run in self.runs():
            best = run.best_trials()
            summaries.append(
                {
                    "run_id": run.run_id,
                    "dataset": run.dataset,
                    "task": run.task,
                    "model_card": run.model_card,
                    "trials": len(run.trials),
                    "metric": run.metric,
                    "direction": run.direction,
                    "best": best[0].value if best else None,
                    "created": run.created,
                }
            )
        return summaries

    def show(self, name: str) -> builtins.list[StoredRun]:
        """The runs of a dataset name, or the run with that id; UsageError when nothing matches."""
        matches = [r for r in self.runs() if name in (r.run_id, r.dataset)]
        if not matches:
            raise UsageError(
                f"no run or dataset '{name}' in the experience store {self.path} (see 'automl-gpt experience list')"
            )
        return matches

    def find_similar(
        self,
        data_card: DataCard,
        model_card: ModelCard,
        k: int = SIMILAR_DATASETS,
        *,
        exclude: Iterable[str] = (),
        per_dataset: int = CONFIGS_PER_DATASET,
    ) -> builtins.list[Experience]:
        """The ``k`` datasets most similar to ``data_card`` from the user's runs, then the ``k`` most similar of the
        backend's shipped knowledge, most similar first within each source.

        Only runs of the same model card and task family (classification or regression) whose configurations
        share parameters with the space count. Each :class:`Experience` holds up to ``per_dataset``
        configurations (best first, adapted to ``model_card.space()``, de-duplicated), their objective values and
        the similarity; a user run's transfer ``weight`` is its similarity times ``min(1, complete trials / 10)``,
        so a run that searched little lends little. Datasets named in ``exclude`` are skipped (a leave-one-out
        never sees its held-out dataset), and so are shipped datasets the user's runs already cover.
        """
        if k <= 0:
            return []
        excluded = set(exclude)
        space = model_card.space()
        family = task_family(data_card.task)

        def relevant(runs: Iterable[StoredRun]) -> builtins.list[StoredRun]:
            return [r for r in runs if r.dataset not in excluded and r.model_card == model_card.name
                    and task_family(r.task) == family and _shares_params(r, space)]

        user = relevant(self.runs())
        shipped = relevant(self._knowledge_base(model_card))
        if not user and not shipped:
            return []
        query = self.embedder.profile(data_card)
        mine = self._rank(user, query, space, per_dataset, "user")[:k]
        covered = {e.dataset for e in mine}
        ranked = self._rank(shipped, query, space, per_dataset, "knowledge base")
        theirs = [e for e in ranked if e.dataset not in covered]
        return mine + theirs[:k]

    def _rank(
        self, runs: builtins.list[StoredRun], query: CardProfile, space: Any, per_dataset: int, origin: str
    ) -> builtins.list[Experience]:
        groups: dict[str, builtins.list[StoredRun]] = {}
        for run in runs:
            groups.setdefault(run.dataset, []).append(run)
        scored = []
        for dataset, group in groups.items():
            latest = max(group, key=lambda r: r.created)
            same_metric = [r for r in group if r.metric == latest.metric]
            similarity = combined_similarity(query, self._profile(latest), text_weight=self.embedder.text_weight)
            scored.append((similarity, dataset, latest, same_metric))
        scored.sort(key=lambda item: (-item[0], item[1]))
        experience = []
        for similarity, dataset, latest, group in scored:
            configs, scores = _best_configs(group, latest.objective, space, per_dataset)
            if not configs:
                continue
            searched = sum(len(r.best_trials()) for r in group)
            weight = similarity * min(1.0, searched / SEARCHED_ENOUGH) if origin == "user" else None
            experience.append(Experience(dataset, round(similarity, 4), configs, scores, _describe(latest),
                                         origin=origin, weight=weight))
        return experience

    def portfolio(self, data_card: DataCard, model_card: ModelCard) -> builtins.list[Candidate]:
        """The first configurations to try on ``data_card``, learned from the backend's performance matrix
        (:func:`automl_gpt.planners.knowledge.portfolio_candidates`); empty when the backend ships no matrix."""
        matrix = self._matrix(model_card)
        if matrix is None:
            return []
        profile = self.embedder.profile(data_card)
        return portfolio_candidates(matrix, profile, model_card.space(), text_weight=self.embedder.text_weight)

    # -- internals -------------------------------------------------------------------------------------------
    def _profile(self, run: StoredRun) -> CardProfile:
        """The stored profile of a run, re-embedded when it was embedded by another text model."""
        cached = self._profiles.get(run.run_id)
        if cached is not None:
            return cached
        if not self.embedder.text:
            embedding = np.zeros(0, dtype=np.float32)
        elif run.embedding_model == self.embedder.model_name and run.embedding:
            embedding = np.asarray(run.embedding, dtype=np.float32)
        else:
            embedding = self.embedder.embed_text(card_text(DataCard.model_validate(run.card)))
        profile = CardProfile(embedding, run.meta, run.task)
        self._profiles[run.run_id] = profile
        return profile

    def _knowledge_base(self, model_card: ModelCard) -> builtins.list[StoredRun]:
        from automl_gpt.plugins import get_plugin_manager

        matrix = self._matrix(model_card)
        if matrix is not None:
            return matrix_runs(matrix, model_card.name)
        backend = get_plugin_manager().backends().get(model_card.backend)
        path = backend.knowledge_base() if backend is not None else None
        return read_export(Path(path)) if path is not None else []

    def _matrix(self, model_card: ModelCard) -> PerformanceMatrix | None:
        found = shipped_matrix(model_card)  # the one mined with this card
        return found[1] if found is not None else None

    def _connect(self) -> sqlite3.Connection:
        """Open (creating when absent) the store; a file that is not a store raises, untouched."""
        exists = self.path.exists()
        if not exists:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        uri = f"file:{self.path}?mode={'rw' if exists else 'rwc'}"
        try:
            db = sqlite3.connect(uri, uri=True, timeout=30)
        except sqlite3.Error as exc:
            raise self._corrupt(exc) from None
        try:
            if exists:
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if tables and not {"info", "runs", "trials"} <= tables:
                    raise sqlite3.DatabaseError("it is a SQLite file of something else")
                if tables:
                    version = db.execute("SELECT value FROM info WHERE key='schema_version'").fetchone()
                    if version is None or int(version[0]) > SCHEMA_VERSION:
                        raise sqlite3.DatabaseError(f"unknown schema version {version and version[0]}")
                    return db
            db.executescript(_SCHEMA)
            db.execute("INSERT OR REPLACE INTO info VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            db.commit()
        except sqlite3.DatabaseError as exc:
            db.close()
            raise self._corrupt(exc) from None
        return db

    def _corrupt(self, exc: Exception) -> UsageError:
        return UsageError(
            f"experience store {self.path} is not a valid automl-gpt experience store ({exc}); "
            "move it away or set AUTOML_GPT_EXPERIENCE to another file"
        )

    def _write(self, runs: Sequence[StoredRun]) -> None:
        db = self._connect()
        try:
            with db:
                for run in runs:
                    db.execute("DELETE FROM trials WHERE run_id = ?", (run.run_id,))
                    db.execute(
                        "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            run.run_id,
                            run.dataset,
                            run.task,
                            run.model_card,
                            run.metric,
                            run.direction,
                            json.dumps(run.card),
                            json.dumps(run.embedding),
                            run.embedding_model,
                            json.dumps(run.meta),
                            run.created,
                        ),
                    )
                    db.executemany(
                        "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            (
                                run.run_id,
                                i,
                                json.dumps(t.config, default=str),
                                t.value,
                                t.state,
                                json.dumps(t.metrics),
                                json.dumps(t.log),
                            )
                            for i, t in enumerate(run.trials)
                        ],
                    )
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from None
        finally:
            db.close()
        self._profiles.clear()


def write_export(path: Path, runs: Sequence[StoredRun], *, logs: bool = True, digits: int | None = None) -> None:
    """Write runs as a JSON export (gzipped when ``path`` ends in ``.gz``).

    ``digits`` rounds embeddings (a smaller file; similarities change by less than 1e-4 at 5 digits).
    """
    items = []
    for run in runs:
        data = run.to_dict(logs=logs)
        if digits is not None:
            data["embedding"] = [round(x, digits) for x in run.embedding]
        items.append(data)
    payload = {"format": FORMAT, "version": FORMAT_VERSION, "runs": items}
    text = json.dumps(payload, separators=(",", ":"), default=str)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        with gzip.GzipFile(path, "wb", mtime=0) as handle:  # mtime 0: the same runs give the same bytes
            handle.write(text.encode("utf-8"))
    else:
        path.write_text(text, encoding="utf-8")


def read_export(path: Path) -> builtins.list[StoredRun]:
    """The runs of a JSON export; UsageError naming the file when it is not one."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        payload = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"experience export {path} not found") from None
    except (OSError, ValueError, EOFError) as exc:
        raise UsageError(f"experience export {path} cannot be read: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UsageError(f'{path} is not an automl-gpt experience export (no "format": "{FORMAT}")')
    if int(payload.get("version", 0)) > FORMAT_VERSION:
        raise UsageError(
            f"{path} has export version {payload.get('version')}; this automl-gpt reads up to "
            f"{FORMAT_VERSION} (upgrade automl-gpt)"
        )
    try:
        return [StoredRun.from_dict(item) for item in payload.get("runs", [])]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path}: a run entry is malformed ({type(exc).__name__}: {exc})") from None


def _shares_params(run: StoredRun, space: Any) -> bool:
    return any(set(t.config) & set(space) for t in run.trials)


def _best_configs(
    runs: Sequence[StoredRun], objective: Objective, space: Any, limit: int
) -> tuple[list[dict[str, Any]], list[float]]:
    trials = [t for run in runs for t in run.best_trials()]
    trials.sort(key=lambda t: t.value if objective.direction == "minimize" else -t.value)  # type: ignore
    configs: list[dict[str, Any]] = []
    scores: list[float] = []
    seen: set[str] = set()
    for trial in trials:
        config = adapt_config(trial.config, space)
        key = config_key(config)
        if key in seen:
            continue
        seen.add(key)
        configs.append(config)
        scores.append(float(trial.value))  # type: ignore[arg-type]
        if len(configs) >= limit:
            break
    return configs, scores


def _describe(run: StoredRun) -> str:
    meta = run.meta
    facts = [run.task]
    if "log10_rows" in meta:
        facts.append(f"{round(10 ** meta['log10_rows']):,} rows")
    if "log10_features" in meta:
        facts.append(f"{round(10 ** meta['log10_features'])} features")
    text = ", ".join(facts)
    description = str(run.card.get("description") or "").strip()
    if description:
        if len(description) > DESCRIPTION_CHARS:
            description = description[: DESCRIPTION_CHARS - 3].rstrip() + "..."
        text += f"; {description}"
    return f"{text} (best valid {run.metric} {run.best_trials()[0].value:.4g})" if run.best_trials() else text


def matrix_runs(matrix: PerformanceMatrix, model_card: str) -> builtins.list[StoredRun]:
    """The datasets of a performance matrix as stored runs (one trial per pool configuration)."""
    runs = []
    for dataset in matrix.datasets:
        card = {"name": dataset.name, "task": dataset.task, "description": dataset.text, "train": f"{dataset.name}"}
        trials = [StoredTrial(dict(config), value, "COMPLETE" if value is not None else "FAIL")
                  for config, value in zip(matrix.configs, dataset.values, strict=True)]
        runs.append(StoredRun(
            run_id=f"kb-{dataset.name}", dataset=dataset.name, task=dataset.task, model_card=model_card,
            metric=dataset.metric, direction="minimize", card=card, embedding=list(dataset.embedding),
            embedding_model=matrix.embedding_model, meta=dict(dataset.meta), created=0.0, trials=trials,
        ))
    return runs
