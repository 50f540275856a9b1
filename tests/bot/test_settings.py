"""Configuration: environment over invoicebot.toml over defaults."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings
from tests.paths import REPO_ROOT


def test_defaults_run_on_sqlite_and_sandboxes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert not settings.popbill().configured and not settings.payssam().configured
    assert str(settings.timezone) == "Asia/Seoul"
    assert settings.approval_actions == {"issue", "destroy"}


def test_toml_file_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "invoicebot.toml"
    config.write_text('invoicebot_approvers = "U1,S2"\ninvoicebot_timezone = "UTC"\n'
                      'database_url = "postgresql+asyncpg://x/y"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # invoicebot.toml is read from the working directory
    monkeypatch.setenv("INVOICEBOT_TIMEZONE", "Asia/Tokyo")
    settings = Settings()
    assert settings.approvers == {"U1", "S2"}
    assert str(settings.timezone) == "Asia/Tokyo"  # the environment wins over the file
    assert settings.database_url == "postgresql+asyncpg://x/y"


def test_sandbox_faults_come_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICEBOT_SANDBOX_FAULTS", '{"popbill": {"latency_ms": 2000, "error_rate": 0.1}}')
    faults = Settings().invoicebot_sandbox_faults
    assert faults["popbill"].latency_ms == 2000 and faults["popbill"].error_rate == 0.1


def test_bad_values_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="unknown timezone"):
        Settings(invoicebot_timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="SLACK_SIGNING_SECRET"):
        Settings(invoicebot_env="production")


def test_secrets_never_show_in_repr() -> None:
    settings = Settings(slack_bot_token="xox" + "b-1234567890-secretvalue", popbill_secret_key="c2VjcmV0")
    assert "secretvalue" not in repr(settings) and "c2VjcmV0" not in repr(settings)


def test_the_example_configuration_file_names_only_real_settings_and_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    example = (REPO_ROOT / "invoicebot.toml.example").read_text(encoding="utf-8")
    assert set(tomllib.loads(example)) <= set(Settings.model_fields)
    (tmp_path / "invoicebot.toml").write_text(
        example.replace("invoicebot_expiring_days = 3", "invoicebot_expiring_days = 5"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert Settings().invoicebot_expiring_days == 5


def test_admins_and_requesters_are_comma_separated_ids() -> None:
    settings = Settings(invoicebot_admins=" U_ADA, S_ADMINS ", invoicebot_requesters="C_FINANCE,U_ALICE")

    assert settings.admins == {"U_ADA", "S_ADMINS"}
    assert settings.requesters == {"C_FINANCE", "U_ALICE"}
    assert Settings().requesters == frozenset()  # nobody configured: everyone may request
