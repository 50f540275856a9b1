"""Popbill's answers read into the bot's models: state codes, document statuses, business closure.

Pure functions of Popbill's JSON, kept apart from the service so each mapping can be tested alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

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
    "TAX_TYPE_NAMES",
    "business_status",
    "cashbill_state",
    "cashbill_status",
    "taxinvoice_history",
    "taxinvoice_state",
    "taxinvoice_status",
]




#: CloseDown taxType codes
TAX_TYPE_NAMES = {
    "10": "general taxable business (일반과세자)",
    "20": "tax-exempt business (면세과세자)",
    "30": "simplified taxpayer (간이과세자)",
    "31": "simplified taxpayer issuing tax invoices (간이과세자, 세금계산서 발급사업자)",
    "40": "non-profit or government body (비영리법인 또는 국가기관, 고유번호)",
}


_BUSINESS_STATES = {"0": BusinessState.UNREGISTERED, "1": BusinessState.ACTIVE, "2": BusinessState.CLOSED,
                    "3": BusinessState.SUSPENDED}


# -- parsing helpers ---------------------------------------------------------------------------
def _kst_datetime(value: Any) -> dt.datetime | None:
    text = str(value or "").strip()
    if len(text) in (8, 14) and text.isascii() and text.isdigit():
        # what strptime would read, at a tenth of its cost (two dates per document in a 1,000-key getInfos)
        try:
            return dt.datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10] or 0),
                               int(text[10:12] or 0), int(text[12:14] or 0), tzinfo=KST)
        except ValueError:
            pass  # not a calendar date: strptime decides, as before
    for fmt in ("%Y%m%d%H%M%S", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=KST)
        except ValueError:
            continue
    return None


def _date(value: Any) -> dt.date | None:
    text = str(value or "").strip()
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date() if len(text) >= 8 else None
    except ValueError:
        return None


def _won(value: Any) -> int:
    if type(value) is int:
        return value
    text = str(value if value is not None else "0").strip().replace(",", "") or "0"
    if text.isascii() and text.isdigit():
        return int(text)
    return int(Decimal(text))


def _state_code(info: dict[str, Any]) -> int | None:
    try:
        return int(info.get("stateCode"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def taxinvoice_state(code: int | None) -> DocumentState:
    if code == 300:
        return DocumentState.ISSUED
    if code in (301, 302, 303):
        return DocumentState.FILING
    if code == 304:
        return DocumentState.FILED
    if code == 305:
        return DocumentState.FILING_FAILED
    if code == 600:
        return DocumentState.CANCELED
    return DocumentState.UNKNOWN


def cashbill_state(code: int | None) -> DocumentState:
    if code == 300:
        return DocumentState.ISSUED
    if code in (301, 302, 303):
        return DocumentState.FILING
    if code == 304:
        return DocumentState.FILED
    if code == 305:
        return DocumentState.FILING_FAILED
    if code in (400, 600):
        return DocumentState.CANCELED
    return DocumentState.UNKNOWN


def _raw(info: dict[str, Any]) -> dict[str, Any]:
    """The answer without Popbill's internal ``__`` keys. The keys are checked in one C-level join
    first (a getInfos answer carries ~36 keys per document, rarely a ``__`` one); the model
    copies the dict when it validates it, so a clean one is passed as it is."""
    if "__" not in "".join(info):
        return info
    return {k: v for k, v in info.items() if not k.startswith("__")}


def taxinvoice_history(logs: Sequence[dict[str, Any]]) -> tuple[StatusEvent, ...]:
    """getLogs' entries as events, oldest first as Popbill lists them."""
    return tuple(
        StatusEvent(at=_kst_datetime(e.get("regDT")), what=str(e.get("log") or e.get("procType") or ""),
                    raw_code=None if e.get("docLogType") is None else str(e.get("docLogType")))
        for e in logs
    )


def taxinvoice_status(info: dict[str, Any], ref: DocumentRef, *, links: dict[str, str] | None = None,
                      logs: Sequence[dict[str, Any]] = ()) -> DocumentStatus:
    """A TaxinvoiceInfo as a `DocumentStatus` (raw stateCode and JSON kept)."""
    code = _state_code(info)
    state = taxinvoice_state(code)
    supply, vat = _won(info.get("supplyCostTotal")), _won(info.get("taxTotal"))
    detail = None
    if state is DocumentState.FILING_FAILED:
        detail = f"NTS filing failed: {info.get('ntssendErrCode') or 'no error code'}"
    elif state is DocumentState.FILED:
        detail = f"filed with the NTS ({info.get('ntssendErrCode') or 'SUC001'})"
    elif info.get("stateMemo"):
        detail = str(info["stateMemo"])
    history = taxinvoice_history(logs)
    return DocumentStatus(
        ref=ref,
        state=state,
        raw_state=str(code) if code is not None else str(info.get("stateCode")),
        amounts=Amounts(supply=supply, vat=vat, total=supply + vat),
        buyer_name=info.get("invoiceeCorpName") or None,
        buyer_bizno=info.get("invoiceeCorpNum") or None,
        issued_at=_kst_datetime(info.get("issueDT")),
        updated_at=_kst_datetime(info.get("stateDT")),
        confirm_number=info.get("ntsconfirmNum") or None,
        links=links or {},
        history=history,
        detail=detail,
        raw=_raw(info),
    )


def cashbill_status(info: dict[str, Any], ref: DocumentRef, *, links: dict[str, str] | None = None) -> DocumentStatus:
    """A CashbillInfo as a `DocumentStatus`; a service fee counts as supply so the total adds up."""
    code = _state_code(info)
    state = cashbill_state(code)
    supply = _won(info.get("supplyCost")) + _won(info.get("serviceFee"))
    vat = _won(info.get("tax"))
    detail = None
    if state is DocumentState.FILING_FAILED:
        detail = f"NTS filing failed: {info.get('ntsresultCode') or ''} {info.get('ntsresultMessage') or ''}".strip()
    elif info.get("stateMemo"):
        detail = str(info["stateMemo"])
    return DocumentStatus(
        ref=ref,
        state=state,
        raw_state=str(code) if code is not None else str(info.get("stateCode")),
        amounts=Amounts(supply=supply, vat=vat, total=supply + vat),
        buyer_name=info.get("customerName") or None,
        issued_at=_kst_datetime(info.get("issueDT")),
        updated_at=_kst_datetime(info.get("stateDT")),
        confirm_number=info.get("confirmNum") or None,
        links=links or {},
        detail=detail,
        raw=_raw(info),
    )


def business_status(state: dict[str, Any], *, bizno: str | None = None) -> BusinessStatus:
    """A CloseDown CorpState as a `BusinessStatus`."""
    raw_state = state.get("state")
    raw_state_text = None if raw_state in (None, "") else str(raw_state)
    tax_code = state.get("taxType")
    tax_code_text = None if tax_code in (None, "") else str(tax_code)
    business = _BUSINESS_STATES.get(raw_state_text or "", BusinessState.UNKNOWN)
    checked = _date(state.get("checkDate"))
    detail = None
    if business is BusinessState.UNKNOWN:
        detail = "the National Tax Service gave no status for this number"
    elif business is BusinessState.UNREGISTERED:
        detail = "not registered with the National Tax Service"
    return BusinessStatus(
        bizno=str(state.get("corpNum") or bizno or ""),
        state=business,
        raw_state=raw_state_text,
        tax_type=TAX_TYPE_NAMES.get(tax_code_text or "") if tax_code_text else None,
        tax_type_code=tax_code_text,
        state_date=_date(state.get("stateDate")),
        type_date=_date(state.get("typeDate")),
        checked_at=dt.datetime.combine(checked, dt.time(), tzinfo=KST) if checked else None,
        detail=detail,
    )
