"""The CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from providers.errors import (
    RequestInvalid,
)
from tests.commands.workflow.conftest import (
    CHANNEL,
    REQUESTER,
    Env,
    issue,
    make_draft,
)


async def test_export_csv_opens_in_excel_with_korean_and_no_formulas(env: Env) -> None:
    await issue(env)  # 2024-05-01 09:00 KST
    await env.service.request_issue(make_draft(buyer_name="=HYPERLINK(\"x\")"), REQUESTER, CHANNEL)
    env.clock.advance(days=1)
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)  # the next day: outside


    data = await env.service.export_csv(dt.date(2024, 5, 1), dt.date(2024, 5, 1))


    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["ref", "provider", "kind", "provider_id", "buyer", "bizno", "supply", "vat", "total",
                       "currency", "state", "raw_state", "issued_at", "requested_by"]
    assert rows[1] == ["INV-000001", "popbill", "tax_invoice", "INV-000001", "주식회사 가나다", "6798700433",
                       "100000", "10000", "110000", "KRW", "issued", "300", "2024-05-02T10:00:00+09:00", REQUESTER]
    assert rows[2][0] == "INV-000002" and rows[2][4] == "'=HYPERLINK(\"x\")" and rows[2][10] == "pending_approval"
    assert len(rows) == 3
    with pytest.raises(RequestInvalid):
        await env.service.export_csv(dt.date(2024, 5, 2), dt.date(2024, 5, 1))
