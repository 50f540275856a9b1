"""`serve` starts with the automatic garbage collector held off and resumes it once ready (`bot.startup_gc`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

import bot.cli as cli
from bot.startup_gc import collector_held, resume


@pytest.fixture
def collecting() -> Iterator[None]:
    """Each test starts, and leaves the session, with the collector on."""
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_held_inside_and_on_again_afterwards(collecting: None) -> None:
    with collector_held():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_resume_turns_a_held_collector_back_on_once(collecting: None) -> None:
    with collector_held():
        resume()
        assert gc.isenabled()
        gc.disable()  # someone else's decision after the resume: not undone by a second one
        resume()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_resume_never_turns_on_a_collector_it_did_not_hold(collecting: None) -> None:
    gc.disable()
    resume()
    assert not gc.isenabled()
    with collector_held():  # held while already off: left off afterwards too
        resume()
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_serve_imports_and_starts_the_bot_with_the_collector_held(collecting: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.config_errors as config_errors
    import bot.serve as serve_module
    from bot.settings import Settings

    seen: list[tuple[str, bool]] = []

    def settings() -> Settings:
        seen.append(("reading settings", gc.isenabled()))
        return Settings.model_construct()

    async def serve(_settings: Settings, **kwargs: Any) -> int:
        seen.append(("serve", gc.isenabled()))
        kwargs["early"].close()
        return 0

    monkeypatch.setattr(config_errors, "load_settings_checked", settings)
    monkeypatch.setattr(serve_module, "serve", serve)
    assert cli.main(["serve", "--http", "--host", "127.0.0.1", "--port", "0"]) == 0
    assert seen == [("reading settings", False), ("serve", False)]
    assert gc.isenabled()


def test_other_subcommands_collect_as_usual(collecting: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from commands import ledger

    seen: list[bool] = []
    monkeypatch.setattr(ledger, "migrate", lambda url: seen.append(gc.isenabled()))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("INVOICEBOT_CONFIG", str(tmp_path / "none.toml"))
    assert cli.main(["migrate"]) == 0
    assert seen == [True]
