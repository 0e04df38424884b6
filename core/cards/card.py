"""Data cards and model cards: the validated inputs of every experiment.

A *data card* describes a dataset (task, files, target, label space, columns, metric, free-text description);
a *model card* describes a model a backend can train, with its typed search space and defaults. Both are
read from YAML, JSON, or the YAML front-matter of a Hugging Face style ``README.md``; unknown fields and wrong
types are errors that name the file, the field and the line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from automl_gpt.cards.search_space import Param, SearchSpace
from automl_gpt.errors import CardError
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

Task = Literal["binary", "multiclass", "regression", "extractive_qa", "object_detection"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression", "extractive_qa", "object_detection")
CardT = TypeVar("CardT", "DataCard", "ModelCard")
ColumnType = Literal["numeric", "categorical", "text", "datetime", "boolean"]


class _Card(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file the card was read from, if any; relative data paths resolve against its folder."""
        return self._source

    def resolve(self, path: str | Path) -> Path:
        """Resolve a path written in the card relative to the card's folder."""
        candidate = Path(path).expanduser()
        if candidate.is_absolute() or self._source is None:
            return candidate
        return (self._source.parent / candidate).resolve()

    def to_yaml(self) -> str:
        """The card as normalised YAML (defaults filled in, unset optional fields left out)."""
        data = self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


class DataSplit(BaseModel):
    """One data file (or annotation file plus image folder) of a dataset."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    path: str
    images: str | None = None


class ColumnInfo(BaseModel):
    """What a data card records about one column."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: ColumnType
    missing: int = 0
    unique: int | None = None
    description: str = ""


class DataCard(_Card):
    """Describes a dataset: what the task is, where the files are, and what the data looks like."""

    name: str = Field(min_length=1)
    task: Task
    modality: Literal["tabular", "text", "image"] = "tabular"
    description: str = ""
    train: DataSplit
    valid: DataSplit | None = None
    test: DataSplit | None = None
    target: str | None = None
    metric: str | None = Field(default=None, description="Metric the user cares about, e.g. accuracy, logloss, f1.")
    label_space: list[str | int | float | bool] | None = None
    class_balance: dict[str, float] | None = None
    columns: dict[str, ColumnInfo] | None = None
    n_rows: int | None = Field(default=None, ge=0)
    n_features: int | None = Field(default=None, ge=0)
    read_options: dict[str, Any] = Field(
        default_factory=dict,
        description="How the backend reads the files (separator, header, missing-value markers...).",
    )
    source_url: str | None = None
    license: str | None = None
    citation: str | None = None

    @field_validator("train", "valid", "test", mode="before")
    @classmethod
    def _split_from_string(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    def split_path(self, split: Literal["train", "valid", "test"]) -> Path | None:
        """Absolute path of a split's file, or None when the card has no such split."""
        entry = {"train": self.train, "valid": self.valid, "test": self.test}[split]
        return None if entry is None else self.resolve(entry.path)


class ModelCard(_Card):
    """Describes a model a backend trains: architecture, typed search space, defaults, fixed options."""

    name: str = Field(min_length=1)
    backend: str = Field(min_length=1)
    tasks: list[Task]
    description: str = ""
    architecture: str = ""
    search_space: dict[str, Param] = Field(default_factory=dict)
    options: dict[str, Any] = Field(
        default_factory=dict, description="Fixed settings the search does not touch (backbone path, checkpoint...)."
    )

    def space(self) -> SearchSpace:
        """The card's typed search space."""
        return SearchSpace(self.search_space)

    def defaults(self) -> dict[str, Any]:
        """The default configuration of the model."""
        return self.space().defaults()


def read_card_file(path: str | Path) -> tuple[dict[str, Any], Path]:
    """Read a card file into a plain mapping; returns it with the path actually read.

    Accepts ``.yaml``/``.yml``, ``.json``, Markdown with YAML front-matter (Hugging Face ``README.md`` style),
    and a folder holding such a ``README.md``.
    """
    path = Path(path)
    if not path.exists():
        raise CardError(path, "file not found", fix="check the path")
    if path.is_dir():
        if not (path / "README.md").exists():
            raise CardError(path, "is a folder without a README.md card", fix="pass the card file itself")
        path = path / "README.md"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CardError(path, f"cannot be read: {exc}", fix="pass a UTF-8 text card") from None
    line_offset = 0
    if path.suffix.lower() == ".md":
        text, line_offset = _front_matter(path, text)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CardError(path, f"not valid JSON: {exc.msg}", line=exc.lineno, fix="fix the JSON syntax") from None
    else:
        try:
            data = safe_yaml(text, path)
        except yaml.YAMLError as exc:
            marked = exc if isinstance(exc, yaml.MarkedYAMLError) else None  # a parse error knows where it is
            mark = marked.problem_mark if marked is not None else None
            line = mark.line + 1 + line_offset if mark is not None else None
            problem = (marked.problem if marked is not None else None) or str(exc)
            raise CardError(path, f"not valid YAML: {problem}", line=line, fix="fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise CardError(path, "a card must be a mapping of fields", fix="write 'field: value' lines")
    return data, path


MAX_YAML_VALUES = 100_000  # a card is a few hundred values; aliases that expand past this are a bomb


def safe_yaml(text: str, path: Path) -> Any:
    """``yaml.safe_load`` that refuses a document whose aliases expand to more than ``MAX_YAML_VALUES`` values
    (a "billion laughs" card would exhaust memory when shown or dumped)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_YAML_VALUES:
            raise CardError(path, f"YAML aliases expand to more than {MAX_YAML_VALUES:,} values",
                            fix="write the values out instead of repeating aliases")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: Any, sizes: dict[int, int]) -> int:
    """How many nodes ``node`` stands for once every alias is expanded (memoised per node: aliases share one)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a recursive alias counts once instead of looping
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value)
    sizes[id(node)] = total
    return total


def load_data_card(path: str | Path) -> DataCard:
    """Read and validate a data card file (through the ``parse_card`` hook, so plugins may extend it)."""
    card = _load(path, "data")
    if not isinstance(card, DataCard):
        raise CardError(path, "is a model card, not a data card", fix="pass a data card")
    return card


def load_model_card(path: str | Path) -> ModelCard:
    """Read and validate a model card file (through the ``parse_card`` hook)."""
    card = _load(path, "model")
    if not isinstance(card, ModelCard):
        raise CardError(path, "is a data card, not a model card", fix="pass a model card")
    return card


def load_card(path: str | Path) -> DataCard | ModelCard:
    """Read and validate a card file of either kind, telling a model card by its ``backend``/``search_space``."""
    data, _ = read_card_file(path)
    return _load(path, card_kind(data))


def card_kind(data: dict[str, Any]) -> Literal["data", "model"]:
    """``"model"`` for a mapping that declares a backend or a search space; else ``"data"``."""
    return "model" if {"backend", "search_space"} & set(data) else "data"


def card_from_mapping(kind: type[CardT], data: dict[str, Any], path: Path | None = None) -> CardT:
    """Validate a mapping as a card; errors name the first bad field, and its line when the file has lines."""
    try:
        card = kind.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or None
        line = _line_of(_node_of(path), error["loc"]) if path is not None else None
        raise CardError(path, _describe(error), field=field, line=line, fix=_fix_for(error, kind)) from None
    card._source = path.resolve() if path is not None else None
    return card


def _load(path: str | Path, kind: str) -> DataCard | ModelCard:
    from automl_gpt.plugins import get_plugin_manager

    data, path = read_card_file(path)
    if card_kind(data) != kind:
        other = card_kind(data)
        raise CardError(path, f"is a {other} card, not a {kind} card", fix=f"pass a {kind} card")
    card = get_plugin_manager().hook.parse_card(path=path, data=data, kind=kind)
    if card is None:
        raise CardError(path, f"no plugin could read this {kind} card")
    return card


def _node_of(path: Path) -> Any:
    """The YAML node tree of a card file (for line numbers); None for JSON or unreadable files."""
    if path.suffix.lower() == ".json":
        return None
    try:
        text = path.read_text(encoding="utf-8")
        offset = 0
        if path.suffix.lower() == ".md":
            text, offset = _front_matter(path, text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError, CardError):
        return None
    if node is not None and offset:
        _shift_lines(node, offset)
    return node


def _front_matter(path: Path, text: str) -> tuple[str, int]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise CardError(path, "no YAML front-matter", line=1, fix="start the file with a '---' line")
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "\n".join(lines[1:index]), 1
    raise CardError(path, "front-matter is not closed", fix="end it with a '---' line")


def _shift_lines(node: Any, offset: int) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        current.start_mark.line += offset
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                key.start_mark.line += offset
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """Line number (1-based) of the deepest YAML node along ``loc`` that exists."""
    if node is None:
        return None
    line = None
    current = node
    for part in loc:
        if isinstance(current, yaml.MappingNode):
            match = next(((k, v) for k, v in current.value if k.value == str(part)), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            current = match[1]
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            current = current.value[part]
            line = current.start_mark.line + 1
        else:
            break
    return line


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a known field"
    return str(error["msg"]).replace("Value error, ", "")


def _fix_for(error: Any, kind: type[DataCard] | type[ModelCard]) -> str | None:
    if error["type"] == "extra_forbidden":
        if len(error["loc"]) == 1:
            known = ", ".join(kind.model_fields)
            return f"remove it or use one of: {known}"
        return "remove it"
    if error["type"] == "missing":
        return "add it"
    if error["type"] == "literal_error":
        return "use one of the allowed values"
    return None
