"""Provider faults while resending and destroying an issued document.

A resend cannot be looked up at any provider, so an unanswered resend is reported as
"may have been sent" and never repeated by itself. A destroy can: after an unanswered
cancel the bot reads the document's state before deciding anything.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from commands.ledger import ApprovalState, Lifecycle
from providers.sandbox.base import FaultRule
from tests.app.harness import BotHarness, running_bot, text_of
from tests.faults.flows import (
    FAST,
    add_fault,
    approval,
    assert_no_traceback_shown,
    audit,
    header,
    issue_approved,
    outcomes,
    requests_at,
)

pytestmark = pytest.mark.slow  # provider faults with real timeouts against the sandboxes

KEY = "INV-000001"

RESEND = {
    # provider: (command, path of the resend write, X-HTTP-Method-Override)
    "popbill": (f"resend {KEY} email buyer@example.com", rf"^/Taxinvoice/SELL/{KEY}$", "EMAIL"),
    "payssam": (f"resend {KEY} talk", r"/bill/resend$", None),
}
DESTROY = {
    # provider: (path of the destroy write, X-HTTP-Method-Override)
    "popbill": (rf"^/Taxinvoice/SELL/{KEY}$", "CANCELISSUE"),
    "payssam": (r"/bill/destroy$", None),
}


def writes(bot: BotHarness, provider: str, path: str, override: str | None) -> list[dict[str, object]]:
    return [r for r in requests_at(bot, provider) if re.search(path, str(r["path"])) and r["method"] == "POST"
            and (override is None or header(r, "X-HTTP-Method-Override") == override)]


def reply_text(bot: BotHarness) -> str:
    return text_of(bot.replies()[-1])


@pytest.mark.parametrize("provider", ["popbill", "payssam"])
@pytest.mark.parametrize("kind", ["drop", "timeout", "html"])
async def test_an_unanswered_resend_may_have_been_sent_and_is_not_repeated(
    tmp_path: Path, provider: str, kind: str
) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        await issue_approved(bot, provider)
        command, path, override = RESEND[provider]
        add_fault(bot, provider, FaultRule(kind=kind, path=path, method="POST", seconds=1.0))

        response = await bot.command(command, user="U_ALICE")

        assert response.status_code == 200
        shown = reply_text(bot)
        assert "did not confirm the resend" in shown
        assert "retry to send it (again) if the buyer did not get it" in shown
        resend = (await bot.runtime.store.approvals.search(document_id=1))[-1]
        assert resend.state is ApprovalState.UNKNOWN and resend.retryable
        assert outcomes(await audit(bot, resend.id), "resend")[0].split(":")[0] in ("unknown", "protocol")
        assert len(writes(bot, provider, path, override)) == 1, "an unanswered resend is never repeated blindly"
        assert_no_traceback_shown(bot)


@pytest.mark.parametrize("provider", ["popbill", "payssam"])
@pytest.mark.parametrize("kind", ["500", "503", "429"])
async def test_a_refused_resend_says_nothing_was_sent(tmp_path: Path, provider: str, kind: str) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        await issue_approved(bot, provider)
        command, path, override = RESEND[provider]
        add_fault(bot, provider, FaultRule(kind=kind, path=path, method="POST"))

        await bot.command(command, user="U_ALICE")

        shown = reply_text(bot)
        assert f"{KEY} was not resent" in shown
        resend = (await bot.runtime.store.approvals.search(document_id=1))[-1]
        assert resend.state is ApprovalState.FAILED and resend.retryable
        assert len(writes(bot, provider, path, override)) == 1

        await bot.command(f"retry {KEY}", user="U_ALICE")

        assert (await approval(bot, resend.id)).state is ApprovalState.SUCCEEDED
        assert len(writes(bot, provider, path, override)) == 2, "the user's retry sends it once more"
        assert_no_traceback_shown(bot)


async def request_destroy(bot: BotHarness) -> dict[str, object]:
    await bot.command(f"destroy {KEY} wrong buyer", user="U_ALICE")
    card = bot.cards()[-1]
    assert "approval_approve" in text_of(card), "a destroy waits for approval"
    return card


@pytest.mark.parametrize("provider", ["popbill", "payssam"])
@pytest.mark.parametrize("kind", ["drop", "reset", "html"])
async def test_an_unanswered_destroy_is_checked_at_the_provider_before_anything_else(
    tmp_path: Path, provider: str, kind: str
) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        await issue_approved(bot, provider)
        card = await request_destroy(bot)
        path, override = DESTROY[provider]
        add_fault(bot, provider, FaultRule(kind=kind, path=path, method="POST"))

        await bot.click(card, "approval_approve", user="U_BOB")

        destroy = (await bot.runtime.store.approvals.search(document_id=1))[-1]
        assert destroy.state is ApprovalState.SUCCEEDED, destroy
        doc = await bot.runtime.store.documents.get_by_ref(KEY)
        assert doc is not None and doc.lifecycle is Lifecycle.DESTROYED
        events = await audit(bot, destroy.id)
        assert outcomes(events, "destroy")[0].split(":")[0] in ("unknown", "protocol")
        assert outcomes(events, "destroy")[-1] == "ok"
        sent = len(writes(bot, provider, path, override))
        assert sent == (2 if kind in ("reset", "html") else 1), "sent again only when it surely did not happen"
        current = next(c for c in bot.cards() if c["ts"] == card["ts"])
        assert "✅" in text_of(current)
        assert_no_traceback_shown(bot)


@pytest.mark.parametrize("provider", ["popbill", "payssam"])
@pytest.mark.parametrize("kind", ["503", "500"])
async def test_a_refused_destroy_leaves_the_document_issued_and_says_so(
    tmp_path: Path, provider: str, kind: str
) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        await issue_approved(bot, provider)
        card = await request_destroy(bot)
        path, override = DESTROY[provider]
        add_fault(bot, provider, FaultRule(kind=kind, path=path, method="POST"))

        await bot.click(card, "approval_approve", user="U_BOB")

        destroy = (await bot.runtime.store.approvals.search(document_id=1))[-1]
        assert destroy.state is ApprovalState.FAILED and destroy.retryable
        assert f"did not destroy {KEY}" in (destroy.outcome_message or "")
        doc = await bot.runtime.store.documents.get_by_ref(KEY)
        assert doc is not None and doc.lifecycle is Lifecycle.ISSUED
        current = next(c for c in bot.cards() if c["ts"] == card["ts"])
        assert "failed" in text_of(current)
        dm = "\n".join(text_of(m) for m in bot.dms("U_ALICE"))
        assert f"did not destroy {KEY}" in dm
        assert len(writes(bot, provider, path, override)) == 1
        assert_no_traceback_shown(bot)
