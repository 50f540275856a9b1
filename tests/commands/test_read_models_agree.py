"""Every read model tells the same story about the same database (issue 8, item 3).

One day is seeded across the four providers with a document in every situation (issued,
paid, unpaid, an expired bill, cancelled, deleted, destroyed, issued then cancelled,
rejected, pending, failed, outcome unknown, an expired request, and an old issued one
outside the window). Then every surface is built from that database: status (workflow +
Block Kit), list (workflow + Block Kit), App Home, the digest (data, blocks and text), the
export CSV and the chart data. For every document, every surface that shows it must give
the label of `document_label` (the one reading of `standing()`), and the totals must agree:
the digest's issued total per currency is the sum of the export's issued rows issued in the
window and (in KRW) the chart's; the cancelled, failed and pending counts match the
documents' standings. Runs on SQLite and PostgreSQL (the `store` fixture).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from slack_sdk.models.blocks import Block

from commands.ledger import ApprovalAction, DocumentRecord, Lifecycle, Standing, Store, standing, write_engine
from commands.ledger.schema import documents
from commands.slack.blocks import build_list_message, build_status_message, status_text
from commands.slack.cards import document_card
from commands.slack.digest import build_digest_blocks, build_digest_data, digest_text
from commands.slack.formatting import document_label
from commands.slack.home import load_home
from commands.workflow import InvoiceService
from providers.models import DocumentState, Provider
from tests.commands.slack.digest.seed import add_document, age_approval

SEOUL = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 3, 2, 18, 0, tzinfo=SEOUL).astimezone(dt.UTC)
TODAY = dt.date(2026, 3, 2)
SINCE = NOW - dt.timedelta(hours=24)
H = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Case:
    name: str
    provider: Provider
    lifecycle: Lifecycle
    state: DocumentState | None
    total: int
    currency: str = "KRW"
    issued_hours_ago: float | None = None  # None: never issued
    requester: str = "U1"


CASES = (
    Case("issued", Provider.POPBILL, Lifecycle.ISSUED, DocumentState.SENT, 330_000, issued_hours_ago=5),
    Case("filed", Provider.HIWORKS, Lifecycle.ISSUED, DocumentState.FILED, 220_000, issued_hours_ago=6),
    Case("paid", Provider.PAYSSAM, Lifecycle.ISSUED, DocumentState.PAID, 55_000, issued_hours_ago=4),
    Case("unpaid_eur", Provider.ABILLIFY, Lifecycle.ISSUED, DocumentState.UNPAID, 12_345, "EUR", 3),
    Case("bill_expired", Provider.PAYSSAM, Lifecycle.ISSUED, DocumentState.EXPIRED, 44_000, issued_hours_ago=7),
    Case("issued_then_cancelled", Provider.POPBILL, Lifecycle.ISSUED, DocumentState.CANCELED, 770_000,
         issued_hours_ago=8),
    Case("deleted", Provider.HIWORKS, Lifecycle.ISSUED, DocumentState.DELETED, 66_000, issued_hours_ago=9),
    Case("destroyed", Provider.ABILLIFY, Lifecycle.DESTROYED, DocumentState.DESTROYED, 88_000, issued_hours_ago=2),
    Case("rejected", Provider.POPBILL, Lifecycle.REJECTED, None, 99_000, requester="U2"),
    Case("pending", Provider.PAYSSAM, Lifecycle.PENDING_APPROVAL, None, 11_000, requester="U2"),
    Case("failed", Provider.HIWORKS, Lifecycle.FAILED, None, 33_000, requester="U2"),
    Case("unknown", Provider.ABILLIFY, Lifecycle.OUTCOME_UNKNOWN, None, 77_000, requester="U2"),
    Case("request_expired", Provider.POPBILL, Lifecycle.EXPIRED, None, 22_000, requester="U2"),
    Case("old_issued", Provider.POPBILL, Lifecycle.ISSUED, DocumentState.SENT, 1_000_000, issued_hours_ago=72,
         requester="U3"),
)


async def seed(store: Store) -> dict[str, DocumentRecord]:
    docs: dict[str, DocumentRecord] = {}
    for case in CASES:
        issued_at = NOW - case.issued_hours_ago * H if case.issued_hours_ago is not None else None
        created = (issued_at or NOW - 2 * H) - H
        gone = standing(case.lifecycle, case.state) is Standing.CANCELLED
        doc = await add_document(
            store, case.provider, state=case.state, lifecycle=case.lifecycle, total=case.total,
            currency=case.currency, issued_at=issued_at, created_at=created,
            updated_at=NOW - H if gone else created, buyer_name=f"Buyer {case.name}", requested_by=case.requester,
            provider_id=None if issued_at is None else f"{case.provider.value}-{case.name}",
        )
        written = (issued_at or created).astimezone(SEOUL).date()
        async with write_engine(store.engine).begin() as conn:
            await conn.execute(sa.update(documents).where(documents.c.id == doc.id).values(write_date=written))
        if case.lifecycle is Lifecycle.PENDING_APPROVAL:
            approval = await store.approvals.create(action=ApprovalAction.ISSUE, document_id=doc.id,
                                                    requester=case.requester, now=created)
            await age_approval(store, approval.id, created)
        found = await store.documents.get(doc.id)
        assert found is not None
        docs[case.name] = found
    return docs


def text_of(blocks: list[Block]) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


def lines_with(text: str, ref: str) -> list[str]:
    """The rendered lines (split on JSON-escaped and real newlines) that mention `ref`."""
    return [line for line in re.split(r"\\n|\n|\"text\": ", text) if re.search(rf"\b{re.escape(ref)}\b", line)]


def labels_seen(text: str, ref: str) -> set[str]:
    """Which document labels the lines about `ref` carry (any label of any situation)."""
    every = {document_label(c.lifecycle, c.state) for c in CASES} | {document_label(lc, None) for lc in Lifecycle}
    return {label for line in lines_with(text, ref) for label in every if label in line}


async def surfaces(store: Store) -> dict[str, Any]:
    """Build every read model from the one database."""
    service = InvoiceService(store, {}, is_approver=lambda _user: True, clock=lambda: NOW)
    status_texts = {}
    for doc in (await service.list_documents(limit=100)):
        view = await service.status(doc.ref, refresh=False)
        card = document_card(view)
        status_texts[doc.ref] = status_text(card) + text_of(build_status_message(card, SEOUL))
    listed = [document_card(v) for v in await service.list_documents(limit=100)]
    homes = ""
    for user in ("U1", "U2", "U3"):
        home = await load_home(store, user, is_approver=True)
        homes += json.dumps(home.view(SEOUL, now=NOW).to_dict(), ensure_ascii=False)
    data = await build_digest_data(store, now=NOW, since=SINCE, tz=SEOUL)
    export = await service.export_csv(TODAY - dt.timedelta(days=7), TODAY)
    rows = list(csv.DictReader(io.StringIO(export.decode("utf-8-sig"))))
    return {
        "status": status_texts,
        "list": text_of(build_list_message(listed, tz=SEOUL)),
        "home": homes,
        "digest": data,
        "digest_text": text_of(build_digest_blocks(data, SEOUL)) + digest_text(data, SEOUL),
        "export": rows,
    }


async def test_every_surface_gives_every_document_the_same_label_and_totals(store: Store) -> None:
    docs = await seed(store)
    seen = await surfaces(store)
    by_ref = {doc.ref: doc for doc in docs.values()}
    export = {row["ref"]: row for row in seen["export"]}

    for name, doc in docs.items():
        label = document_label(doc.lifecycle, doc.state)
        where = standing(doc.lifecycle, doc.state)
        assert labels_seen(seen["status"][doc.ref], doc.ref) == {label}, (name, "status")
        assert labels_seen(seen["list"], doc.ref) == {label}, (name, "list")
        assert labels_seen(seen["home"], doc.ref) == {label}, (name, "App Home")
        in_digest = labels_seen(seen["digest_text"], doc.ref)
        assert in_digest <= {label}, (name, "digest", in_digest)
        if where in (Standing.ISSUED, Standing.CANCELLED):
            assert export[doc.ref]["standing"] == where.value, (name, "export")
            assert export[doc.ref]["state"] == (doc.state.value if doc.state else ""), (name, "export state")
        else:
            assert doc.ref not in export, (name, "a request that never became a document is not exported")
    assert set(export) <= set(by_ref)

    data = seen["digest"]
    in_window = [r for r in seen["export"] if r["standing"] == Standing.ISSUED.value
                 and SINCE <= dt.datetime.fromisoformat(r["issued_at"]) < NOW]
    export_totals: Counter[str] = Counter()
    for row in in_window:
        export_totals[row["currency"]] += int(row["total"])
    assert data.issued_totals() == dict(export_totals)
    assert data.issued_count == len(in_window)
    chart_krw = sum(day.get(TODAY, 0) for day in data.daily_krw.values())
    assert chart_krw == data.issued_totals()["KRW"]

    standings = Counter(standing(d.lifecycle, d.state) for d in docs.values())
    assert data.cancelled_count == standings[Standing.CANCELLED] == 3  # issued then cancelled, deleted, destroyed
    assert data.failed_count == standings[Standing.FAILED] + standings[Standing.UNKNOWN] == 2
    assert data.pending.count == standings[Standing.PENDING] == 1
    summary = data.summary()
    assert (summary["issued"], summary["cancelled"], summary["failed"], summary["pending"]) == (
        data.issued_count, data.cancelled_count, data.failed_count, data.pending.count)


async def test_listing_by_standing_finds_exactly_the_documents_labelled_so(store: Store) -> None:
    docs = await seed(store)
    service = InvoiceService(store, {}, is_approver=lambda _user: True, clock=lambda: NOW)

    for where in Standing:
        listed = {view.ref for view in await service.list_documents(standing=where, limit=100)}
        expected = {d.ref for d in docs.values() if standing(d.lifecycle, d.state) is where}
        assert listed == expected, where
