"""Requirements: missing modules found without importing them, and the install hint users are shown."""

from __future__ import annotations

from automl_gpt.requirements import Requirements

MISSING = "surely_not_installed_module_xyz"


def test_first_party_plugins_point_at_an_extra_of_automl_gpt() -> None:
    requirements = Requirements(extra="tabular", modules=("json", MISSING))
    assert not requirements.available
    assert requirements.missing == (MISSING,)
    assert requirements.install_hint == "pip install 'automl-gpt[tabular]'"
    assert requirements.reason == f"missing {MISSING}: pip install 'automl-gpt[tabular]'"


def test_third_party_plugins_name_their_own_package_or_command() -> None:
    assert Requirements(package="acme-automl", extra="gpu", modules=(MISSING,)).reason == (
        f"missing {MISSING}: pip install 'acme-automl[gpu]'"
    )
    hinted = Requirements(modules=(MISSING,), hint="pip install acme-trainer")
    assert hinted.install_hint == "pip install acme-trainer"
    assert hinted.reason == f"missing {MISSING}: pip install acme-trainer"
    assert Requirements(package="acme-automl", modules=(MISSING,)).reason == f"missing {MISSING}"  # no extra: no hint


def test_installed_modules_are_available_without_a_reason() -> None:
    requirements = Requirements(package="acme-automl", extra="gpu", modules=("json", "email.mime"))
    assert requirements.available and requirements.reason is None
