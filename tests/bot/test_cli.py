"""`invoicebot` as a user runs it: configuration errors, and `migrate` finding the ledger's migrations."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from commands.ledger import current_revision, head_revision
from tests.paths import REPO_ROOT

_OWN_ENV = ("SLACK_", "POPBILL_", "PAYSSAM_", "HIWORKS_", "ABILLIFY_", "INVOICEBOT_", "DATABASE_URL")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_ENV)}
    return {**env, "PYTHONPATH": str(REPO_ROOT), **extra}


def test_migrate_brings_a_new_database_to_the_latest_migration(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    result = subprocess.run([sys.executable, "-m", "bot.cli", "migrate"], cwd=tmp_path,  # away from the checkout
                            env=_clean_env(DATABASE_URL=url), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "database is at the latest migration" in result.stdout
    assert asyncio.run(current_revision(url)) == head_revision()


def test_a_configuration_error_exits_2_and_says_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in os.environ:
        if name.startswith(_OWN_ENV):
            monkeypatch.delenv(name)
    monkeypatch.setenv("INVOICEBOT_ENV", "production")  # production without any Slack credentials
    assert main(["migrate"]) == 2
    assert "configuration error" in capsys.readouterr().err
    assert not (tmp_path / "invoicebot.db").exists()


def test_an_unknown_subcommand_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["deploy"])
    assert exited.value.code == 2
    assert "serve" in capsys.readouterr().err  # the usage lists the real subcommands


def test_console_lang_runs_the_console_in_that_language(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import bot.cli as cli
    from commands.i18n import current_locale

    seen: list[str] = []

    def fake_console(settings: object, **kwargs: object) -> int:
        async def inside_the_loop() -> str:
            return current_locale()

        seen.append(asyncio.run(inside_the_loop()))  # the loop's tasks inherit the locale
        return 0

    monkeypatch.chdir(tmp_path)
    for name in os.environ:
        if name.startswith(_OWN_ENV):
            monkeypatch.delenv(name)
    monkeypatch.setattr(cli, "run_console", fake_console)
    assert main(["console", "--lang", "ko"]) == 0
    assert main(["console"]) == 0
    assert seen == ["ko", "en"]
    with pytest.raises(SystemExit):
        main(["console", "--lang", "fr"])
