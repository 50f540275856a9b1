"""The digest benchmark holds its target against the first build a channel sees, and says what it did first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bench import _digest_child, digest
from bench._common import BenchResult
from commands.ledger import Store


def child(first: float, *, warm_up: float | None) -> dict[str, Any]:
    return {"first": first + 0.5, "warm": 0.1, "first_message": first, "warm_message": 0.1, "rss_before": 100.0,
            "rss_peak": 150.0, "scan": 0.05, "blocks": 20, "warm_up": warm_up, "cold": "cold",
            "parts": {"data": 0.1, "blocks": 0.001, "chart": 0.5}}


def test_the_target_is_the_first_build_at_the_scheduled_time_and_the_bare_first_build_is_shown() -> None:
    small = digest._row([child(0.1, warm_up=0.3)] * 3, [child(0.2, warm_up=None)] * 3, seeded=1.0)
    big = digest._row([child(0.4, warm_up=0.9)] * 3, [child(1.7, warm_up=None)] * 3, seeded=9.0)
    result = BenchResult("digest")

    digest._report(result, "sqlite", {10_000: small, 1_000_000: big})

    scheduled, warm, bare, warm_up = result.checks[:4]
    assert "first build at the scheduled time" in scheduled.what and "warm-up" in scheduled.what
    assert (scheduled.measured, scheduled.ok) == ("0.400 / 0.400 / 0.400 s", True)
    assert "no warm-up" in bare.what and bare.measured == "1.700 / 1.700 / 1.700 s" and bare.ok is None
    assert warm.ok is True and warm_up.measured == "0.900 / 0.900 / 0.900 s"
    assert "| 1.700 / 1.700 / 1.700 s |" in result.growth[1]  # the growth table keeps both first builds


@pytest.mark.slow  # seeds a database and draws charts (matplotlib)
async def test_the_child_runs_the_schedulers_warm_up_before_the_clock_starts(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'digest.db'}"
    now = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
    store = await Store.open(url, migrate=True)
    try:
        await digest.seed(store, 200, now)
    finally:
        await store.close()

    warmed = await _digest_child.measure(url, now, repeats=1, warm_up=True)
    bare = await _digest_child.measure(url, now, repeats=1, warm_up=False)

    assert warmed["warm_up"] is not None and warmed["warm_up"] > 0
    assert bare["warm_up"] is None
    assert warmed["blocks"] == bare["blocks"] > 0  # the same digest either way


def test_a_kept_database_is_reused_at_its_own_time_and_reseeded_after_a_migration(tmp_path: Path) -> None:
    seeded_at = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
    later = seeded_at + dt.timedelta(hours=3)
    url = f"sqlite+aiosqlite:///{tmp_path / 'digest-50.db'}"
    notes: list[str] = []

    first = digest._kept_prepare(tmp_path, seeded_at, notes)(url, 50)
    again = digest._kept_prepare(tmp_path, later, notes)(url, 50)
    facts = tmp_path / "digest-50.json"
    facts.write_text(facts.read_text().replace('"head": "', '"head": "older-'))
    reseeded = digest._kept_prepare(tmp_path, later, notes)(url, 50)

    assert first[1] == seeded_at and again == first  # reused: built at the time it was seeded around
    assert reseeded[1] == later
    assert len(notes) == 1 and "reused" in notes[0]
