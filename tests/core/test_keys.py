"""The key store, its CLI and the redaction helper, on a real (isolated) user folder."""

from __future__ import annotations

import json
import stat

import pytest
from automl_gpt import paths
from automl_gpt.cli.keys_cmd import keys as keys_cli
from automl_gpt.errors import UsageError
from automl_gpt.llm import keys
from click.testing import CliRunner

SECRET = "sk-test-0123456789abcdef"


@pytest.fixture(autouse=True)
def no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in keys.ENV_VARS.values():
        monkeypatch.delenv(variable, raising=False)


def test_set_get_and_file_mode() -> None:
    path = keys.set_key("openai", SECRET)
    assert path == paths.keys_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.get_key("openai") == SECRET
    assert keys.get_key("anthropic") is None
    keys.set_key("anthropic", "  other-key-value \n")
    assert keys.get_key("anthropic") == "other-key-value"
    assert json.loads(path.read_text()) == {"anthropic": "other-key-value", "openai": SECRET}


def test_environment_takes_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    keys.set_key("openai", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-environment")
    assert keys.get_key("openai") == "sk-from-environment"
    assert keys.list_keys() == {"openai": "env OPENAI_API_KEY"}
    monkeypatch.setenv("OPENAI_API_KEY", "")
    assert keys.get_key("openai") == SECRET


def test_bad_names_values_and_files() -> None:
    with pytest.raises(UsageError, match="invalid key name"):
        keys.set_key("../etc", SECRET)
    with pytest.raises(UsageError, match="empty value"):
        keys.set_key("openai", "   ")
    paths.keys_path().write_text("[1, 2]")
    with pytest.raises(UsageError, match=r"keys\.json: expected a JSON object"):
        keys.get_key("openai")
    paths.keys_path().write_text("{not json")
    with pytest.raises(UsageError, match="unreadable key file"):
        keys.list_keys()
    assert keys.redact(f"x {SECRET} y", extra=[SECRET]) == "x [REDACTED] y"  # a broken file never blocks redaction


def test_redact_scrubs_stored_env_and_extra_values(monkeypatch: pytest.MonkeyPatch) -> None:
    keys.set_key("openai", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "ant-env-secret-42")
    text = f"failed with {SECRET} and ant-env-secret-42 and tok-extra-99 and abc"
    assert keys.redact(text, extra=["tok-extra-99", "abc", None]) == (
        "failed with [REDACTED] and [REDACTED] and [REDACTED] and abc"
    )


def test_env_var_names() -> None:
    assert keys.env_var("openai") == "OPENAI_API_KEY"
    assert keys.env_var("my-server") == "MY_SERVER_API_KEY"


def test_cli_set_list_path_never_print_values(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(keys_cli, ["set", "openai", "--value", SECRET])
    assert result.exit_code == 0, result.output
    result = runner.invoke(keys_cli, ["set", "anthropic"], input="ant-stdin-secret\n")
    assert result.exit_code == 0, result.output
    assert keys.get_key("anthropic") == "ant-stdin-secret"
    listed = runner.invoke(keys_cli, ["list"])
    assert listed.exit_code == 0
    assert "openai" in listed.output and "anthropic" in listed.output
    assert SECRET not in listed.output and "ant-stdin-secret" not in listed.output
    shown = runner.invoke(keys_cli, ["path"])
    assert shown.output.strip() == str(paths.keys_path())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    result = runner.invoke(keys_cli, ["set", "openai", "--value", SECRET])
    assert "takes precedence" in result.output


def test_cli_list_empty() -> None:
    result = CliRunner().invoke(keys_cli, ["list"])
    assert result.exit_code == 0 and "no keys stored" in result.output
