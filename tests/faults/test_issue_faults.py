"""Provider faults while issuing: what the approver and the requester are told, what the
database keeps, and that no document is ever issued twice.

Each test requests a document through the issue modal, injects one fault on the
provider's issue call, and approves the card through signed HTTP, as Slack would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from commands.ledger import ApprovalState
from providers.sandbox.base import FaultRule
from tests.app.harness import BotHarness, running_bot, text_of
from tests.faults.flows import (
    FAST,
    ISSUE_CALL,
    add_fault,
    approval,
    assert_find_before_every_resend,
    assert_no_traceback_shown,
    audit,
    call_sequence,
    card_now,
    issue_calls,
    outcomes,
    request_issue,
    requests_at,
    sandbox_documents,
)

pytestmark = pytest.mark.slow  # provider faults with real timeouts against the sandboxes

KEY = "INV-000001"

#: faults after which the write may or may not have happened: the bot must look before sending again
AMBIGUOUS = ["timeout", "html", "drop", "reset", "malformed"]
#: faults the provider answers before doing anything: nothing issued, the user may retry
REFUSED = {
    "500": "internal error",
    "503": "temporarily unavailable",
    "429": "Try again in 1 s",
}


async def approve_with_fault(bot: BotHarness, provider: str, kind: str) -> dict[str, object]:
    card = await request_issue(bot, provider)
    path, method, _ = ISSUE_CALL[provider]
    add_fault(bot, provider, FaultRule(kind=kind, path=path, method=method, seconds=1.0))
    response = await bot.click(card, "approval_approve", user="U_BOB")
    assert response.status_code == 200
    return card_now(bot, card)


@pytest.mark.parametrize("provider", ["popbill", "payssam"])
@pytest.mark.parametrize("kind", AMBIGUOUS)
async def test_an_unanswered_issue_is_looked_up_before_any_resend_and_issued_once(
    tmp_path: Path, provider: str, kind: str
) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        card = await approve_with_fault(bot, provider, kind)

        record = await approval(bot, 1)
        assert record.state is ApprovalState.SUCCEEDED, record
        assert record.outcome_code == "issued"
        assert "✅ Approved and done" in text_of(card)
        assert f"{KEY} issued at {provider}" in text_of(card)
        events = await audit(bot, 1)
        first_issue = outcomes(events, "issue")[0]
        assert first_issue.startswith(("unknown:", "protocol:")), events
        assert outcomes(events, "issue.find")[0] in ("found", "absent")
        assert outcomes(events, "issue")[-1] == "ok"

        sequence = call_sequence(bot, provider)
        assert sequence[:2] == ["issue", "find"], sequence
        assert_find_before_every_resend(sequence)
        if kind == "timeout":
            await asyncio.sleep(0.8)  # the hung first write lands (sandbox thread): the duplicate is refused
        assert sandbox_documents(bot, provider, KEY) == 1
        assert bot.dms("U_ALICE"), "the requester is told the outcome"
        assert_no_traceback_shown(bot)


@pytest.mark.parametrize("provider", ["popbill", "payssam"])
@pytest.mark.parametrize("kind", sorted(REFUSED))
async def test_a_refused_issue_fails_clearly_and_a_retry_issues_it_once(
    tmp_path: Path, provider: str, kind: str
) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        card = await approve_with_fault(bot, provider, kind)

        record = await approval(bot, 1)
        assert record.state is ApprovalState.FAILED and record.retryable, record
        assert record.outcome_code and record.outcome_code.split(":")[0] in ("unavailable", "rate_limited")
        shown = text_of(card)
        assert "❌ Approved, but it failed" in shown
        assert REFUSED[kind] in shown or REFUSED[kind] in (record.user_hint or "") + (record.outcome_message or "")
        dm = "\n".join(text_of(m) for m in bot.dms("U_ALICE"))
        assert "Nothing was done" in dm or "Try again" in dm, dm
        assert sandbox_documents(bot, provider, KEY) == 0
        assert len(issue_calls(bot, provider)) == 1, "a refused write is not repeated behind the user's back"

        await bot.command(f"retry {KEY}", user="U_ALICE")

        assert bot.replies()[-1]["text"].startswith(f"✅ {KEY}")
        record = await approval(bot, 1)
        assert record.state is ApprovalState.SUCCEEDED and record.attempts == 2
        sequence = call_sequence(bot, provider)
        assert sequence[:3] == ["issue", "find", "issue"], "the retry looks before it sends"
        assert sandbox_documents(bot, provider, KEY) == 1
        assert "✅" in text_of(card_now(bot, card))
        assert_no_traceback_shown(bot)


async def test_a_rate_limited_lookup_waits_for_retry_after_before_asking_again(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        card = await request_issue(bot, "popbill")
        add_fault(bot, "popbill", FaultRule(kind="drop", path=r"^/Taxinvoice$", method="POST"))
        add_fault(bot, "popbill", FaultRule(kind="429", path=r"^/Taxinvoice/SELL/", method="GET", retry_after=1))
        await bot.click(card, "approval_approve", user="U_BOB")

        reads = [r for r in requests_at(bot, "popbill") if r["path"] == f"/Taxinvoice/SELL/{KEY}"]
        assert len(reads) >= 2
        assert reads[1]["at"] - reads[0]["at"] >= 0.95, "the second read honours Retry-After: 1"
        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED
        assert len(issue_calls(bot, "popbill")) == 1
        assert sandbox_documents(bot, "popbill", KEY) == 1


@pytest.mark.parametrize("kind", ["drop", "timeout", "reset"])
async def test_hiworks_unknown_outcome_is_reported_for_a_manual_check_never_retried_blindly(
    tmp_path: Path, kind: str
) -> None:
    """Hiworks assigns its own document ids and has no search call, so after an unanswered
    create the bot cannot know; it says so and where to look, and a retry does not resend."""
    async with running_bot(tmp_path, **FAST) as bot:
        card = await approve_with_fault(bot, "hiworks", kind)

        record = await approval(bot, 1)
        assert record.state is ApprovalState.UNKNOWN and record.outcome_code == "unknown"
        shown = text_of(card)
        assert "outcome unknown" in shown
        hint = record.user_hint or ""
        assert f"look in hiworks for a document with key/reference {KEY}" in hint
        events = await audit(bot, 1)
        assert outcomes(events, "issue.find") == ["unsupported:find"]
        assert len(issue_calls(bot, "hiworks")) == 1

        await bot.command(f"retry {KEY}", user="U_BOB")

        assert (await approval(bot, 1)).state is ApprovalState.UNKNOWN
        assert len(issue_calls(bot, "hiworks")) == 1, "a retry of an unknown hiworks issue never resends"
        if kind == "timeout":
            await asyncio.sleep(0.8)
        assert sandbox_documents(bot, "hiworks", KEY) == (0 if kind == "reset" else 1)
        assert "Hiworks" in bot.replies()[-1]["text"] or "hiworks" in text_of(bot.replies()[-1])
        assert_no_traceback_shown(bot)


@pytest.mark.parametrize("kind", ["drop", "timeout", "503", "429"])
async def test_abillify_retries_the_same_idempotency_key_and_issues_once(tmp_path: Path, kind: str) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        card = await approve_with_fault(bot, "abillify", kind)

        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED
        assert "✅ Approved and done" in text_of(card)
        creates = issue_calls(bot, "abillify")
        assert len(creates) == 2, "the create was sent again by the HTTP layer"
        keys = {dict((k.lower(), v) for k, v in c["headers"]).get("idempotency-key") for c in creates}
        assert keys == {f"invoicebot:{KEY}:create"}, "with the same Idempotency-Key"
        if kind == "timeout":
            await asyncio.sleep(0.8)
        assert sandbox_documents(bot, "abillify", KEY) == 1
        assert_no_traceback_shown(bot)
