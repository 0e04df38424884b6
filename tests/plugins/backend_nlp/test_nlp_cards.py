"""Model cards: the shipped YAML and Markdown cards, Hugging Face README cards, and a light plugin import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import automl_gpt_backend_nlp as plugin
import pytest
from automl_gpt.cards import DataCard, ModelCard, card_from_mapping, load_model_card
from automl_gpt.cards.search_space import CategoricalParam, FloatParam, IntParam
from automl_gpt.errors import CardError, ConfigError
from automl_gpt.testing import plugins_loaded
from automl_gpt.training import Objective
from automl_gpt_backend_nlp.backbone import DEFAULT_BACKBONE, resolve_backbone
from automl_gpt_backend_nlp.backend import TransformersQABackend
from automl_gpt_backend_nlp.trainer import FIXED_DEFAULTS, trial_config

SPACE = {
    "learning_rate",
    "num_epochs",
    "batch_size",
    "max_seq_length",
    "doc_stride",
    "warmup_ratio",
    "weight_decay",
    "lr_scheduler",
}


def test_shipped_cards_declare_the_typed_space() -> None:
    cards = TransformersQABackend().model_cards()
    assert [c.name for c in cards] == ["distilbert-squad-qa", "minilm-l6-qa", "distilbert-base-uncased-qa"]
    for card in cards:
        space = card.space()
        assert set(space) == SPACE
        assert isinstance(space["learning_rate"], FloatParam) and space["learning_rate"].log
        assert isinstance(space["batch_size"], CategoricalParam)
        assert isinstance(space["lr_scheduler"], CategoricalParam)
        assert isinstance(space["num_epochs"], IntParam)
        assert space.contains(card.defaults())
    assert cards[1].options["backbone"] == DEFAULT_BACKBONE
    assert Path(resolve_backbone(cards[1])).joinpath("config.json").exists()  # offline, from the package


def test_markdown_card_sets_hub_metadata_aside() -> None:
    markdown = TransformersQABackend().model_cards()[2]
    assert markdown.source is not None and markdown.source.suffix == ".md"
    assert markdown.options["backbone"] == "distilbert-base-uncased"
    assert "license" not in markdown.model_dump()


def _card_with_options(card: ModelCard, **options: object) -> ModelCard:
    data = card.model_dump()
    data["options"].update(options)
    return card_from_mapping(ModelCard, data)


def test_a_readme_card_with_hub_metadata_loads_and_resolves_a_relative_backbone(tmp_path: Path) -> None:
    folder = tmp_path / "my-encoder"
    folder.mkdir()
    (folder / "README.md").write_text(
        "---\nlicense: apache-2.0\nlanguage: en\nlibrary_name: transformers\npipeline_tag: question-answering\n"
        "tags: [bert]\nname: my-encoder-qa\nbackend: transformers-qa\ntasks: [extractive_qa]\n"
        "options: {backbone: ./weights}\n"
        "search_space:\n  learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true, default: 5.0e-5}\n"
        "---\n# My encoder\n\nPeople-facing text.\n",
        encoding="utf-8",
    )
    (folder / "weights").mkdir()
    with plugins_loaded(plugin):
        card = load_model_card(folder)  # a folder holding a README.md card
    assert card.name == "my-encoder-qa" and card.backend == "transformers-qa"
    assert resolve_backbone(card) == str((folder / "weights").resolve())
    assert card.defaults() == {"learning_rate": 5.0e-5}
    config = trial_config(card, {"learning_rate": 1e-4})  # what the card neither searches nor fixes: defaults
    assert config == dict(FIXED_DEFAULTS, learning_rate=1e-4)
    fixed = _card_with_options(card, max_seq_length=384)
    assert trial_config(fixed, {})["max_seq_length"] == 384
    with pytest.raises(ConfigError, match="unknown parameter 'batch_size'"):
        trial_config(card, {"batch_size": 8})


def test_an_unknown_field_in_a_qa_card_is_a_card_error(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(
        "---\nname: x\nbackend: transformers-qa\ntasks: [extractive_qa]\nlicense: mit\nlearning_rate: 0.1\n---\n# x\n",
        encoding="utf-8",
    )
    with plugins_loaded(plugin), pytest.raises(CardError, match=r"field 'learning_rate'.*not a known field"):
        load_model_card(path)


def test_backend_registers_and_the_import_stays_light() -> None:
    with plugins_loaded(plugin) as manager:
        backend = manager.backend("transformers-qa")
    assert backend.tasks == frozenset({"extractive_qa"})
    code = (
        "import sys, automl_gpt_backend_nlp; "
        "print(sorted(m for m in ('torch', 'transformers', 'pydantic') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_objective_is_f1_unless_the_card_asks_for_exact_match(example_card: DataCard) -> None:
    backend = TransformersQABackend()
    assert backend.objective(example_card) == Objective("f1", "maximize")
    exact = example_card.model_copy(update={"metric": "exact_match"})
    assert backend.objective(exact) == Objective("exact_match", "maximize")
