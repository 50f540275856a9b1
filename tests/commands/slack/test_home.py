"""App Home: approvals waiting for me (never my own), my requests, the last digest, the closure modal."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble
from commands.ledger import ApprovalAction, Lifecycle, Store
from commands.ledger import digest_queries as q
from commands.slack.digest import build_digest_data, post_digest
from commands.slack.home import build_closure_modal, build_home_view, load_home, parse_closure_submission
from commands.slack.ids import (
    APPROVE_ACTION_ID,
    CLOSURE_ACTION_ID,
    CLOSURE_BLOCK_ID,
    CLOSURE_MODAL_CALLBACK_ID,
    HOME_CLOSURE_ACTION_ID,
    HOME_ISSUE_ACTION_ID,
    REJECT_ACTION_ID,
)
from providers.models import DocumentKind, DocumentState, Provider
from tests.commands.slack.digest.seed import add_document, age_approval

SEOUL = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL).astimezone(dt.UTC)


def actions(view: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["action_id"], e.get("value")) for b in view["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


async def test_home_shows_what_waits_for_an_approver_but_never_their_own_request(store: Store) -> None:
    theirs = await add_document(store, Provider.POPBILL, state=None, lifecycle=Lifecycle.PENDING_APPROVAL,
                                buyer_name="Acme Corp", total=1_234_500, requested_by="U2")
    mine = await add_document(store, Provider.PAYSSAM, state=None, lifecycle=Lifecycle.PENDING_APPROVAL,
                              requested_by="U1")
    waiting = await store.approvals.create(action=ApprovalAction.ISSUE, document_id=theirs.id, requester="U2")
    await age_approval(store, waiting.id, NOW - dt.timedelta(hours=3))
    await store.approvals.create(action=ApprovalAction.ISSUE, document_id=mine.id, requester="U1")
    await add_document(store, Provider.HIWORKS, state=DocumentState.SENT, requested_by="U1")
    assert await store.claim_digest_run("C9", NOW.date(), "test")
    await store.digests.finish_run("C9", NOW.date(), message_ts="1.1", now=NOW,
                                   summary={"issued": 3, "issued_totals": {"KRW": 330_000}, "pending": 1})

    home = await load_home(store, "U1", is_approver=True, sandbox_providers={Provider.PAYSSAM})
    view = home.view(SEOUL, now=NOW).to_dict()
    rendered = json.dumps(view, ensure_ascii=False)

    assert view["type"] == "home"
    assert [a.id for a in home.approvals.rows] == [waiting.id]
    assert actions(view) == [(HOME_ISSUE_ACTION_ID, None), (HOME_CLOSURE_ACTION_ID, None),
                             (APPROVE_ACTION_ID, str(waiting.id)), (REJECT_ACTION_ID, str(waiting.id))]
    assert "Waiting for your approval (1)" in rendered and "asked by <@U2> 3 h ago" in rendered
    assert "₩1,234,500" in rendered
    assert [r.ref for r in home.recent] == [f"INV-{3:06d}", mine.ref]  # newest first
    assert "⏳ waiting for approval" in rendered and "🧪" in rendered  # Payssam is sandboxed
    assert "Last digest* in <#C9>" in rendered and "3 issued (₩330,000) · 1 waiting for approval" in rendered


async def test_home_for_someone_who_is_not_an_approver_has_no_approval_buttons(store: Store) -> None:
    doc = await add_document(store, Provider.POPBILL, state=None, lifecycle=Lifecycle.PENDING_APPROVAL,
                             requested_by="U2")
    await store.approvals.create(action=ApprovalAction.ISSUE, document_id=doc.id, requester="U2")

    view = (await load_home(store, "U3", is_approver=False)).view(SEOUL, now=NOW).to_dict()

    assert actions(view) == [(HOME_ISSUE_ACTION_ID, None), (HOME_CLOSURE_ACTION_ID, None)]
    assert "No digest yet" in json.dumps(view)


def test_a_home_with_many_approvals_stays_a_valid_view() -> None:
    def row(i: int) -> q.DocumentRow:
        return q.DocumentRow(
            id=i, ref=f"INV-{i:06d}", provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, sandbox=True,
            buyer_name="<Acme & Sons>" * 40, buyer_bizno=None, total=10_000, currency="KRW",
            lifecycle=Lifecycle.PENDING_APPROVAL, state=None, raw_state=None, detail=None, due_date=None,
            issued_at=None, created_at=NOW, updated_at=NOW, requested_by="U2")

    approvals = q.Listing(count=250, rows=tuple(
        q.ApprovalRow(id=i, action="destroy", requester="U2", created_at=NOW, expires_at=NOW, document=row(i))
        for i in range(1, 11)))

    view = build_home_view("U1", approvals, [row(i) for i in range(50)], None, is_approver=True,
                           now=NOW).to_dict()  # to_dict checks Slack's limits

    assert len(view["blocks"]) <= 100
    assert "…and 240 more" in json.dumps(view, ensure_ascii=False)
    assert "&lt;Acme &amp; Sons&gt;" in json.dumps(view)  # user text cannot become a mention or link


def test_the_closure_modal_reads_numbers_like_the_command() -> None:
    modal = build_closure_modal().to_dict()
    assert modal["callback_id"] == CLOSURE_MODAL_CALLBACK_ID
    assert modal["blocks"][0]["element"]["multiline"] is True

    def submit(text: str | None) -> dict[str, Any]:
        return {CLOSURE_BLOCK_ID: {CLOSURE_ACTION_ID: {"type": "plain_text_input", "value": text}}}

    command, errors = parse_closure_submission(submit("123-12-12312\n220-88-75476, 1231212312"))
    assert errors == {} and command is not None
    assert command.biznos == ("1231212312", "2208875476")

    for bad in (None, "   ", "12345"):
        command, errors = parse_closure_submission(submit(bad))
        assert command is None and set(errors) == {CLOSURE_BLOCK_ID}
    assert "Not a business number" in parse_closure_submission(submit("12345"))[1][CLOSURE_BLOCK_ID]


async def test_a_deleted_or_rejected_document_carries_one_label_on_home(store: Store) -> None:
    await add_document(store, Provider.POPBILL, state=DocumentState.DELETED, lifecycle=Lifecycle.DESTROYED,
                       requested_by="U1")
    await add_document(store, Provider.HIWORKS, state=None, lifecycle=Lifecycle.REJECTED, requested_by="U1")

    rendered = json.dumps((await load_home(store, "U1", is_approver=False)).view(SEOUL, now=NOW).to_dict(),
                          ensure_ascii=False)

    assert "🗑️ cancelled" in rendered and "deleted" not in rendered  # not "🗑️ deleted · … · 🗑️ cancelled"
    assert "🚫 rejected" in rendered and "unknown" not in rendered


async def test_home_shows_a_digest_posted_with_digest_now(store: Store) -> None:
    """``digest now`` claims no run row; App Home used to read only run rows and said "No digest yet"."""
    double = SlackWebApiDouble()
    client = AsyncWebClient(token="xoxb-test", base_url=await double.start())
    try:
        assert await store.claim_digest_run("C9", NOW.date(), "test")
        await store.digests.finish_run("C9", NOW.date(), message_ts="1.1", now=NOW - dt.timedelta(hours=2),
                                       summary={"issued": 3, "issued_totals": {"KRW": 330_000}})
        await add_document(store, Provider.POPBILL, total=220_000, issued_at=NOW - dt.timedelta(minutes=30))
        data = await build_digest_data(store, now=NOW, since=NOW - dt.timedelta(hours=2), tz=SEOUL, chart=False)
        await post_digest(client, "C7", data, tz=SEOUL, store=store, chart=False)  # no day: `digest now`
    finally:
        await double.stop()

    home = await load_home(store, "U1", is_approver=False)
    rendered = json.dumps(home.view(SEOUL, now=NOW).to_dict(), ensure_ascii=False)

    assert home.last_digest is not None and home.last_digest.day is None
    assert "Last digest* in <#C7>" in rendered and "1 issued (₩220,000)" in rendered
    assert "No digest yet" not in rendered
