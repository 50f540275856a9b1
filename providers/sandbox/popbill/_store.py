"""The Popbill sandbox's records and constants: tokens, documents, bulk submissions, demo data.

Plain data shared by the route modules; nothing here talks HTTP."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from providers.models import KST
from providers.sandbox.pdf import render_pdf

SERVICE_IDS = ("POPBILL", "POPBILL_TEST")


SCOPE_BY_SERVICE = {"Taxinvoice": "110", "Cashbill": "140", "CloseDown": "170"}


KEY_TYPES = ("SELL", "BUY", "TRUSTEE")


URL_TTL = 30.0


_MGT_KEY = re.compile(r"[A-Za-z0-9_-]{1,24}")


_SUBMIT_ID = re.compile(r"[A-Za-z0-9-]{1,36}")


_ITEM_KEY = re.compile(r"[A-Za-z0-9]{18}")


_CORP_NUM = re.compile(r"[0-9]{10}")


_NTS_CODE = re.compile(r"\b((?:ERR|SYN)\d{3})\b")


_TAX_TYPES = {"과세": "T", "면세": "N", "영세": "Z"}


_TI_LOG = {100: "임시저장", 111: "메일 재전송", 112: "문자 재전송", 113: "팩스 재전송", 125: "문서번호 할당",
           230: "발행", 240: "발행취소", 250: "국세청 전송목록 등록", 252: "국세청 전송중", 254: "국세청 전송성공",
           255: "국세청 전송실패"}


class _Reject(Exception):
    """A Popbill/LinkHub refusal: answered as ``{"code", "message"}`` with `status`."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class _Token:
    service_id: str
    link_id: str
    corp_num: str
    scope: frozenset[str]
    expires_at: float
    ip: str | None  # None: usable from any IP (x-lh-forwarded: *)


@dataclass
class _Doc:
    """One tax invoice or cash receipt. NTS progress is derived from the timestamps on read."""

    kind: str  # "taxinvoice" | "cashbill"
    corp: str
    key: str | None  # None: issued on the website, waiting for assignMgtKey
    item_key: str
    body: dict[str, Any]
    registered_at: float
    confirm_num: str
    nts_fail: bool = False
    nts_code: str | None = None
    filing_started: float | None = None  # sendToNTS
    canceled_at: float | None = None
    memo: str | None = None
    events: list[tuple[float, int, str]] = field(default_factory=list)  # (when, docLogType, memo)


@dataclass
class _Bulk:
    submit_id: str
    receipt_id: str
    received_at: float
    results: list[dict[str, Any]]


# -- helpers -------------------------------------------------------------------------------------
def _kst(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, KST).strftime("%Y%m%d%H%M%S")


def _expiration(timestamp: float) -> str:
    """LinkHub's 24-character expiration: ``YYYY-MM-DDTHH:MM:SS.fffZ`` (UTC)."""
    when = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _is_date(text: str) -> bool:
    try:
        dt.datetime.strptime(text, "%Y%m%d")
    except ValueError:
        return False
    return len(text) == 8


def _amount(value: Any) -> int:
    text = str(value).strip().replace(",", "")
    if not re.fullmatch(r"-?[0-9]+", text):
        raise ValueError(text)
    return int(text)


def _list(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def _state_match(pattern: str, code: Any) -> bool:
    text = str(code)
    return len(pattern) == len(text) and all(p in ("*", c) for p, c in zip(pattern, text, strict=True))


def _demo_taxinvoice(corp: str, key: str, when: float) -> dict[str, Any]:
    date = dt.datetime.fromtimestamp(when, KST).strftime("%Y%m%d")
    return {
        "writeDate": date, "chargeDirection": "정과금", "issueType": "정발행", "purposeType": "청구",
        "taxType": "과세", "invoicerCorpNum": corp, "invoicerCorpName": "인보이스봇 주식회사",
        "invoicerMgtKey": key, "invoicerCEOName": "홍길동", "invoicerContactName": "재무팀",
        "invoicerEmail": "finance@example.com", "invoiceeType": "사업자", "invoiceeCorpNum": "1168200276",
        "invoiceeCorpName": "데모 거래처", "invoiceeCEOName": "김데모", "invoiceeEmail1": "buyer@example.com",
        "invoiceeHP1": "01012345678", "supplyCostTotal": "100000", "taxTotal": "10000", "totalAmount": "110000",
        "detailList": [{"serialNum": 1, "purchaseDT": date, "itemName": "컨설팅", "qty": "1", "unitCost": "100000",
                        "supplyCost": "100000", "tax": "10000"}],
        "addContactList": [],
    }


def _demo_cashbill(corp: str, key: str, when: float) -> dict[str, Any]:
    stamp = dt.datetime.fromtimestamp(when, KST)
    return {
        "mgtKey": key, "tradeDT": f"{stamp:%Y%m%d%H%M%S}", "tradeDate": f"{stamp:%Y%m%d}", "tradeType": "승인거래",
        "tradeUsage": "소득공제용", "tradeOpt": "일반", "taxationType": "과세", "totalAmount": "11000",
        "supplyCost": "10000", "tax": "1000", "serviceFee": "0", "franchiseCorpNum": corp,
        "franchiseCorpName": "인보이스봇 주식회사", "identityNum": "01012345678", "customerName": "데모 고객",
        "itemName": "상품", "orderNumber": key, "email": "buyer@example.com", "hp": "01012345678", "smssendYN": False,
    }


def document_pdf(doc: _Doc, info: dict[str, Any]) -> bytes:
    """The PDF getPDFURL's link serves: the document's key, NTS number and amounts."""
    if doc.kind == "taxinvoice":
        total = int(info.get("supplyCostTotal") or 0) + int(info.get("taxTotal") or 0)
        lines = ["Popbill sandbox tax invoice", f"MgtKey: {doc.key}", f"NTS confirm number: {doc.confirm_num}",
                 f"Write date: {info.get('writeDate')}", f"Supply: {info.get('supplyCostTotal')} KRW",
                 f"Tax: {info.get('taxTotal')} KRW", f"Total: {total} KRW"]
        if info.get("modifyCode"):
            lines.append(f"Amendment (modifyCode {info['modifyCode']}) of {doc.body.get('orgNTSConfirmNum')}")
    else:
        lines = ["Popbill sandbox cash receipt", f"MgtKey: {doc.key}", f"Confirm number: {doc.confirm_num}",
                 f"Total: {info.get('totalAmount')} KRW"]
    return render_pdf(lines)
