"""The digest's "Deadlines" section: a day with only a deadline at stake is not a quiet day."""

from __future__ import annotations

import datetime as dt
import json

from commands.ledger.digest_queries.deadlines import DeadlineRow
from commands.ledger.vocabulary import Lifecycle
from commands.slack.digest import DigestData, build_digest_blocks, digest_text
from commands.slack.formatting import SEOUL
from commands.workflow.deadlines import DeadlineEntry, DeadlineReport, issue_note
from providers.models import DocumentKind, Provider

NOW = dt.datetime(2026, 3, 6, 1, 0, tzinfo=dt.UTC)


def report() -> DeadlineReport:
    row = DeadlineRow(id=1, ref="INV-000009", provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, sandbox=False,
                      buyer_name="가나다", supply=500_000, total=550_000, currency="KRW",
                      lifecycle=Lifecycle.FAILED, state=None, write_date=dt.date(2026, 1, 5), issued_at=None,
                      requested_by="U_ALICE")
    note = issue_note(dt.date(2026, 1, 5), 500_000, dt.date(2026, 3, 6))
    return DeadlineReport(today=dt.date(2026, 3, 6), within_days=5, unissued=(DeadlineEntry(row, note),))


def test_a_deadline_alone_makes_the_digest_speak() -> None:
    data = DigestData(now=NOW, since=NOW - dt.timedelta(days=1), deadlines=report())
    assert not data.quiet
    text = json.dumps([b.to_dict() for b in build_digest_blocks(data, SEOUL)], ensure_ascii=False)
    assert "Deadlines" in text and "INV-000009" in text and "₩5,000" in text and "Quiet day" not in text
    assert data.summary()["deadlines"] == 1 and data.summary()["deadline_penalties"] == 5_000
    assert "1 near or past a tax deadline" in digest_text(data, SEOUL)


def test_no_deadlines_no_section() -> None:
    data = DigestData(now=NOW, since=NOW - dt.timedelta(days=1),
                      deadlines=DeadlineReport(today=dt.date(2026, 3, 6), within_days=5))
    assert data.quiet
    assert "Deadlines" not in json.dumps([b.to_dict() for b in build_digest_blocks(data, SEOUL)])
