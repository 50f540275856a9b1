"""Slack failing in ways a JSON error code does not describe: a text or HTML body (a proxy's
error page), or no answer at all. None of it may hold up a provider call or lose a request:
an approved request runs at once whatever `chat.update` does, and a request whose card
could not be posted is kept, its requester told, and its card posted by the recovery job."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.console.app import settle_tasks
from commands.ledger import ApprovalState
from commands.slack import notify
from tests.app.harness import running_bot, text_of
from tests.faults.flows import BUYER, FAST, ISSUE_COMMAND, approval, card_now, issue_calls, request_issue

BODIES = {
    "html": ("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", 502),
    "text": ("upstream connect error or disconnect/reset before headers", "text/plain", 503),
}


@pytest.mark.parametrize("kind", sorted(BODIES))
async def test_a_card_update_answered_with_a_non_json_body_does_not_hold_up_the_provider_call(
        tmp_path: Path, kind: str) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        card = await request_issue(bot, "popbill")
        body, content_type, status = BODIES[kind]
        bot.slack.fail_next("chat.update", 1, status=status, body=body, content_type=content_type)

        await bot.click(card, "approval_approve", user="U_BOB")

        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED
        assert len(issue_calls(bot, "popbill")) == 1
        assert bot.calls("chat.update")[0].status == status
        assert "✅" in text_of(card_now(bot, card)), "the update with the outcome still went out"


async def test_a_hung_card_update_does_not_hold_up_the_provider_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the card update gives up after 4 s, not 10: still longer than the 3 s the provider call may wait
    monkeypatch.setattr(notify, "CARD_UPDATE_TIMEOUT", 4.0)
    async with running_bot(tmp_path, **FAST) as bot:
        card = await request_issue(bot, "popbill")
        bot.slack.fail_next("chat.update", 1, error="fatal_error", delay=20)

        started = time.monotonic()
        await bot.click(card, "approval_approve", user="U_BOB", settle=False)
        while not issue_calls(bot, "popbill") and time.monotonic() - started < 15:
            await asyncio.sleep(0.05)
        waited = time.monotonic() - started

        assert len(issue_calls(bot, "popbill")) == 1 and waited < 3, f"the provider call waited {waited:.1f} s"
        await settle_tasks(60)
        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED


@pytest.mark.parametrize("kind", sorted(BODIES))
async def test_a_card_post_refused_with_a_non_json_body_keeps_the_request_and_says_so(
        tmp_path: Path, kind: str) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        body, content_type, status = BODIES[kind]
        bot.slack.fail_next("chat.postMessage", 1, status=status, body=body, content_type=content_type)

        await bot.command(ISSUE_COMMAND["popbill"])
        response = await bot.submit(bot.last_modal(), BUYER, user="U_ALICE")

        assert response.status_code == 200
        assert (await approval(bot, 1)).state is ApprovalState.PENDING
        told = text_of(bot.ephemerals("U_ALICE")[-1])
        assert "could not be posted" in told and "#1" in told
        assert bot.cards() == []

        await bot.runtime.recover()  # what the recovery job does every few seconds

        assert len(bot.cards()) == 1
        assert (await approval(bot, 1)).message_ts == bot.cards()[0]["ts"]
