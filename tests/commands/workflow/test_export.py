"""The CSV export: documents written in the range that stand issued or cancelled."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from commands.i18n import use_locale
from commands.ledger import write_engine
from commands.ledger.schema import documents
from commands.workflow.export import (
    CSV_COLUMNS,
    ExportLayout,
    csv_header,
    export_file_name,
    export_rows,
    export_scope,
)
from commands.workflow.hometax import HOMETAX_COLUMNS
from providers.errors import (
    RequestInvalid,
)
from providers.models import DocumentKind, DocumentState, Provider
from tests.commands.workflow.conftest import (
    APPROVER,
    CHANNEL,
    REQUESTER,
    Env,
    issue,
    make_draft,
)


async def test_export_csv_opens_in_excel_with_korean_and_no_formulas(env: Env) -> None:
    await issue(env)  # written 2024-05-01, issued 2024-05-02 10:00 KST
    await issue(env, buyer_name="=HYPERLINK(\"x\")")
    # a request that never became a document is not in a tax export (the old export, by
    # creation time, listed it with state "pending_approval")
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    env.clock.advance(days=1)
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)

    data = await env.service.export_csv(dt.date(2024, 5, 1), dt.date(2024, 5, 1))

    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(CSV_COLUMNS)  # the first row stays the header: spreadsheets read the columns
    assert rows[0] == ["write_date", "issued_at", "ref", "provider", "kind", "standing", "state", "raw_state",
                       "provider_id", "nts_confirm_number", "buyer", "bizno", "supply", "vat", "total", "currency",
                       "items", "requested_by", "amends", "modify_code"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["write_date"] == "2024-05-01" and first["issued_at"] == "2024-05-02T10:00:00+09:00"
    assert (first["ref"], first["standing"], first["state"], first["raw_state"]) == (
        "INV-000001", "issued", "issued", "300")
    assert (first["provider_id"], first["buyer"], first["bizno"]) == ("INV-000001", "주식회사 가나다", "6798700433")
    assert (first["supply"], first["vat"], first["total"], first["currency"]) == ("100000", "10000", "110000", "KRW")
    assert first["items"] == "컨설팅 × 1 @ 100000 = 100000" and first["requested_by"] == REQUESTER
    assert rows[2][2] == "INV-000002" and rows[2][10] == "'=HYPERLINK(\"x\")"
    assert [r[2] for r in export_rows(data)] == ["INV-000001", "INV-000002"]
    assert len(rows) == 3  # the header and one row per document, nothing a spreadsheet would sum by mistake
    with pytest.raises(RequestInvalid):
        await env.service.export_csv(dt.date(2024, 5, 2), dt.date(2024, 5, 1))


async def test_export_is_by_write_date_and_keeps_cancelled_documents(env: Env) -> None:
    ref = await issue(env)
    async with write_engine(env.store.engine).begin() as conn:  # cancelled at the provider since
        await conn.execute(sa.update(documents).where(documents.c.ref == ref)
                           .values(state=DocumentState.CANCELED.value, raw_state="-99"))
    april = make_draft().model_copy(update={"write_date": dt.date(2024, 4, 30)})
    approval = await env.service.request_issue(april, REQUESTER, CHANNEL)
    await env.service.decide(approval.id, APPROVER, approve=True)

    may = export_rows(await env.service.export_csv(dt.date(2024, 5, 1), dt.date(2024, 5, 31)))
    april_rows = export_rows(await env.service.export_csv(dt.date(2024, 4, 1), dt.date(2024, 4, 30)))

    # the cancelled document stays listed, as cancelled; the one written in April is not in May
    assert [(r[2], r[5], r[6], r[7]) for r in may] == [(ref, "cancelled", "canceled", "-99")]
    assert [(r[0], r[2]) for r in april_rows] == [("2024-04-30", approval.document.ref)]


def test_the_file_name_and_scope_say_what_the_export_includes() -> None:
    start, end = dt.date(2024, 5, 1), dt.date(2024, 5, 17)
    assert export_file_name(start, end) == "invoices-written-2024-05-01-to-2024-05-17-issued-cancelled.csv"
    assert export_scope(start, end) == ("Documents written (작성일자) from 2024-05-01 to 2024-05-17, issued and "
                                        "cancelled only (no pending, rejected, expired or failed requests)")


async def test_korean_readers_get_korean_headers_with_the_bom_and_formula_guard(env: Env) -> None:
    await issue(env, buyer_name="=SUM(A1)")
    with use_locale("ko"):
        data = await env.service.export_csv(dt.date(2024, 5, 1), dt.date(2024, 5, 1))
    assert data.startswith(b"\xef\xbb\xbf")
    header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for word in ("작성일자", "발행일자", "국세청 승인번호", "공급가액", "세액", "합계", "품목"):
        assert word in header, word
    assert len(header) == len(CSV_COLUMNS) and row[10] == "'=SUM(A1)"
    assert csv_header() == list(CSV_COLUMNS)  # English stays the column ids


async def test_the_hometax_layout_lists_issued_e_tax_invoices_in_hometaxs_columns(env: Env) -> None:
    tax = await issue(env)
    await issue(env, provider=Provider.PAYSSAM, kind=DocumentKind.BILL)  # not on Hometax's list
    cancelled = await issue(env, buyer_name="+취소될 회사")
    async with write_engine(env.store.engine).begin() as conn:
        await conn.execute(sa.update(documents).where(documents.c.ref == cancelled)
                           .values(state=DocumentState.CANCELED.value))
        await conn.execute(sa.update(documents).where(documents.c.ref == tax).values(confirm_number="20240501-4100"))
    await issue(env, buyer_name="=HYPERLINK(\"x\")", kind=DocumentKind.ZERO_RATED_INVOICE)

    data = await env.service.export_csv(dt.date(2024, 5, 1), dt.date(2024, 5, 31), layout=ExportLayout.HOMETAX)

    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(HOMETAX_COLUMNS)
    assert rows[0][:4] == ["작성일자", "승인번호", "발급일자", "전송일자"]
    first, zero = (dict(zip(rows[0], r, strict=True)) for r in rows[1:])
    assert len(rows) == 3  # the bill and the cancelled invoice are not on Hometax's list
    assert (first["작성일자"], first["승인번호"], first["발급일자"]) == ("2024-05-01", "20240501-4100", "2024-05-02")
    assert (first["공급받는자상호"], first["공급받는자사업자등록번호"]) == ("주식회사 가나다", "6798700433")
    assert (first["합계금액"], first["공급가액"], first["세액"]) == ("110000", "100000", "10000")
    assert (first["전자세금계산서분류"], first["전자세금계산서종류"]) == ("세금계산서", "일반")
    assert first["품목명"] == "컨설팅"
    assert first["영수/청구 구분"] == "청구"
    assert (zero["전자세금계산서종류"], zero["세액"]) == ("영세율", "0")
    assert zero["공급받는자상호"] == "'=HYPERLINK(\"x\")"
    assert export_file_name(dt.date(2024, 5, 1), dt.date(2024, 5, 31), ExportLayout.HOMETAX).startswith("hometax-")
