"""The Hometax-style export layout, for a bookkeeping team that reconciles against Hometax.

Layout followed: the columns of Hometax's 전자(세금)계산서 목록조회 download (조회/발급 →
전자세금계산서 → 목록조회 → 엑셀 내려받기), in its order: 작성일자, 승인번호, 발급일자, 전송일자,
the supplier's and the buyer's 사업자등록번호 · 종사업장번호 · 상호 · 대표자명 · 주소, 합계금액,
공급가액, 세액, 전자세금계산서분류, 전자세금계산서종류, 비고, 영수/청구 구분, the e-mail
addresses, then the first line item's 품목일자 · 품목명 · 규격 · 수량 · 단가 · 공급가액 · 세액 · 비고
(Hometax's list shows one row per invoice with its first item). Hometax's title rows above
the header are left out, so a spreadsheet reads the first row as the header, as our own layout;
dates are ISO (YYYY-MM-DD), amounts plain integers in won.

What it lists: only what Hometax lists, e-tax invoices (세금계산서, 영세율, 계산서) that stand
issued; cancelled ones were cancelled before reaching the NTS, bills, cash receipts,
statements and Abillify invoices are not on Hometax's list. 전송일자 is left empty: we know
when the NTS accepted an invoice only as a state, not the date it was transmitted.
The headers are Hometax's own Korean words in every language: the layout is the point.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from commands.ledger import DocumentRecord
from commands.ledger.vocabulary import Standing, standing
from providers.models import DocumentKind, Party, Purpose, TaxType

__all__ = ["HOMETAX_COLUMNS", "HOMETAX_KINDS", "hometax_row", "in_hometax"]

HOMETAX_COLUMNS: tuple[str, ...] = (
    "작성일자", "승인번호", "발급일자", "전송일자",
    "공급자사업자등록번호", "공급자종사업장번호", "공급자상호", "공급자대표자명", "공급자주소",
    "공급받는자사업자등록번호", "공급받는자종사업장번호", "공급받는자상호", "공급받는자대표자명", "공급받는자주소",
    "합계금액", "공급가액", "세액", "전자세금계산서분류", "전자세금계산서종류", "비고", "영수/청구 구분",
    "공급자이메일", "공급받는자이메일1",
    "품목일자", "품목명", "품목규격", "품목수량", "품목단가", "품목공급가액", "품목세액", "품목비고",
)

#: the kinds on Hometax's e-tax invoice list: (분류, 종류)
HOMETAX_KINDS: Mapping[DocumentKind, tuple[str, str]] = {
    DocumentKind.TAX_INVOICE: ("세금계산서", "일반"),
    DocumentKind.ZERO_RATED_INVOICE: ("세금계산서", "영세율"),
    DocumentKind.EXEMPT_INVOICE: ("계산서", "일반"),
}
_PURPOSE = {Purpose.RECEIPT: "영수", Purpose.CHARGE: "청구"}


def in_hometax(doc: DocumentRecord) -> bool:
    """Whether Hometax's list would show `doc`: an issued e-tax invoice."""
    return doc.kind in HOMETAX_KINDS and standing(doc.lifecycle, doc.state) is Standing.ISSUED


def _party(party: Party | Any | None) -> list[Any]:
    """사업자등록번호, 종사업장번호, 상호, 대표자명, 주소 of a party (ours or a seller config)."""
    if party is None:
        return [None] * 5
    return [getattr(party, "bizno", None), None, getattr(party, "name", None),
            getattr(party, "ceo_name", None), getattr(party, "address", None)]


def _first_item(doc: DocumentRecord, write_date: dt.date | None) -> list[Any]:
    request = doc.issue_request()
    if request is None or not request.items:
        return [None] * 8
    item = request.items[0]
    tax_type: TaxType = doc.kind.tax_type
    return [write_date.isoformat() if write_date else None, item.name, item.spec,
            f"{item.quantity.normalize():f}", item.unit_price, item.supply_amount(), item.vat_amount(tax_type),
            item.remark]


def hometax_row(doc: DocumentRecord, tz: dt.tzinfo, seller: Any | None) -> Sequence[Any]:
    """One document as Hometax's list shows it (values, not yet CSV cells).

    `seller` is the provider's seller configuration, used when the request names no seller.
    """
    request = doc.issue_request()
    buyer = request.buyer if request is not None else None
    classification, kind = HOMETAX_KINDS[doc.kind]
    supplier = request.seller if request is not None and request.seller is not None else seller
    write = doc.write_date
    return [
        write.isoformat() if write else None,
        doc.confirm_number,
        doc.issued_at.astimezone(tz).date().isoformat() if doc.issued_at else None,
        None,  # 전송일자: not known (see the module docstring)
        *_party(supplier),
        *(_party(buyer) if buyer is not None else [doc.buyer_bizno, None, doc.buyer_name, None, None]),
        doc.total, doc.supply, doc.vat, classification, kind,
        request.memo if request is not None else None,
        _PURPOSE.get(request.purpose) if request is not None else None,
        getattr(supplier, "email", None),
        doc.buyer_email or (buyer.email if buyer is not None else None),
        *_first_item(doc, write),
    ]
