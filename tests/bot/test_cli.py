"""`invoicebot` as a user runs it: configuration errors, and `migrate` finding the ledger's migrations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from commands.ledger import current_revision, head_revision
from tests.bot.cli_forks import CliForks
from tests.paths import REPO_ROOT

_OWN_ENV = ("SLACK_", "POPBILL_", "PAYSSAM_", "HIWORKS_", "ABILLIFY_", "INVOICEBOT_", "DATABASE_URL")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_ENV)}
    return {**env, "PYTHONPATH": str(REPO_ROOT), **extra}


@pytest.fixture(scope="module")
def cli() -> Iterator[CliForks]:
    """`python -m bot.cli` in a process of its own per run, forked from one that imported the libraries
    once (tests/bot/cli_forks.py): a fresh interpreter per run cost 0.6-1 s of CPU each."""
    forks = CliForks(_clean_env())
    try:
        yield forks
    finally:
        forks.close()


def test_migrate_brings_a_new_database_to_the_latest_migration(tmp_path: Path, cli: CliForks) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    result = cli.run(["migrate"], cwd=tmp_path, env=_clean_env(DATABASE_URL=url), timeout=120)  # away from the checkout
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


#: (environment, subcommand, the setting the one line must name)
MISTAKES: list[tuple[dict[str, str], str, str]] = [
    ({"INVOICEBOT_APPROVAL_ACTIONS": "issue,delete"}, "serve", "INVOICEBOT_APPROVAL_ACTIONS"),
    ({"INVOICEBOT_APPROVERS": "alice,bob"}, "console", "INVOICEBOT_APPROVERS"),
    ({"INVOICEBOT_SELLER_BIZNO": "123"}, "sandbox", "INVOICEBOT_SELLER_BIZNO"),
    ({"INVOICEBOT_SELLER_BIZNO": "123-45-67890"}, "migrate", "INVOICEBOT_SELLER_BIZNO"),  # wrong check digit
    ({"INVOICEBOT_APPROVAL_TTL_HOURS": "a day"}, "serve", "INVOICEBOT_APPROVAL_TTL_HOURS"),
    ({"INVOICEBOT_SANDBOX_FAULTS": "{popbill: slow}"}, "console", "INVOICEBOT_SANDBOX_FAULTS"),
    ({"INVOICEBOT_TIMEZONE": "Mars/Olympus"}, "migrate", "INVOICEBOT_TIMEZONE"),
    ({"DATABASE_URL": "mysql://db.example.com/books"}, "serve", "DATABASE_URL"),
    ({"DATABASE_URL": "postgresql+asyncpg://bot:hunter2@127.0.0.1:9/books"}, "serve", "DATABASE_URL"),
    ({"DATABASE_URL": "postgresql+asyncpg://bot:hunter2@127.0.0.1:9/books"}, "console", "DATABASE_URL"),
    ({"DATABASE_URL": "postgresql+asyncpg://bot:hunter2@127.0.0.1:9/books"}, "migrate", "DATABASE_URL"),
]


#: three cases run in the fast lane; a process each costs a fraction of a second, the rest are `slow`
_FAST = {0, 1, 8}


@pytest.mark.parametrize(("env", "command", "setting"), [
    pytest.param(*case, id=f"{case[1]}-{next(iter(case[0].items()))}",
                 marks=() if i in _FAST else (pytest.mark.slow,)) for i, case in enumerate(MISTAKES)])
def test_a_configuration_mistake_is_one_line_naming_the_setting_and_an_example(
    tmp_path: Path, cli: CliForks, env: dict[str, str], command: str, setting: str,
) -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s" * 32, "INVOICEBOT_CONFIG": str(tmp_path / "none"),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"}
    args = [command] + (["--port", "0"] if command in ("serve",) else [])
    result = cli.run(args, cwd=tmp_path, env=_clean_env(**{**base, **env}), timeout=60)

    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-2000:]
    [line] = lines
    assert f"{setting}:" in line and f"e.g. {setting}=" in line, line
    for leak in ("Traceback", "pydantic", "validation error", "hunter2", "https://errors.pydantic.dev"):
        assert leak not in line, line
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
