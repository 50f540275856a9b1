"""`serve` starts with the collector's middle and full collections held off and resumes them once
ready (`bot.startup_gc`); young collections run throughout."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bot.cli as cli
from bot.startup_gc import collector_held, resume

NORMAL = (700, 10, 10)


@pytest.fixture
def collecting() -> Iterator[None]:
    """Each test starts, and leaves the session, with the usual thresholds."""
    saved = gc.get_threshold()
    gc.set_threshold(*NORMAL)
    yield
    gc.set_threshold(*saved)


def _older_held() -> bool:
    young, middle, old = gc.get_threshold()
    return young == NORMAL[0] and middle > 1_000_000 and old > 1_000_000


def test_only_young_collections_run_inside_and_the_thresholds_are_restored_afterwards(collecting: None) -> None:
    with collector_held():
        assert _older_held()
    assert gc.get_threshold() == NORMAL


def test_resume_restores_the_older_generations_once_and_keeps_the_young_threshold_set_since(
    collecting: None,
) -> None:
    with collector_held():
        gc.set_threshold(50_000, *gc.get_threshold()[1:])  # what bot.heap.settle_heap does first
        resume()
        assert gc.get_threshold() == (50_000, 10, 10)
        gc.set_threshold(1234, 5, 5)  # someone else's decision after the resume: not undone
        resume()
        assert gc.get_threshold() == (1234, 5, 5)
    assert gc.get_threshold() == (1234, 5, 5)


def test_resume_changes_nothing_it_did_not_hold(collecting: None) -> None:
    resume()
    assert gc.get_threshold() == NORMAL


def test_serve_imports_and_starts_the_bot_with_the_older_generations_held(
    collecting: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.config_errors as config_errors
    import bot.serve as serve_module
    from bot.settings import Settings

    seen: list[tuple[str, bool]] = []

    def settings() -> Settings:
        seen.append(("reading settings", _older_held()))
        return Settings.model_construct()

    async def serve(_settings: Settings, **kwargs: Any) -> int:
        seen.append(("serve", _older_held()))
        kwargs["early"].close()
        return 0

    monkeypatch.setattr(config_errors, "load_settings_checked", settings)
    monkeypatch.setattr(serve_module, "serve", serve)
    assert cli.main(["serve", "--http", "--host", "127.0.0.1", "--port", "0"]) == 0
    assert seen == [("reading settings", True), ("serve", True)]
    assert gc.get_threshold() == NORMAL


def test_other_subcommands_collect_as_usual(collecting: None, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    from commands import ledger

    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(ledger, "migrate", lambda url: seen.append(gc.get_threshold()))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("INVOICEBOT_CONFIG", str(tmp_path / "none.toml"))
    assert cli.main(["migrate"]) == 0
    assert seen == [NORMAL]
