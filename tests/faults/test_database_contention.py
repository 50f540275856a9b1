"""The SQLite file locked by another connection: Slack still gets its answer within 3 s, the
issue request is recorded once the lock clears, and an acknowledged approval is recorded
(waited for past the busy timeout) or its clicker is told it was not.

The locks are as long as each behaviour needs and no longer: past the 3 s ack budget, and past
SQLite's busy timeout, which these tests lower from 15 s to `BUSY_TIMEOUT_MS` (the same
mechanism, met sooner)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

import commands.ledger.db as ledger_db
from bot.console.app import settle_tasks
from commands.ledger import ApprovalState
from commands.slack import busy
from tests.app.harness import BotHarness, running_bot, text_of
from tests.faults.flows import BUYER, FAST, ISSUE_COMMAND, approval, card_now, issue_calls, request_issue

pytestmark = pytest.mark.slow  # each holds the database for 5 to 7 seconds

#: SQLite's busy timeout in these tests (the product's is 15 s): a lock held longer outlasts it
BUSY_TIMEOUT_MS = 3_000
#: longer than the 3 s Slack waits for an ack
ACK_BUDGET = 3.0


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_db, "_SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)


class ExclusiveLock:
    """An exclusive transaction on the bot's SQLite file from another connection, for `seconds`."""

    def __init__(self, path: Path, seconds: float) -> None:
        self.path, self.seconds = path, seconds
        self.held = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("UPDATE documents SET updated_at = updated_at WHERE id = -1")
            self.held.set()
            time.sleep(self.seconds)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    async def __aenter__(self) -> ExclusiveLock:
        self._thread.start()
        assert await asyncio.to_thread(self.held.wait, 10), "could not take the lock"
        return self

    async def __aexit__(self, *exc: object) -> None:
        # waiting for the lock's end must not hold the event loop: the bot runs on it meanwhile,
        # as it would while another process holds the database
        await asyncio.to_thread(self._thread.join, self.seconds + 10)


def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


async def test_an_issue_form_is_acknowledged_in_time_and_recorded_after_a_long_lock(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        await bot.command(ISSUE_COMMAND["popbill"])
        modal = bot.last_modal()
        async with ExclusiveLock(db_path(tmp_path), ACK_BUDGET + 2):
            started = time.monotonic()
            response = await bot.submit(modal, BUYER, user="U_ALICE", settle=False)
            answered = time.monotonic() - started
            assert response.status_code == 200 and not response.text, response.text
            assert answered < ACK_BUDGET, f"Slack waited {answered:.1f} s"
        await settle_tasks(60)

        assert [a.state for a in await bot.runtime.store.approvals.search()] == [ApprovalState.PENDING]
        assert len(bot.cards()) == 1
        assert "waiting for approval" in text_of(bot.ephemerals("U_ALICE")[-1])


async def _click_under_lock(bot: BotHarness, tmp_path: Path, seconds: float) -> dict[str, object]:
    card = await request_issue(bot, "popbill")
    async with ExclusiveLock(db_path(tmp_path), seconds):
        started = time.monotonic()
        response = await bot.click(card, "approval_approve", user="U_BOB", settle=False)
        assert response.status_code == 200 and time.monotonic() - started < ACK_BUDGET
    await settle_tasks(90)
    return card


async def test_an_approval_clicked_during_a_lock_past_the_busy_timeout_is_recorded_and_run(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        card = await _click_under_lock(bot, tmp_path, BUSY_TIMEOUT_MS / 1000 + 4)  # outlasts the busy timeout

        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED
        assert len(issue_calls(bot, "popbill")) == 1
        assert "✅" in text_of(card_now(bot, card))


async def test_an_approval_that_cannot_be_recorded_is_told_to_its_clicker(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(busy, "DB_PATIENCE", 1.0)
    async with running_bot(tmp_path, **FAST) as bot:
        card = await _click_under_lock(bot, tmp_path, BUSY_TIMEOUT_MS / 1000 + 3)

        assert (await approval(bot, 1)).state is ApprovalState.PENDING
        assert issue_calls(bot, "popbill") == []
        told = text_of(bot.ephemerals("U_BOB")[-1])
        assert "could not be recorded" in told and "click Approve again" in told
        assert "approval_approve" in text_of(card_now(bot, card)), "the buttons stay for the next click"
