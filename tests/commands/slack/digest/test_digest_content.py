"""What the digest says, read from a seeded database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from slack_sdk.models.blocks import Block, ButtonElement, SectionBlock

from commands.ledger import ApprovalAction, ApprovalState, Lifecycle, Store
from commands.ledger import digest_queries as q
from commands.slack.digest import (
    MAX_DIGEST_BLOCKS,
    DigestData,
    build_digest_blocks,
    build_digest_data,
    digest_text,
    digest_window,
)
from commands.slack.ids import REMINDER_RESEND_ACTION_ID
from providers.models import BusinessState, BusinessStatus, DocumentKind, DocumentState, Provider
from tests.commands.slack.digest.seed import add_document, age_approval

SEOUL = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL).astimezone(dt.UTC)
TODAY = dt.date(2026, 3, 2)
SINCE = NOW - dt.timedelta(hours=24)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]  # serialising checks slack_sdk's limits


def text_of(blocks: list[Block]) -> str:
    return json.dumps(dicts(blocks), ensure_ascii=False)


async def seed_day(store: Store) -> dict[str, Any]:
    """A realistic day: issued documents, approvals, failures, unpaid bills, a closure change."""
    refs: dict[str, Any] = {}
    await add_document(store, Provider.POPBILL, total=1_100_000, issued_at=NOW - 3 * H, sandbox=True)
    await add_document(store, Provider.POPBILL, total=134_500, issued_at=NOW - 2 * H, sandbox=True)
    await add_document(store, Provider.POPBILL, total=9_999_999, issued_at=NOW - 3 * D)  # before the window
    refs["expiring"] = await add_document(store, Provider.PAYSSAM, state=DocumentState.UNPAID, total=55_000,
                                          issued_at=NOW - 5 * H, due_date=TODAY + dt.timedelta(days=2))
    await add_document(store, Provider.PAYSSAM, state=DocumentState.UNPAID, total=77_000,
                       issued_at=NOW - 3 * D, due_date=TODAY + dt.timedelta(days=10))
    refs["overdue_bill"] = await add_document(store, Provider.PAYSSAM, state=DocumentState.UNPAID, total=33_000,
                                              issued_at=NOW - 8 * D, due_date=TODAY - dt.timedelta(days=1))
    refs["overdue_invoice"] = await add_document(store, Provider.ABILLIFY, state=DocumentState.UNPAID,
                                                 total=12_345, currency="EUR", issued_at=NOW - 4 * H,
                                                 due_date=TODAY - dt.timedelta(days=3))
    refs["filing_failed"] = await add_document(store, Provider.POPBILL, state=DocumentState.FILING_FAILED,
                                               issued_at=NOW - 3 * D, updated_at=NOW - 2 * H,
                                               detail="NTS filing failed: SYN002")
    await add_document(store, Provider.POPBILL, state=DocumentState.FILING_FAILED, issued_at=NOW - 9 * D,
                       updated_at=NOW - 8 * D)  # an old failure, reported before
    refs["failed"] = await add_document(store, Provider.HIWORKS, state=None, lifecycle=Lifecycle.FAILED,
                                        created_at=NOW - H, last_error="hiworks: [400] invalid buyer e-mail")
    refs["unknown"] = await add_document(store, Provider.ABILLIFY, state=None,
                                         lifecycle=Lifecycle.OUTCOME_UNKNOWN, created_at=NOW - 5 * D)
    await add_document(store, Provider.POPBILL, buyer_name="Closed Co", buyer_bizno="1231212312",
                       issued_at=NOW - 20 * D)
    for age, requester in ((3 * H, "U7"), (30 * dt.timedelta(minutes=1), "U8")):
        doc = await add_document(store, Provider.POPBILL, state=None, lifecycle=Lifecycle.PENDING_APPROVAL,
                                 created_at=NOW - age)
        approval = await store.approvals.create(action=ApprovalAction.ISSUE, document_id=doc.id,
                                                requester=requester, now=NOW - age)
        await age_approval(store, approval.id, NOW - age)
        refs.setdefault("approvals", []).append(approval.id)
    done = await add_document(store, Provider.POPBILL, state=None, lifecycle=Lifecycle.PENDING_APPROVAL)
    await store.approvals.create(action=ApprovalAction.ISSUE, document_id=done.id, requester="U9",
                                 state=ApprovalState.APPROVED, now=NOW - H)
    await store.closures.record([BusinessStatus(bizno="1231212312", state=BusinessState.ACTIVE, raw_state="1")],
                                provider=Provider.POPBILL, checked_by="sweep", now=NOW - 3 * D)
    await store.closures.record([BusinessStatus(bizno="1231212312", state=BusinessState.CLOSED, raw_state="3")],
                                provider=Provider.POPBILL, checked_by="sweep", now=NOW - H)
    await store.closures.record([BusinessStatus(bizno="2208875476", state=BusinessState.ACTIVE, raw_state="1")],
                                provider=Provider.POPBILL, checked_by="sweep", now=NOW - H)
    await store.audit.record(actor="sweep", action="system", operation=q.SWEEP_AUDIT_OPERATION, outcome="partial",
                             detail={"checked": 10, "changed": 1,
                                     "unreachable": {"hiworks": "ProviderUnavailable: hiworks: read timeout"}},
                             now=NOW - 30 * dt.timedelta(minutes=1))
    return refs


async def test_digest_matches_the_seeded_database(store: Store) -> None:
    refs = await seed_day(store)

    data = await build_digest_data(store, now=NOW, since=SINCE, tz=SEOUL, expiring_days=3,
                                   sandbox_providers={Provider.POPBILL})

    assert data.issued_count == 4  # 2 Popbill, 1 Payssam, 1 Abillify; the older ones are not "since"
    assert data.issued_totals() == {"KRW": 1_100_000 + 134_500 + 55_000, "EUR": 12_345}
    assert data.pending.count == 2
    assert [a.id for a in data.pending.rows] == refs["approvals"]  # oldest first
    assert {k: v.count for k, v in data.failures.items()} == {
        "filing_failed": 1, "provider_error": 1, "outcome_unknown": 1}
    assert data.failures["filing_failed"].rows[0].ref == refs["filing_failed"].ref
    assert data.unpaid_payssam.count == 3
    assert data.unpaid_payssam.totals == {"KRW": 55_000 + 77_000 + 33_000}
    assert [r.ref for r in data.expiring_payssam.rows] == [refs["expiring"].ref]
    assert data.unpaid_abillify.count == 1
    assert [r.ref for r in data.overdue.rows] == [refs["overdue_invoice"].ref, refs["overdue_bill"].ref]
    [change] = data.closure_changes.rows
    assert (change.bizno, change.buyer_name, change.previous, change.current) == (
        "1231212312", "Closed Co", BusinessState.ACTIVE, BusinessState.CLOSED)
    assert data.unreachable == {"hiworks": "ProviderUnavailable: hiworks: read timeout"}
    assert data.daily_krw[Provider.POPBILL][TODAY] == 1_234_500
    assert data.daily_krw[Provider.POPBILL][dt.date(2026, 2, 27)] == 9_999_999 + 110_000  # with the NTS failure
    assert not data.quiet

    blocks = build_digest_blocks(data, SEOUL)
    rendered = text_of(blocks)
    assert len(blocks) <= MAX_DIGEST_BLOCKS
    assert "Invoicing digest · 2026-03-02 (Mon)" in rendered
    assert "₩1,234,500" in rendered  # Popbill's two documents, formatted as a Korean finance team expects
    assert "€123.45" in rendered
    assert "Popbill 🧪 SANDBOX" in rendered
    assert "Waiting for approval (2)" in rendered and "waiting 3 h" in rendered
    assert "NTS filing failed: SYN002" in rendered
    assert "hiworks: [400] invalid buyer e-mail" in rendered
    assert "Outcome unknown" in rendered
    assert "1 expiring within 3 days" in rendered
    assert "123-12-12312 Closed Co" in rendered and "closed (폐업)" in rendered
    assert "Could not reach" in rendered and "Hiworks" in rendered and "read timeout" in rendered
    buttons = [b.accessory for b in blocks if isinstance(b, SectionBlock) and isinstance(b.accessory, ButtonElement)]
    assert [(b.action_id, b.value) for b in buttons] == [
        (REMINDER_RESEND_ACTION_ID, refs["overdue_invoice"].ref), (REMINDER_RESEND_ACTION_ID, refs["overdue_bill"].ref)]
    fallback = digest_text(data, SEOUL)
    assert fallback.startswith("Invoicing digest 2026-03-02 (SANDBOX): 4 issued (₩1,289,500 + €123.45)")
    assert "2 waiting for approval" in fallback and "3 need attention" in fallback


async def test_a_quiet_day_says_so_in_one_line(store: Store) -> None:
    data = await build_digest_data(store, now=NOW, since=SINCE, tz=SEOUL)

    blocks = build_digest_blocks(data, SEOUL)

    assert data.quiet
    assert len(blocks) == 3  # header, window, one line
    assert "Quiet day" in text_of(blocks[2:])
    assert digest_text(data, SEOUL) == "Invoicing digest 2026-03-02: Quiet day"


async def test_the_window_starts_at_the_last_posted_digest(store: Store) -> None:
    assert await digest_window(store, "C1", NOW) == NOW - dt.timedelta(hours=24)

    yesterday = TODAY - dt.timedelta(days=1)
    assert await store.claim_digest_run("C1", yesterday, "test")
    await store.digests.finish_run("C1", yesterday, message_ts="1.2", summary={}, now=NOW - 25 * H)
    assert await store.claim_digest_run("C1", TODAY, "test")  # today's claim, not yet posted

    assert await digest_window(store, "C1", NOW) == NOW - 25 * H
    assert await digest_window(store, "C2", NOW) == NOW - dt.timedelta(hours=24)


def _row(i: int, provider: Provider = Provider.PAYSSAM) -> q.DocumentRow:
    return q.DocumentRow(
        id=i, ref=f"INV-{i:06d}", provider=provider, kind=DocumentKind.BILL, sandbox=i % 2 == 0,
        buyer_name="가" * 300, buyer_bizno=None, total=1_000 * i, currency="KRW", lifecycle=Lifecycle.ISSUED,
        state=DocumentState.UNPAID, raw_state="W", detail="x" * 5000, due_date=TODAY - dt.timedelta(days=2),
        issued_at=NOW, created_at=NOW, updated_at=NOW, requested_by="U1",
    )


def test_long_lists_are_cut_with_and_n_more_and_fit_in_50_blocks() -> None:
    rows = tuple(_row(i) for i in range(1, 11))
    big = q.Listing(count=5000, rows=rows, totals={"KRW": 123_456_789})
    approvals = q.Listing(count=900, rows=tuple(
        q.ApprovalRow(id=i, action="issue", requester="U1", created_at=NOW - 3 * D, expires_at=None,
                      document=_row(i, Provider.POPBILL)) for i in range(1, 11)))
    changes = q.Listing(count=300, rows=tuple(
        q.ClosureChangeRow(bizno=f"{1000000000 + i}", buyer_name="n" * 500, previous=BusinessState.ACTIVE,
                           current=BusinessState.CLOSED, state_date=TODAY, checked_at=NOW) for i in range(10)))
    data = DigestData(
        now=NOW, since=SINCE, pending=approvals,
        failures={"filing_failed": big, "provider_error": big, "outcome_unknown": big},
        unpaid_payssam=big, expiring_payssam=big, unpaid_abillify=big, overdue=big, closure_changes=changes,
        unreachable={p.value: "y" * 1000 for p in Provider}, sandbox_providers=frozenset(Provider),
    )

    blocks = build_digest_blocks(data, SEOUL)
    serialised = dicts(blocks)

    assert len(blocks) <= MAX_DIGEST_BLOCKS
    rendered = json.dumps(serialised, ensure_ascii=False)
    assert "…and 890 more" in rendered  # approvals
    assert "…and 4990 more" in rendered  # overdue, failures
    assert "…and 290 more" in rendered  # closure changes
    for block in serialised:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000


def test_provider_lines_of_sandbox_providers_are_marked() -> None:
    data = DigestData(now=NOW, since=SINCE, unpaid_payssam=q.Listing(count=2, totals={"KRW": 20_000}),
                      sandbox_providers=frozenset({Provider.PAYSSAM}))

    rendered = text_of(build_digest_blocks(data, SEOUL))

    assert "Payssam (결제선생) 🧪 SANDBOX: 2 unpaid bills · ₩20,000" in rendered
    assert "🧪 *SANDBOX*: Payssam — no real documents" in rendered


async def test_issued_and_cancelled_are_counted_apart(store: Store) -> None:
    # issued in the window, then cancelled at the provider: cancelled, not issued (the old
    # digest filtered by lifecycle and counted it, and a destroyed one, as issued)
    await add_document(store, Provider.POPBILL, total=220_000, issued_at=NOW - 5 * H)
    await add_document(store, Provider.POPBILL, total=330_000, state=DocumentState.CANCELED, issued_at=NOW - 5 * H,
                       updated_at=NOW - 2 * H)
    await add_document(store, Provider.HIWORKS, total=440_000, state=DocumentState.DESTROYED,
                       lifecycle=Lifecycle.DESTROYED, issued_at=NOW - 3 * D, updated_at=NOW - H)
    await add_document(store, Provider.PAYSSAM, total=550_000, state=DocumentState.DELETED,
                       issued_at=NOW - 9 * D, updated_at=NOW - 9 * D)  # cancelled long before the window

    data = await build_digest_data(store, now=NOW, since=SINCE, tz=SEOUL)

    assert (data.issued_count, data.issued_totals()) == (1, {"KRW": 220_000})
    assert (data.cancelled_count, data.cancelled_totals()) == (2, {"KRW": 330_000 + 440_000})
    assert data.daily_krw[Provider.POPBILL][TODAY] == 220_000  # the chart follows the issued rule
    assert data.summary()["cancelled"] == 2
    rendered = text_of(build_digest_blocks(data, SEOUL))
    assert "Issued in this window (still live):* 1 document · ₩220,000" in rendered
    assert "Cancelled or deleted in this window:* 2 documents · ₩770,000" in rendered
    assert "2 cancelled" in digest_text(data, SEOUL)


async def test_a_channels_digest_shows_only_the_requests_made_in_that_channel(store: Store) -> None:
    for channel, requester in (("C_FIN", "U7"), ("C_OPS", "U8")):
        doc = await add_document(store, Provider.POPBILL, state=None, lifecycle=Lifecycle.PENDING_APPROVAL,
                                 created_at=NOW - H, channel_id=channel)
        await store.approvals.create(action=ApprovalAction.ISSUE, document_id=doc.id, requester=requester,
                                     origin_channel_id=channel, now=NOW - H)

    finance = await build_digest_data(store, now=NOW, since=SINCE, tz=SEOUL, scope_channel="C_FIN", chart=False)
    everywhere = await build_digest_data(store, now=NOW, since=SINCE, tz=SEOUL, chart=False)

    assert [a.requester for a in finance.pending.rows] == ["U7"] and finance.pending.count == 1
    assert everywhere.pending.count == 2


async def test_a_digest_reads_on_one_connection(store: Store) -> None:
    # issue 14: a connection per statement (about 24) cost PostgreSQL four round trips a statement
    await add_document(store, Provider.PAYSSAM, state=DocumentState.UNPAID, issued_at=NOW - dt.timedelta(hours=1),
                       due_date=dt.date(2026, 3, 1))
    checkouts: list[object] = []

    def checkout(*_args: object) -> None:
        checkouts.append(_args)

    sa.event.listen(store.engine.sync_engine.pool, "checkout", checkout)
    try:
        data = await build_digest_data(store, now=NOW, since=SINCE, tz=SEOUL)
    finally:
        sa.event.remove(store.engine.sync_engine.pool, "checkout", checkout)

    assert data.overdue.count == 1 and data.issued_count == 1
    assert len(checkouts) == 1
