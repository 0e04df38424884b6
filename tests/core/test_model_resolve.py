"""The one rule for what ``--model`` names (:mod:`automl_gpt.cards.resolve`), on backends made for the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping
from automl_gpt.cards.model_choice import ModelChoice
from automl_gpt.cards.resolve import preferred_backends, resolve_model_card, saved_model_name
from automl_gpt.errors import UnknownNameError, UsageError
from automl_gpt.requirements import Requirements
from automl_gpt.training import Backend

DATA = DataCard(name="d", task="binary", train="d.csv", target="y")


def model(name: str, backend: str, tasks: tuple[str, ...] = ("binary",)) -> dict[str, Any]:
    return {"name": name, "backend": backend, "tasks": list(tasks),
            "search_space": {"depth": {"type": "int", "low": 1, "high": 9, "default": 3}}}


class Tables(Backend):
    """Stands for a first-party backend: its module is renamed below to one of this distribution's."""

    name = "tables"
    tasks = frozenset({"binary", "regression"})

    def model_cards(self) -> list[ModelCard]:
        return [card_from_mapping(ModelCard, m) for m in (
            model("forest", "tables", ("regression",)), model("trees", "tables"), model("linear", "tables"))]


class Acme(Backend):
    """A third party's backend for the same task, with a card of its own and one named like a first-party card."""

    name = "acme"
    tasks = frozenset({"binary"})

    def model_cards(self) -> list[ModelCard]:
        return [card_from_mapping(ModelCard, m) for m in (model("acme_net", "acme"), model("trees", "acme"))]


class Images(Backend):
    name = "images"
    tasks = frozenset({"object_detection"})

    def model_cards(self) -> list[ModelCard]:
        return [card_from_mapping(ModelCard, model("cnn", "images", ("object_detection",)))]


Tables.__module__ = "automl_gpt_backend_tables"
REGISTRY: dict[str, Backend] = {b.name: b for b in (Acme(), Tables(), Images())}  # the third party registered first


def resolve(name: str | None, backend: str | None = None) -> tuple[str, str]:
    owner, card = resolve_model_card(name, DATA, REGISTRY, REGISTRY[backend] if backend else None)
    return owner.name, card.name


@pytest.mark.parametrize("name,expected", [
    (None, ("tables", "trees")),                      # the preferred backend's first card for the task
    ("linear", ("tables", "linear")),                 # a card name
    ("trees", ("tables", "trees")),                   # two backends have one: the preferred backend's
    ("acme_net", ("acme", "acme_net")),               # a card only a third party has
    ("acme", ("acme", "acme_net")),                   # a backend name: its first card for the task
    ("auto", ("tables", "trees,linear")),             # every card of the preferred backend
    ("linear, trees", ("tables", "linear,trees")),    # the named cards
])
def test_names_resolve_by_one_rule(name: str | None, expected: tuple[str, str]) -> None:
    assert resolve(name) == expected


def test_backend_restricts_the_names_to_its_cards() -> None:
    assert resolve(None, "acme") == ("acme", "acme_net")
    assert resolve("trees", "acme") == ("acme", "trees")
    with pytest.raises(UnknownNameError) as error:
        resolve("linear", "acme")
    assert str(error.value) == ("--model 'linear': no model card 'linear' for backend 'acme' and task 'binary' "
                                "(known: acme_net, trees; or a model card file, auto, or a,b,c)")
    with pytest.raises(UsageError, match=r"^backend 'images' does not support task 'binary'$"):
        resolve(None, "images")


@pytest.mark.parametrize("name,unknown", [("tree", "'tree'"), ("trees,forest,cnn", "'forest', 'cnn'"),
                                          ("cnn", "'cnn'")])
def test_an_unknown_name_is_one_line_listing_the_names_that_work(name: str, unknown: str) -> None:
    with pytest.raises(UnknownNameError) as error:  # exit code 2, like every usage error
        resolve(name)
    assert error.value.exit_code == 2
    assert str(error.value) == (f"--model '{name}': no model card {unknown} for task 'binary' (known: acme_net, "
                                "linear, trees; or a model card file, auto, or a,b,c)")


def test_named_cards_must_belong_to_one_backend() -> None:
    with pytest.raises(UsageError) as error:
        resolve("linear,acme_net")
    assert str(error.value) == ("--model 'linear,acme_net': the named model cards belong to different backends "
                                "(acme_net: acme; linear: tables); name cards of one backend")
    owner, card = resolve_model_card("acme_net,trees", DATA, REGISTRY)  # only acme has both
    assert owner.name == "acme" and isinstance(card, ModelChoice) and card.backend == "acme"


def test_a_card_file_is_trained_by_the_backend_it_names(tmp_path: Path) -> None:
    path = tmp_path / "Mine.YAML"
    path.write_text(yaml.safe_dump(model("mine", "acme")))
    assert resolve(str(path)) == ("acme", "mine")
    assert resolve(str(path), "acme") == ("acme", "mine")
    with pytest.raises(UsageError, match="is for backend 'acme', not --backend 'tables'"):
        resolve(str(path), "tables")
    path.write_text(yaml.safe_dump(model("mine", "nowhere")))
    with pytest.raises(UnknownNameError, match="names backend 'nowhere', which no installed plugin provides"):
        resolve(str(path))
    folder = tmp_path / "card"
    folder.mkdir()
    (folder / "README.md").write_text("---\n" + yaml.safe_dump(model("in_folder", "tables")) + "---\nProse.\n")
    assert resolve(str(folder)) == ("tables", "in_folder")


def test_a_saved_name_resolves_to_the_same_card_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(model("mine", "tables")))
    monkeypatch.chdir(tmp_path)
    for name in ("mine.yaml", str(tmp_path), None, "linear", "auto"):
        if name == str(tmp_path):
            (tmp_path / "README.md").write_text("---\n" + yaml.safe_dump(model("folder_card", "tables")) + "---\n")
        _, card = resolve_model_card(name, DATA, REGISTRY)
        saved = saved_model_name(name, card)
        monkeypatch.chdir("/")  # resume runs from anywhere
        assert resolve_model_card(saved, DATA, REGISTRY)[1].name == card.name
        monkeypatch.chdir(tmp_path)
    assert saved_model_name("mine.yaml", resolve_model_card("mine.yaml", DATA, REGISTRY)[1]) == str(path)


def test_available_and_first_party_backends_are_preferred() -> None:
    class Unavailable(Tables):
        requirements = Requirements(extra="tables", modules=("no_such_module_anywhere",))

    Unavailable.__module__ = "automl_gpt_backend_tables"
    order = preferred_backends([Acme(), Unavailable(), Tables(), Images()], DATA)
    assert [(b.name, b.requirements.available) for b in order] == [("tables", True), ("acme", True),
                                                                  ("tables", False)]
