"""SQuAD-format data: reading, validation and subsets. Pure Python; no torch or transformers.

A split is either a SQuAD v1.1 JSON file (``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id",
"question", "answers": [{"text", "answer_start"}]}]}]}]}``) or a folder written by ``datasets``'
``save_to_disk`` with the Hugging Face ``squad`` columns (``id``, ``title``, ``context``, ``question``,
``answers: {text: [...], answer_start: [...]}``). Every answer must sit in its context at ``answer_start``;
anything else is a :class:`~automl_gpt.errors.DataError` naming the file, the question and the fix.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from automl_gpt.cards import DataCard
from automl_gpt.errors import CardError, DataError

SplitName = Literal["train", "valid", "test"]
# Split names a saved DatasetDict may use for each split of the data card, in order of preference.
DATASET_DICT_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "valid": ("validation", "valid", "dev"),
    "test": ("test",),
}


@dataclass(frozen=True)
class Answer:
    """One reference answer: its text and the character offset where it starts in the context."""

    text: str
    start: int


@dataclass(frozen=True)
class QAExample:
    """One question about one context, with its reference answers (one or more)."""

    id: str
    title: str
    context: str
    question: str
    answers: tuple[Answer, ...]


def check_card(card: DataCard) -> None:
    """Check that a data card describes readable, valid SQuAD-format splits (raises CardError or DataError)."""
    if card.task != "extractive_qa":
        raise CardError(
            card.source,
            f"task '{card.task}' is not extractive_qa",
            field="task",
            fix="the transformers-qa backend trains extractive question answering",
        )
    if card.modality != "text":
        raise CardError(
            card.source,
            f"modality '{card.modality}' does not fit extractive QA",
            field="modality",
            fix="set 'modality: text'",
        )
    splits: tuple[SplitName, ...] = ("train", "valid", "test")
    for split in splits:
        if getattr(card, split) is not None:
            load_split(card, split)


def load_split(card: DataCard, split: SplitName) -> list[QAExample]:
    """The validated examples of one split of a data card."""
    path = card.split_path(split)
    if path is None:
        raise CardError(card.source, f"has no {split} split", field=split, fix=f"add '{split}: <file>'")
    examples = load_examples(path, split)
    if not examples:
        raise DataError(f"{path}: the {split} split has no questions (add at least one question with an answer)")
    return examples


def load_examples(path: Path, split: SplitName = "train") -> list[QAExample]:
    """Read and validate a SQuAD JSON file or a ``datasets`` folder saved on disk."""
    if not path.exists():
        raise DataError(f"{path}: file not found (check the {split} path in the data card)")
    if path.is_dir():
        return _from_rows(path, _dataset_rows(path, split))
    return _from_squad_json(path, _read_json(path))


def load_questions(path: Path) -> list[QAExample]:
    """Questions to answer from a SQuAD JSON file: like :func:`load_examples`, but answers are optional."""
    if not path.is_file():
        raise DataError(f"{path}: not a file (give a SQuAD-format JSON file of questions and their contexts)")
    return _from_squad_json(path, _read_json(path), answers_required=False)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (save the SQuAD JSON as UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg} (fix the JSON syntax)"
        ) from None


def subset(examples: Sequence[QAExample], n: int | None, seed: int) -> list[QAExample]:
    """A seeded random subset of ``n`` examples, kept in file order (all of them when ``n`` is None or larger)."""
    if n is None or n >= len(examples):
        return list(examples)
    keep = sorted(random.Random(seed).sample(range(len(examples)), int(n)))
    return [examples[i] for i in keep]


def split_by_context(
    examples: Sequence[QAExample], fraction: float, seed: int
) -> tuple[list[QAExample], list[QAExample]]:
    """Hold out a seeded ``fraction`` of the contexts (all their questions), so no paragraph is in both parts."""
    contexts = sorted({e.context for e in examples})
    if len(contexts) < 2:
        raise DataError("cannot hold out a validation split from a single context (add a 'valid' file to the card)")
    n_valid = min(len(contexts) - 1, max(1, round(len(contexts) * fraction)))
    held = set(random.Random(seed).sample(contexts, n_valid))
    return [e for e in examples if e.context not in held], [e for e in examples if e.context in held]


def to_squad_json(examples: Iterable[QAExample], version: str = "1.1") -> dict[str, Any]:
    """Examples back in the SQuAD JSON structure (articles and paragraphs grouped in first-seen order)."""
    articles: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for example in examples:
        paragraphs = articles.setdefault(example.title, {})
        paragraphs.setdefault(example.context, []).append(
            {
                "id": example.id,
                "question": example.question,
                "answers": [{"text": a.text, "answer_start": a.start} for a in example.answers],
            }
        )
    data = [
        {"title": title, "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs.items()]}
        for title, paragraphs in articles.items()
    ]
    return {"version": version, "data": data}


# -- SQuAD JSON ---------------------------------------------------------------------------------------------


def _from_squad_json(path: Path, payload: Any, *, answers_required: bool = True) -> list[QAExample]:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise DataError(f"{path}: not SQuAD JSON: the top level must be an object with a 'data' list of articles")
    examples: list[QAExample] = []
    checker = _Checker(path, answers_required)
    for a, article in enumerate(payload["data"]):
        where = f"data[{a}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise DataError(f"{path}: {where}: an article must be an object with a 'paragraphs' list")
        title = str(article.get("title", ""))
        for p, paragraph in enumerate(article["paragraphs"]):
            pwhere = f"{where}.paragraphs[{p}]"
            if not isinstance(paragraph, dict):
                raise DataError(f"{path}: {pwhere}: a paragraph must be an object with 'context' and 'qas'")
            context = paragraph.get("context")
            qas = paragraph.get("qas")
            if not isinstance(qas, list):
                raise DataError(f"{path}: {pwhere}: 'qas' must be a list of questions")
            for q, qa in enumerate(qas):
                qwhere = f"{pwhere}.qas[{q}]"
                if not isinstance(qa, dict):
                    raise DataError(f"{path}: {qwhere}: a question must be an object with id, question, answers")
                if qa.get("is_impossible"):
                    raise DataError(
                        f"{path}: {qwhere}: unanswerable questions (SQuAD v2.0 'is_impossible') are "
                        "not supported (remove them; this backend trains SQuAD v1.1-style QA)"
                    )
                answers = qa.get("answers", None if answers_required else [])
                if not isinstance(answers, list):
                    raise DataError(f"{path}: {qwhere}: 'answers' must be a list of {{text, answer_start}} objects")
                pairs = []
                for n, answer in enumerate(answers):
                    if not isinstance(answer, dict):
                        raise DataError(
                            f"{path}: {qwhere}.answers[{n}]: an answer must be an object with 'text' and 'answer_start'"
                        )
                    pairs.append((answer.get("text"), answer.get("answer_start")))
                examples.append(checker.example(qwhere, qa.get("id"), title, context, qa.get("question"), pairs))
    return examples


# -- datasets folders ----------------------------------------------------------------------------------------


def _dataset_rows(path: Path, split: SplitName) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError:
        raise DataError(
            f"{path}: is a folder; reading a saved Hugging Face dataset needs the 'datasets' package "
            "(pip install datasets), or point the card at a SQuAD JSON file"
        ) from None
    try:
        loaded = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(
            f"{path}: not a dataset saved with save_to_disk ({_one_line(exc)}); "
            "point the card at a SQuAD JSON file or a saved dataset folder"
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        names = [n for n in DATASET_DICT_SPLITS[split] if n in loaded]
        if not names:
            raise DataError(
                f"{path}: the saved DatasetDict has no {split} split (has: {', '.join(loaded)}; "
                f"expected one of {', '.join(DATASET_DICT_SPLITS[split])})"
            )
        loaded = loaded[names[0]]
    missing = [c for c in ("id", "context", "question", "answers") if c not in loaded.column_names]
    if missing:
        raise DataError(
            f"{path}: the dataset lacks the SQuAD column(s) {', '.join(missing)} "
            f"(has: {', '.join(loaded.column_names)})"
        )
    return [dict(row) for row in loaded]


def _from_rows(path: Path, rows: list[dict[str, Any]]) -> list[QAExample]:
    checker = _Checker(path)
    examples = []
    for index, row in enumerate(rows):
        answers = row.get("answers")
        if (
            not isinstance(answers, dict)
            or not isinstance(answers.get("text"), list)
            or not isinstance(answers.get("answer_start"), list)
            or len(answers["text"]) != len(answers["answer_start"])
        ):
            raise DataError(
                f"{path}: row {index}: 'answers' must be {{text: [...], answer_start: [...]}} with "
                "lists of equal length"
            )
        pairs = list(zip(answers["text"], answers["answer_start"], strict=True))
        examples.append(
            checker.example(
                f"row {index}",
                row.get("id"),
                str(row.get("title") or ""),
                row.get("context"),
                row.get("question"),
                pairs,
            )
        )
    return examples


# -- validation ----------------------------------------------------------------------------------------------


class _Checker:
    """Validates one question at a time and remembers ids, so duplicates are caught."""

    def __init__(self, path: Path, answers_required: bool = True) -> None:
        self.path = path
        self.answers_required = answers_required
        self.ids: set[str] = set()

    def example(
        self, where: str, qid: Any, title: str, context: Any, question: Any, answers: list[tuple[Any, Any]]
    ) -> QAExample:
        path = self.path
        if not isinstance(qid, (str, int)) or str(qid) == "":
            raise DataError(f"{path}: {where}: the question has no 'id' (give every question a unique id)")
        label = f"{where} (id {qid})"
        if str(qid) in self.ids:
            raise DataError(f"{path}: {label}: duplicate question id (ids must be unique)")
        self.ids.add(str(qid))
        if not isinstance(context, str) or not context.strip():
            raise DataError(f"{path}: {label}: empty context (every question needs the paragraph it is about)")
        if not isinstance(question, str) or not question.strip():
            raise DataError(f"{path}: {label}: empty question text")
        if not answers and self.answers_required:
            raise DataError(f"{path}: {label}: no answers (each question needs at least one answer span)")
        checked = []
        for n, (text, start) in enumerate(answers):
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"{path}: {label}: answer {n} has no text")
            if isinstance(start, bool) or not isinstance(start, int) or start < 0:
                raise DataError(
                    f"{path}: {label}: answer {n} needs a non-negative integer 'answer_start', got {start!r}"
                )
            found = context[start : start + len(text)]
            if found != text:
                hint = context.find(text)
                fix = f"answer_start should be {hint}" if hint >= 0 else "the text does not occur in the context"
                raise DataError(
                    f"{path}: {label}: answer {n} {text!r} does not match the context at answer_start "
                    f"{start} (found {found!r}; {fix})"
                )
            checked.append(Answer(text, start))
        return QAExample(str(qid), title, context, question, tuple(checked))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
