"""The Hiworks sandbox's records and constants: timings, documents, refusals, business answers."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from providers.sandbox.base import json_response

_ALNUM = string.ascii_uppercase + string.digits


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


_NUMBER = re.compile(r"^[+-]?\d{1,18}$")


_DECIMAL = re.compile(r"^-?\d+(\.\d{1,2})?$")


_DASHED = re.compile(r"^\d{3}-\d{2}-\d{5}$")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_DIGITS10 = re.compile(r"^\d{10}$")


_EASY_SIGN_DONE = "문서 발급이 완료되었습니다. 발급된 문서는 국세청으로 즉시 전송합니다."


_UNREGISTERED = "국세청에 등록되지 않은 사업자등록번호입니다."


_DECLARED_STATES = frozenset({"1", "2", "4"})


_INVALID = "Validation Error"


class HiworksTimings(BaseModel):
    """Seconds after creation (or after the named event) at which the sandbox moves a document."""

    model_config = ConfigDict(frozen=True)

    mail_after: float = 5.0  # W -> T: the approval request / notification mail is sent
    read_after: float = 3600.0  # T -> R: the buyer opens it
    approve_after: float | None = 86400.0  # R -> S: the buyer approves (None: never by itself)
    declare_after: float = 10.0  # issue (easySign) or approval -> declareStatus 1
    result_wait: float = 60.0  # 1 -> 2, after the declaration started
    result_after: float = 600.0  # 2 -> 4 or 5, after the declaration started


class _Refusal(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


@dataclass(slots=True)
class _Document:
    document_id: str
    body: dict[str, Any]  # information, invoiceType, invoicer, invoicee, items (as read back)
    type_code: str
    easy_sign: bool
    created: float
    serial: str
    issue_id: str
    nts_failure: str | None = None  # NTS code the declaration will end with
    approval_override: tuple[str, float] | None = None
    declare_override: tuple[str, str, float] | None = None
    deleted: bool = False
    amendment: dict[str, str] = field(default_factory=dict)
    original_document: str = ""
    files: list[dict[str, Any]] = field(default_factory=list)
    reseller: str | None = None


def _errors(status: int, title: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_response({"errors": [{"status": str(status), "title": title, "message": message}]},
                         status=status, headers=headers)


def _business(code: str, tax_code: str = "01", *, end: str = "", start: str = "", rep: str = "",
              name: str = "") -> dict[str, str]:
    statuses = {"01": "계속사업자", "02": "휴업자", "03": "폐업자"}
    tax_types = {
        "01": "부가가치세 일반과세자", "02": "부가가치세 간이과세자", "03": "부가가치세 과세특례자",
        "04": "부가가치세 면세사업자",
        "05": "수익사업을 영위하지 않는 비영리법인이거나 고유번호가 부여된 단체,국가기관 등",
        "06": "고유번호가 부여된 단체", "07": "부가가치세 간이과세자(세금계산서 발급사업자)",
    }
    return {
        "status": statuses.get(code, ""), "statusCode": code, "taxType": tax_types.get(tax_code, ""),
        "taxTypeCode": tax_code, "endDate": end, "utcc": "N", "taxTypeChangeDate": "", "invoiceApplyDate": "",
        "startDate": start, "representative": rep, "companyName": name,
    }
