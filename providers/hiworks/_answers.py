"""Hiworks' answers read into the bot's models: approval and NTS states, document status, closure."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from providers.hiworks.models import (
    BusinessCheck,
    InvoiceDetail,
)
from providers.models import (
    KST,
    Amounts,
    BusinessState,
    BusinessStatus,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    StatusEvent,
)

__all__ = [
    "NTS_CODES",
    "business_status",
    "document_status",
    "normalize_state",
]




_APPROVAL = {
    "W": "approval not requested yet",
    "T": "approval requested from the buyer",
    "R": "the buyer opened the approval request",
    "S": "approved by the buyer",
    "B": "refused by the buyer",
}


_DECLARE = {
    "0": "not sent to the NTS yet",
    "1": "sending to the NTS",
    "2": "sent to the NTS, waiting for the result",
    "3": "sending to the NTS failed",
    "4": "accepted by the NTS",
    "5": "transmission to the NTS failed",
}


#: NTS result codes (국세청 전송 결과 상태 코드) from the Postman "Status" data type.
NTS_CODES = {
    "SUC001": "accepted",
    "SYN001": "decryption failed",
    "SYN002": "invalid supplier signature",
    "SYN003": "duplicate approval number",
    "SYN004": "invalid e-tax invoice schema",
    "ERR001": "supplier business number not registered with the NTS",
    "ERR002": "buyer business or resident number not registered with the NTS",
    "ERR003": "trustee business number not registered with the NTS",
    "ERR004": "invalid transmission time",
    "ERR005": "invalid issue time",
    "ERR006": "invalid write date",
    "ERR007": "supply amount or tax is wrong (sign, zero-rated/exempt with tax, or VAT not 10%)",
    "ERR008": "invalid type, business number kind or amendment code",
    "ERR009": "issued after the supplier closed the business",
    "ERR010": "NTS registration number mismatch",
    "ERR011": "wrong original approval number",
    "ERR999": "other NTS error",
    "SYS001": "the issuing system is not approved by the NTS",
    "SYS002": "duplicate submission id",
    "SYS003": "unknown submission id",
    "WSM001": "SOAP communication error",
    "WSM002": "SOAP message structure error",
    "WSM003": "SOAP signature error",
}


_CLOSURE = {"01": BusinessState.ACTIVE, "02": BusinessState.SUSPENDED, "03": BusinessState.CLOSED}


_TAX_TYPES = {
    "01": "general taxable (부가가치세 일반과세자)",
    "02": "simplified taxable (부가가치세 간이과세자)",
    "03": "special taxable (부가가치세 과세특례자)",
    "04": "VAT exempt (부가가치세 면세사업자)",
    "05": "non-profit or public body (비영리법인, 국가기관 등)",
    "06": "organisation with a unique number (고유번호 단체)",
    "07": "simplified taxable issuing tax invoices (간이과세자, 세금계산서 발급사업자)",
}


def normalize_state(approval: str, declare: str) -> DocumentState:
    """One normalized state from Hiworks' two status codes (see the module docstring)."""
    if declare == "4":
        return DocumentState.FILED
    if declare in ("3", "5"):
        return DocumentState.FILING_FAILED
    if declare in ("1", "2"):
        return DocumentState.FILING
    if declare not in ("0", ""):
        return DocumentState.UNKNOWN
    if approval == "B":
        return DocumentState.CANCELED
    if approval in ("T", "R", "S"):
        return DocumentState.SENT
    if approval == "W":
        return DocumentState.ISSUED
    return DocumentState.UNKNOWN


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _created_at(document_id: str) -> dt.datetime | None:
    text = document_id[:14]
    try:
        if len(text) == 14 and text.isascii() and text.isdigit():  # strptime's answer at a tenth of its cost
            return dt.datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]), int(text[10:12]),
                               int(text[12:14]), tzinfo=KST)
        return dt.datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=KST)
    except ValueError:
        return None


def document_status(ref: DocumentRef, detail: InvoiceDetail) -> DocumentStatus:
    """Map a ``GET /v4/invoices/{id}`` answer onto :class:`DocumentStatus`."""
    status = detail.status
    approval, declare = status.approval_status or "", status.declare_status or ""
    state = normalize_state(approval, declare)
    notes = [_APPROVAL.get(approval, f"approval status {approval or '?'}"),
             _DECLARE.get(declare, f"declare status {declare or '?'}")]
    nts = status.declare_status_code or ""
    if nts and nts != "SUC001":
        notes.append(f"NTS {nts}: {NTS_CODES.get(nts, 'see the Hiworks console')}")
    info = detail.information
    supply, vat = _int(info.get("totalSupplyPrice")), _int(info.get("totalTax"))
    amounts = Amounts(supply=supply, vat=vat, total=supply + vat) if supply is not None and vat is not None else None
    invoicee = detail.invoicee
    bizno = str(invoicee.get("companyNumber") or "").replace("-", "") or None
    history: list[StatusEvent] = []
    if detail.mail.send_date:
        sent = _parse_time(detail.mail.send_date)
        history.append(StatusEvent(at=sent, what="notification mail sent", raw_code=detail.mail.send_result_code))
    return DocumentStatus(
        ref=ref,
        state=state,
        raw_state=f"approval={approval},declare={declare}",
        amounts=amounts,
        buyer_name=invoicee.get("companyName") or None,
        buyer_bizno=bizno,
        issued_at=_created_at(ref.provider_id),
        confirm_number=status.issue_id or None,
        history=tuple(history),
        detail="; ".join(notes),
        raw=detail.model_dump(by_alias=True, mode="json"),
    )


_ISO_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")


def _parse_time(text: str) -> dt.datetime | None:
    if _ISO_SECONDS.fullmatch(text[:19]):  # the usual form: what strptime reads, without its cost
        try:
            return dt.datetime.fromisoformat(text[:19]).replace(tzinfo=KST)
        except ValueError:
            return None  # digits in place but not a calendar time: no format below reads it either
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S"):
        try:
            return dt.datetime.strptime(text[:19], fmt).replace(tzinfo=KST)
        except ValueError:
            continue
    return None


def _yyyymmdd(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date() if text else None
    except ValueError:
        return None


def business_status(check: BusinessCheck, *, checked_at: dt.datetime | None = None) -> BusinessStatus:
    """Map a ``POST /v4/check/{bizno}`` answer onto :class:`BusinessStatus`.

    An empty status code means the number is not registered with the NTS (as documented).
    """
    code = check.status_code.strip()
    state = _CLOSURE.get(code, BusinessState.UNREGISTERED if not code else BusinessState.UNKNOWN)
    notes: list[str] = []
    if state is BusinessState.UNREGISTERED:
        notes.append("not registered with the National Tax Service")
    elif check.status:
        notes.append(check.status)
    if check.utcc == "Y":
        notes.append("closed on conversion to unit taxation (단위과세 전환 폐업)")
    if check.invoice_apply_date:
        notes.append(f"tax invoices apply from {check.invoice_apply_date}")
    return BusinessStatus(
        bizno=check.idn,
        state=state,
        raw_state=code or None,
        tax_type=_TAX_TYPES.get(check.tax_type_code, check.tax_type or None),
        tax_type_code=check.tax_type_code or None,
        state_date=_yyyymmdd(check.end_date),
        type_date=_yyyymmdd(check.tax_type_change_date),
        checked_at=checked_at or dt.datetime.now(dt.UTC),
        detail="; ".join(notes) or None,
    )
