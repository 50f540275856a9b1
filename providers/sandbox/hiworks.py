"""Hiworks bill-api v4 sandbox: the documented routes, auth, validation and a state machine.

Routes (as in the Hiworks Postman collection, "세금계산서 API")::

    POST   /v4/invoices                create (typeCode A/B/D, easySign Y/N)
    POST   /v4/invoices/amendment      수정(세금)계산서 (answers documentId as [[negative, positive]])
    GET    /v4/invoices/{documentId}   one document; 404 errors body when unknown or deleted
    DELETE /v4/invoices/{documentId}   302 or 304 on success; 409 errors body once declared
    POST   /v4/check/{bizno}           휴폐업 조회, Office token only, 10 digits without hyphens
    POST   /v4/validate                사업자등록정보 진위 검증

Auth: ``Office-Authorization`` must be the office token (missing or wrong: 401), and every call
but the closure check also needs ``Bill-Access-Authorization`` (missing: 401, wrong: 403). Raw
tokens, no ``Bearer``. Errors are ``{"errors": [{"status", "title", "message"}]}``; 503 is the
maintenance answer. Every answer carries ``x-ratelimit-limit: 1000`` and
``x-ratelimit-remaining`` counting down per office token per Korean day (refusing with 429 at
zero only when ``enforce_rate_limit`` is set, so benchmarks are not throttled).

State machine, computed lazily from ``self.clock`` on every read (see :class:`HiworksTimings`)::

    approvalStatus  W (created) -> T (mail sent, mail_after) -> R (buyer opened it, read_after)
                    -> S (buyer approved, approve_after); B when the buyer refuses (admin route)
    declareStatus   0 -> 1 (sending to the NTS) -> 2 (waiting for the result) -> 4 SUC001
                    or 5 with an NTS code. The declaration starts `declare_after` seconds after
                    creation with easySign, after approval (S) without it; never for statements.
                    A buyer number failing the check digit ends in 5 / ERR002 (not registered).

Delete is allowed while declareStatus is 0, 3 or 5 and answers 302 and 304 in turn (or always
``delete_status`` when set); afterwards the document answers 404.

Closure check answers (the documented shape ``{"data": {idn, status, statusCode, taxType,
taxTypeCode, endDate, utcc, taxTypeChangeDate, invoiceApplyDate}, "meta": {}}``) are
deterministic: seeded numbers 6798700433 (계속사업자), 1231212312 (폐업자, closed 2023-12-31),
2208875476 (휴업자) and 1168200276 (면세사업자); any other number passing the check digit is an
active general taxpayer; a number failing it is not registered (empty status and codes).
``/v4/validate`` is genuine (01) when the number is registered and, for seeded businesses, the
start date and representative match; otherwise 02 "확인할 수 없습니다.".

Sandbox-only admin routes::

    POST /_sandbox/hiworks/documents/{id}/approval   {"approvalStatus": "B"}
    POST /_sandbox/hiworks/documents/{id}/declare    {"declareStatus": "5", "declareStatusCode": "ERR007"}
    PUT  /_sandbox/hiworks/businesses/{bizno}        closure-check answer fields (statusCode, endDate, ...)
    PUT  /_sandbox/hiworks/delete-status             {"status": 302 | 304 | 200 | null (alternate)}
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import string
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from providers.bizno import checksum_ok
from providers.config import DEMO_HIWORKS, DEMO_SELLER_BIZNO, HiworksConfig, SellerConfig
from providers.sandbox.base import KST, Faults, Sandbox, SandboxClock, json_response

__all__ = ["HiworksSandbox", "HiworksTimings"]

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


class HiworksSandbox(Sandbox):
    """A protocol-faithful Hiworks bill-api v4 on loopback.

    Args:
        config: credentials to accept (the DEMO_HIWORKS tokens when it has none).
        timings: how fast documents move (see :class:`HiworksTimings`).
        office_bizno: the business number registered to the office (the only allowed invoicer).
        delete_status: 302 or 304 (or 200) for every successful delete; None alternates 302/304.
        rate_limit: the daily call budget shown in ``x-ratelimit-limit``.
        enforce_rate_limit: answer 429 once the budget is spent.
    """

    name: ClassVar[str] = "hiworks"

    def __init__(
        self,
        config: HiworksConfig | None = None,
        *,
        faults: Faults | None = None,
        clock: SandboxClock | None = None,
        timings: HiworksTimings | None = None,
        office_bizno: str = DEMO_SELLER_BIZNO,
        delete_status: int | None = None,
        rate_limit: int = 1000,
        enforce_rate_limit: bool = False,
    ) -> None:
        creds = config if config is not None and config.configured else DEMO_HIWORKS
        assert creds.office_token is not None and creds.bill_access_token is not None
        self.office_token = creds.office_token.get_secret_value()
        self.bill_access_token = creds.bill_access_token.get_secret_value()
        self.timings = timings or HiworksTimings()
        self.office_bizno = office_bizno
        self.delete_status = delete_status
        self.rate_limit = rate_limit
        self.enforce_rate_limit = enforce_rate_limit
        self._ids = random.Random()
        seller = SellerConfig(bizno=office_bizno)
        self._office_party = {
            "companyNumber": office_bizno, "taxNumber": "", "companyName": seller.name, "ceoName": seller.ceo_name,
            "companyAddress": seller.address, "bizType": seller.biz_type, "bizClassification": seller.biz_class,
            "primaryContact": {"name": seller.contact_name, "email": seller.email, "cell": "", "phone": seller.phone},
        }
        super().__init__(faults=faults, clock=clock)

    # -- state -----------------------------------------------------------------------------
    def reset_state(self) -> None:
        self.documents: dict[str, _Document] = {}
        self._by_issue_id: dict[str, str] = {}
        self._calls: dict[tuple[str, dt.date], int] = {}
        self._deletes = 0
        self._issue_seq = 0
        self.businesses: dict[str, dict[str, str]] = {
            DEMO_SELLER_BIZNO: _business("01", start="20150302", rep="홍길동", name="인보이스봇 주식회사"),
            "1231212312": _business("03", end="20231231", start="20120105", rep="김폐업", name="폐업상사"),
            "2208875476": _business("02", start="20190701", rep="이휴업", name="휴업상회"),
            "1168200276": _business("01", "04", start="20100415", rep="박면세", name="면세의원"),
        }

    def seed(self) -> None:
        """Demo documents in different states (ids are predictable: timestamp + DEMO + number)."""
        now = self.clock.time()
        buyer: dict[str, Any] = {"companyNumber": "2148639239", "companyName": "가비아 테스트", "ceoName": "김가비아",
                 "partyTypeCode": "01", "primaryContact": {"name": "구매담당", "email": "buyer@example.com"}}
        demos: list[tuple[str, str, bool, float, dict[str, Any]]] = [
            ("A", "A", True, 2 * 86400, buyer),  # filed with the NTS
            ("A", "A", False, 0, buyer),  # just created, waiting
            ("A", "B", True, 300, buyer),  # zero-rated, waiting for the NTS result
            ("D", "A", False, 7200, buyer),  # statement, read by the buyer
            ("B", "B", True, 86400, {**buyer, "companyNumber": "1234567890"}),  # NTS refused: ERR002
        ]
        for n, (type_code, tax_type, easy, age, invoicee) in enumerate(demos, start=1):
            created = now - age
            stamp = dt.datetime.fromtimestamp(created, tz=KST).strftime("%Y%m%d%H%M%S")
            document_id = f"{stamp}DEMO{n:028d}"
            date = dt.datetime.fromtimestamp(created, tz=KST).date()
            tax = "10000" if tax_type == "A" else "0"
            information = {"issueDate": date.isoformat(), "memo": "sandbox demo", "bookNo": "-",
                           "serial": f"DEMO-{n}", "description": "", "cash": "0", "check": "0", "draft": "0",
                           "uncollected": str(100000 + int(tax)), "totalSupplyPrice": "100000", "totalTax": tax}
            body = {
                "information": information,
                "invoiceType": {"typeCode": type_code, "transactionType": "S", "purposeType": "C",
                                "taxType": tax_type},
                "invoicer": dict(self._office_party),
                "invoicee": invoicee,
                "items": [{"month": f"{date.month:02d}", "day": f"{date.day:02d}", "subject": "데모 서비스",
                           "unit": "EA", "quantity": "1", "unitPrice": "100000", "supplyPrice": "100000",
                           "tax": tax, "description": ""}],
            }
            self._store(document_id, body, type_code=type_code, easy_sign=easy, created=created)

    def snapshot(self) -> dict[str, Any]:
        now = self.clock.time()
        documents = {}
        for doc in self.documents.values():
            approval, declare, code = self._state(doc, now)
            documents[doc.document_id] = {
                "serial": doc.serial, "typeCode": doc.type_code, "easySign": doc.easy_sign,
                "approvalStatus": approval, "declareStatus": declare, "declareStatusCode": code,
                "issueId": doc.issue_id if declare != "0" else "", "deleted": doc.deleted,
                "created": doc.created, "reseller": doc.reseller,
            }
        return {
            "documents": documents,
            "businesses": self.businesses,
            "calls": {f"{day.isoformat()}": count for (_token, day), count in self._calls.items()},
            "delete_status": self.delete_status,
            "timings": self.timings.model_dump(),
        }

    # -- sandbox controls (also reachable through /_sandbox/hiworks/*) ----------------------
    def find_by_serial(self, serial: str) -> list[str]:
        """Document ids carrying `serial` (what a person would search for in the console)."""
        return [d.document_id for d in self.documents.values() if d.serial == serial and not d.deleted]

    def set_approval(self, document_id: str, approval: str) -> None:
        """The buyer acts now: e.g. "B" (refuses) or "S" (approves)."""
        self.documents[document_id].approval_override = (approval, self.clock.time())

    def set_declaration(self, document_id: str, declare: str, code: str = "") -> None:
        """Force the declaration status from now on (e.g. "5" with "ERR007")."""
        self.documents[document_id].declare_override = (declare, code, self.clock.time())

    def set_business(self, bizno: str, **fields: str) -> None:
        entry = self.businesses.get(bizno) or _business("01")
        entry = {**entry, **fields}
        if "statusCode" in fields and "status" not in fields:
            entry["status"] = {"01": "계속사업자", "02": "휴업자", "03": "폐업자"}.get(fields["statusCode"], "")
        self.businesses[bizno] = entry

    def document_state(self, document_id: str) -> tuple[str, str, str]:
        """(approvalStatus, declareStatus, declareStatusCode) now."""
        return self._state(self.documents[document_id], self.clock.time())

    # -- app -------------------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = super().build_app()
        app.middlewares.append(self._rate_middleware)
        app.on_response_prepare.append(self._rate_headers)
        return app

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/v4/invoices", self.handle_create)
        app.router.add_post("/v4/invoices/amendment", self.handle_amendment)
        app.router.add_get("/v4/invoices/{document_id}", self.handle_get)
        app.router.add_delete("/v4/invoices/{document_id}", self.handle_delete)
        app.router.add_post("/v4/check/{bizno}", self.handle_check)
        app.router.add_post("/v4/validate", self.handle_validate)
        app.router.add_post("/_sandbox/hiworks/documents/{document_id}/approval", self._admin_approval)
        app.router.add_post("/_sandbox/hiworks/documents/{document_id}/declare", self._admin_declare)
        app.router.add_put("/_sandbox/hiworks/businesses/{bizno}", self._admin_business)
        app.router.add_put("/_sandbox/hiworks/delete-status", self._admin_delete_status)

    def error_500(self) -> web.Response:
        return _errors(500, "Internal Server Error", "일시적인 오류가 발생했습니다.")

    def error_503(self, retry_after: int) -> web.Response:
        return _errors(503, "Service Unavailable", "서비스 점검중입니다. 잠시 후 다시 시도해 주세요.",
                       headers={"Retry-After": str(retry_after)})

    def error_429(self, retry_after: int) -> web.Response:
        return _errors(429, "Too Many Requests", "API 호출 한도를 초과했습니다.",
                       headers={"Retry-After": str(retry_after)})

    # -- rate limit ------------------------------------------------------------------------
    def _bucket(self, request: web.Request) -> tuple[str, dt.date]:
        return request.headers.get("Office-Authorization", ""), self.clock.now_kst().date()

    @web.middleware
    async def _rate_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(self._admin_prefix):
            response: web.StreamResponse = await handler(request)
            return response
        bucket = self._bucket(request)
        count = self._calls.get(bucket, 0) + 1
        self._calls[bucket] = count
        if self.enforce_rate_limit and count > self.rate_limit:
            midnight = dt.datetime.combine(bucket[1] + dt.timedelta(days=1), dt.time(), tzinfo=KST)
            wait = max(1, int(midnight.timestamp() - self.clock.time()))
            return _errors(429, "Too Many Requests", "일일 API 호출 한도를 초과했습니다.",
                           headers={"Retry-After": str(wait)})
        response = await handler(request)
        return response

    async def _rate_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        if request.path.startswith(self._admin_prefix):
            return
        used = self._calls.get(self._bucket(request), 0)
        response.headers["x-ratelimit-limit"] = str(self.rate_limit)
        response.headers["x-ratelimit-remaining"] = str(max(0, self.rate_limit - used))

    # -- auth and parsing --------------------------------------------------------------------
    def _authenticate(self, request: web.Request, *, bill_access: bool = True) -> None:
        office = request.headers.get("Office-Authorization")
        if not office:
            raise _Refusal(401, "Unauthorized", "Office-Authorization 헤더가 없습니다.")
        if office != self.office_token:
            hint = " (Bearer 없이 토큰만 입력하세요)" if office.lower().startswith("bearer ") else ""
            raise _Refusal(401, "Unauthorized", f"유효하지 않은 오피스 토큰입니다.{hint}")
        if not bill_access:
            return
        bill = request.headers.get("Bill-Access-Authorization")
        if not bill:
            raise _Refusal(401, "Unauthorized", "Bill-Access-Authorization 헤더가 없습니다.")
        if bill != self.bill_access_token:
            raise _Refusal(403, "Forbidden", "세금계산서 API 토큰이 유효하지 않습니다.")

    @staticmethod
    async def _envelope(request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise _Refusal(400, "Parameter Error", "Content-Type은 application/json 이어야 합니다.")
        try:
            body = json.loads(await request.text() or "null")
        except json.JSONDecodeError as exc:
            raise _Refusal(400, "Parameter Error", "요청 본문이 올바른 JSON이 아닙니다.") from exc
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise _Refusal(400, "Parameter Error", '요청 본문은 {"data": {...}} 형식이어야 합니다.')
        return data

    # -- handlers ------------------------------------------------------------------------------
    async def handle_create(self, request: web.Request) -> web.Response:
        try:
            self._authenticate(request)
            data = await self._envelope(request)
            easy_sign = self._easy_sign(data)
            body = self._check_document(data, "")
        except _Refusal as refusal:
            return _errors(refusal.status, refusal.title, refusal.message)
        type_code = body["invoiceType"]["typeCode"]
        document = self._store(self._new_id(), body, type_code=type_code, easy_sign=easy_sign,
                               created=self.clock.time(), reseller=request.headers.get("X-Reseller-Code"),
                               files=self._files(data))
        answer: dict[str, Any] = {"documentId": [document.document_id]}
        if easy_sign and type_code != "D":
            answer["easySign"] = [_EASY_SIGN_DONE]
        return json_response({"data": answer, "meta": {}})

    async def handle_amendment(self, request: web.Request) -> web.Response:
        try:
            self._authenticate(request)
            data = await self._envelope(request)
            easy_sign = self._easy_sign(data)
            amendment = data.get("amendment")
            if not isinstance(amendment, dict):
                raise _Refusal(400, _INVALID, "amendment 정보가 필요합니다.")
            issue_id = str(amendment.get("originalIssueId") or "")
            modify = str(amendment.get("modifyType") or "").zfill(2)
            if modify not in ("01", "02", "03", "04", "05", "06"):
                raise _Refusal(400, _INVALID, "modifyType은 01~06 중 하나여야 합니다.")
            original = self.documents.get(self._by_issue_id.get(issue_id, ""))
            if original is None or original.deleted or self._state(original, self.clock.time())[1] != "4":
                raise _Refusal(400, _INVALID, "원본 세금계산서의 당초 승인번호를 찾을 수 없습니다.")
            needed = {"01": ("negative", "positive"), "05": ("negative", "positive"),
                      "03": ("negative",), "04": ("negative",), "06": ("negative",)}.get(modify)
            parts = [p for p in ("negative", "positive") if isinstance(data.get(p), dict)]
            if (needed and any(p not in parts for p in needed)) or not parts:
                raise _Refusal(400, _INVALID,
                               f"수정 사유 {modify}에 필요한 문서(negative/positive)가 없습니다.")
            family = "A" if original.type_code in ("A", "M") else "B"
            checked = []
            for part in parts:
                body = self._check_document(data[part], f"{part}.", amendment=True)
                kind = body["invoiceType"]
                if kind["typeCode"] not in (family, "M" if family == "A" else "N"):
                    raise _Refusal(400, _INVALID, f"{part}.invoiceType.typeCode가 원본 문서와 다릅니다.")
                if part == "negative" and int(body["information"]["totalSupplyPrice"]) > 0:
                    raise _Refusal(400, _INVALID, "부(-)의 세금계산서 공급가액은 0 이하여야 합니다.")
                kind["typeCode"] = "M" if family == "A" else "N"
                body["information"]["description"] = issue_id
                checked.append(body)
        except _Refusal as refusal:
            return _errors(refusal.status, refusal.title, refusal.message)
        ids = []
        for body in checked:
            doc = self._store(self._new_id(), body, type_code=body["invoiceType"]["typeCode"], easy_sign=easy_sign,
                              created=self.clock.time(), reseller=request.headers.get("X-Reseller-Code"),
                              files=self._files(data))
            doc.amendment = {"originalIssueId": issue_id, "modifyType": modify}
            doc.original_document = original.document_id
            ids.append(doc.document_id)
        answer: dict[str, Any] = {"documentId": [ids]}
        if easy_sign:
            answer["easySign"] = [_EASY_SIGN_DONE]
        return json_response({"data": answer, "meta": {}})

    async def handle_get(self, request: web.Request) -> web.Response:
        try:
            self._authenticate(request)
            doc = self._live(request.match_info["document_id"])
        except _Refusal as refusal:
            return _errors(refusal.status, refusal.title, refusal.message)
        return json_response({"data": self._render(doc), "meta": {}})

    async def handle_delete(self, request: web.Request) -> web.Response:
        try:
            self._authenticate(request)
            doc = self._live(request.match_info["document_id"])
        except _Refusal as refusal:
            return _errors(refusal.status, refusal.title, refusal.message)
        _approval, declare, _code = self._state(doc, self.clock.time())
        if declare in _DECLARED_STATES:
            return _errors(409, "Document Already Declared",
                           "국세청으로 발행 중이거나 발행된 문서는 삭제할 수 없습니다. 수정세금계산서를 발행하세요.")
        doc.deleted = True
        self._deletes += 1
        status = self.delete_status or (302 if self._deletes % 2 else 304)
        if status == 302:
            return web.Response(status=302, headers={"Location": "/v4/invoices"})
        if status == 304:
            return web.Response(status=304)
        return json_response({"data": {"documentId": [doc.document_id]}, "meta": {}}, status=status)

    async def handle_check(self, request: web.Request) -> web.Response:
        try:
            self._authenticate(request, bill_access=False)
        except _Refusal as refusal:
            return _errors(refusal.status, refusal.title, refusal.message)
        bizno = request.match_info["bizno"]
        if not _DIGITS10.match(bizno):
            return _errors(400, "Parameter Error", "휴폐업 조회시 사업자 등록번호는 10자리 숫자만 허용합니다.")
        return json_response({"data": self._closure(bizno), "meta": {}})

    async def handle_validate(self, request: web.Request) -> web.Response:
        try:
            self._authenticate(request)
            data = await self._envelope(request)
            idn = str(data.get("idn") or "")
            start = str(data.get("startDate") or "")
            representative = str(data.get("representative") or "").strip()
            if not _DIGITS10.match(idn):
                raise _Refusal(400, "Parameter Error", "idn은 하이픈 없는 10자리 숫자여야 합니다.")
            if not re.match(r"^\d{8}$", start):
                raise _Refusal(400, "Parameter Error", "startDate는 YYYYMMDD 형식의 8자리 숫자여야 합니다.")
            if not representative:
                raise _Refusal(400, "Parameter Error", "representative(대표자 명)는 필수입니다.")
        except _Refusal as refusal:
            return _errors(refusal.status, refusal.title, refusal.message)
        fields = ("idn", "startDate", "representative", "representative2", "companyName", "corporationNo",
                  "sector", "type")
        request_data = {k: str(data.get(k) or "") for k in fields}
        closure = self._closure(idn)
        known = self.businesses.get(idn)
        genuine = bool(closure["statusCode"]) and (
            known is None
            or ((not known.get("startDate") or known["startDate"] == start)
                and (not known.get("representative") or known["representative"] == representative))
        )
        answer: dict[str, Any] = {"idn": idn, "validationCode": "01" if genuine else "02",
                                  "requestData": request_data}
        if genuine:
            answer["status"] = closure
        else:
            answer["validationMessage"] = "확인할 수 없습니다."
        return json_response({"data": answer, "meta": {}})

    # -- admin ---------------------------------------------------------------------------------
    async def _admin_approval(self, request: web.Request) -> web.Response:
        document_id = request.match_info["document_id"]
        if document_id not in self.documents:
            return json_response({"ok": False, "error": "no such document"}, status=404)
        body = await request.json()
        self.set_approval(document_id, str(body.get("approvalStatus", "B")))
        return json_response({"ok": True, "state": self.document_state(document_id)})

    async def _admin_declare(self, request: web.Request) -> web.Response:
        document_id = request.match_info["document_id"]
        if document_id not in self.documents:
            return json_response({"ok": False, "error": "no such document"}, status=404)
        body = await request.json()
        self.set_declaration(document_id, str(body.get("declareStatus", "5")), str(body.get("declareStatusCode", "")))
        return json_response({"ok": True, "state": self.document_state(document_id)})

    async def _admin_business(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.set_business(request.match_info["bizno"], **{k: str(v) for k, v in body.items()})
        return json_response({"ok": True, "business": self.businesses[request.match_info["bizno"]]})

    async def _admin_delete_status(self, request: web.Request) -> web.Response:
        body = await request.json()
        status = body.get("status")
        self.delete_status = int(status) if status is not None else None
        return json_response({"ok": True, "delete_status": self.delete_status})

    # -- model -------------------------------------------------------------------------------
    def _new_id(self) -> str:
        stamp = self.clock.now_kst().strftime("%Y%m%d%H%M%S")
        while True:
            document_id = stamp + "".join(self._ids.choices(_ALNUM, k=32))
            if document_id not in self.documents:
                return document_id

    def _store(self, document_id: str, body: dict[str, Any], *, type_code: str, easy_sign: bool, created: float,
               reseller: str | None = None, files: list[dict[str, Any]] | None = None) -> _Document:
        self._issue_seq += 1
        day = dt.datetime.fromtimestamp(created, tz=KST).strftime("%Y%m%d")
        issue_id = f"{day}41000037{self._issue_seq:08d}"
        buyer = str(body["invoicee"].get("companyNumber", "")).replace("-", "")
        party = body["invoicee"].get("partyTypeCode", "01")
        failure = "ERR002" if party == "01" and not checksum_ok(buyer) else None
        doc = _Document(document_id=document_id, body=body, type_code=type_code, easy_sign=easy_sign,
                        created=created, serial=str(body["information"].get("serial") or ""), issue_id=issue_id,
                        nts_failure=failure, reseller=reseller, files=files or [])
        self.documents[document_id] = doc
        self._by_issue_id[issue_id] = document_id
        return doc

    def _live(self, document_id: str) -> _Document:
        doc = self.documents.get(document_id)
        if doc is None or doc.deleted:
            raise _Refusal(404, "Not Found", "")
        return doc

    def _state(self, doc: _Document, now: float) -> tuple[str, str, str]:
        """(approvalStatus, declareStatus, declareStatusCode) at `now`, from the timeline."""
        t = self.timings
        age = now - doc.created
        approval, approved_at = "W", None
        if age >= t.mail_after:
            approval = "T"
        if age >= t.read_after:
            approval = "R"
        if t.approve_after is not None and age >= t.approve_after:
            approval, approved_at = "S", doc.created + t.approve_after
        override = doc.approval_override
        if override is not None and now >= override[1] and (approved_at is None or override[1] < approved_at):
            approval = override[0]
            approved_at = override[1] if approval == "S" else None
        if doc.declare_override is not None and now >= doc.declare_override[2]:
            return approval, doc.declare_override[0], doc.declare_override[1]
        if doc.type_code == "D":
            return approval, "0", ""
        start = doc.created if doc.easy_sign else approved_at
        if start is None:
            return approval, "0", ""
        since = now - (start + t.declare_after)
        if since < 0:
            return approval, "0", ""
        if since < t.result_wait:
            return approval, "1", ""
        if since < t.result_after:
            return approval, "2", ""
        if doc.nts_failure:
            return approval, "5", doc.nts_failure
        return approval, "4", "SUC001"

    def _render(self, doc: _Document) -> dict[str, Any]:
        now = self.clock.time()
        approval, declare, code = self._state(doc, now)
        mailed = now - doc.created >= self.timings.mail_after or approval in ("T", "R", "S", "B")
        sent_at = dt.datetime.fromtimestamp(doc.created + self.timings.mail_after, tz=KST)
        return {
            **doc.body,
            "amendment": dict(doc.amendment),
            "mail": {
                "readStatus": "C" if approval in ("R", "S", "B") else "R",
                "sendDate": sent_at.strftime("%Y-%m-%d %H:%M:%S") if mailed else "",
                "sendResultCode": "0" if mailed else "",
                "sendResultMessage": "",
            },
            "status": {
                "approvalStatus": approval,
                "declareStatus": declare,
                "declareStatusCode": code,
                "issueId": doc.issue_id if declare != "0" else "",
            },
            "linkedDocument": {"amendmentOriginal": doc.original_document, "statementPair": ""},
            "files": list(doc.files),
        }

    def _closure(self, bizno: str) -> dict[str, str]:
        known = self.businesses.get(bizno)
        if known is None:
            if checksum_ok(bizno):
                known = _business("01")
            else:
                known = {"status": "", "statusCode": "", "taxType": _UNREGISTERED, "taxTypeCode": "",
                         "endDate": "", "utcc": "", "taxTypeChangeDate": "", "invoiceApplyDate": ""}
        keys = ("status", "statusCode", "taxType", "taxTypeCode", "endDate", "utcc", "taxTypeChangeDate",
                "invoiceApplyDate")
        return {"idn": bizno, **{k: known.get(k, "") for k in keys}}

    # -- validation -----------------------------------------------------------------------------
    @staticmethod
    def _easy_sign(data: dict[str, Any]) -> bool:
        value = data.get("easySign")
        if value is None:
            return False
        if value not in ("Y", "N"):
            raise _Refusal(400, _INVALID, 'easySign은 대문자 "Y" 또는 "N" 이어야 합니다.')
        return bool(value == "Y")

    @staticmethod
    def _files(data: dict[str, Any]) -> list[dict[str, Any]]:
        files: list[dict[str, Any]] = []
        for key, kind in (("tempFileIds", "DOCUMENT"), ("officeFileIds", "DOCUMENT")):
            ids = data.get(key) or []
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise _Refusal(400, _INVALID, f"{key}는 숫자 id 목록이어야 합니다.")
            files.extend({"id": i, "type": kind, "name": f"{key[:-3]}-{i}.pdf", "size": "1024"} for i in ids)
        return files

    def _check_document(self, data: Any, where: str, *, amendment: bool = False) -> dict[str, Any]:
        """Validate one document like Hiworks does; returns it as GET will show it."""
        if not isinstance(data, dict):
            raise _Refusal(400, _INVALID, f"{where or 'data'} 객체가 필요합니다.")
        self._files(data)
        info = data.get("information")
        if not isinstance(info, dict):
            raise _Refusal(400, _INVALID, f"{where}information 객체가 필요합니다.")
        issue_text = str(info.get("issueDate") or "")
        try:
            if not _DATE.match(issue_text):
                raise ValueError(issue_text)
            issue_date = dt.date.fromisoformat(issue_text)
        except ValueError as exc:
            raise _Refusal(400, _INVALID,
                           f"{where}information.issueDate는 YYYY-MM-DD 형식이어야 합니다.") from exc
        total_supply = _number(info, "totalSupplyPrice", f"{where}information")
        total_tax = _number(info, "totalTax", f"{where}information")

        kind = data.get("invoiceType")
        if not isinstance(kind, dict):
            raise _Refusal(400, _INVALID, f"{where}invoiceType 객체가 필요합니다.")
        allowed = ("A", "B", "M", "N") if amendment else ("A", "B", "D")
        type_code = kind.get("typeCode")
        if type_code not in allowed:
            raise _Refusal(400, _INVALID,
                           f"{where}invoiceType.typeCode는 {', '.join(allowed)} 중 하나여야 합니다.")
        tax_type = kind.get("taxType")
        if tax_type not in ("A", "B"):
            raise _Refusal(400, _INVALID, f"{where}invoiceType.taxType은 A(과세) 또는 B(영세/면세)여야 합니다.")
        if kind.get("purposeType") not in ("C", "R"):
            raise _Refusal(400, _INVALID, f"{where}invoiceType.purposeType은 C(청구) 또는 R(영수)여야 합니다.")
        transaction = kind.get("transactionType") or "S"
        if transaction != "S":
            raise _Refusal(400, _INVALID, "매입 세금계산서는 지원되지 않습니다. transactionType은 S여야 합니다.")
        if type_code in ("B", "N") and tax_type == "A":
            raise _Refusal(400, _INVALID, f"{where}면세 계산서는 taxType이 B여야 합니다.")

        invoicer = data.get("invoicer")
        if isinstance(invoicer, str):
            if not _DASHED.match(invoicer):
                raise _Refusal(400, _INVALID, f"{where}invoicer 사업자 번호는 000-00-00000 형식이어야 합니다.")
            if invoicer.replace("-", "") != self.office_bizno:
                raise _Refusal(400, _INVALID, f"{where}하이웍스 오피스에 등록된 사업자 번호가 아닙니다.")
            invoicer_body = dict(self._office_party)
        elif isinstance(invoicer, dict):
            invoicer_body = _party(invoicer, f"{where}invoicer")
            if invoicer_body["companyNumber"] != self.office_bizno:
                raise _Refusal(400, _INVALID, f"{where}하이웍스 오피스에 등록된 사업자 번호가 아닙니다.")
        else:
            raise _Refusal(400, _INVALID, f"{where}invoicer(공급자)는 필수입니다.")

        invoicee = data.get("invoicee")
        if not isinstance(invoicee, dict):
            raise _Refusal(400, _INVALID, f"{where}invoicee(공급받는자) 객체가 필요합니다.")
        invoicee_body = _party(invoicee, f"{where}invoicee", buyer=True)

        items = data.get("items")
        if not isinstance(items, list) or not items:
            raise _Refusal(400, _INVALID, f"{where}items는 1개 이상이어야 합니다.")
        if len(items) > 100:
            raise _Refusal(400, _INVALID, f"{where}항목(items)은 최대 100개까지 입력할 수 있습니다.")
        rendered_items = []
        supply_sum = tax_sum = 0
        for n, item in enumerate(items, start=1):
            label = f"{where}items[{n - 1}]"
            if not isinstance(item, dict):
                raise _Refusal(400, _INVALID, f"{label} 객체가 필요합니다.")
            month, day = str(item.get("month") or ""), str(item.get("day") or "")
            if not re.match(r"^(0[1-9]|1[0-2])$", month) or not re.match(r"^(0[1-9]|[12]\d|3[01])$", day):
                raise _Refusal(400, _INVALID, f"{label}.month, day는 01~12, 01~31 형식이어야 합니다.")
            if (int(month), int(day)) > (issue_date.month, issue_date.day):
                raise _Refusal(400, _INVALID, f"{label} 항목 일자가 작성일자 이후입니다. (선발행 오류)")
            supply, tax = _number(item, "supplyPrice", label), _number(item, "tax", label)
            for key in ("quantity", "unitPrice"):
                value = item.get(key)
                if value not in (None, "") and not _DECIMAL.match(str(value)):
                    raise _Refusal(400, _INVALID, f"{label}.{key}는 소수점 2자리까지의 숫자여야 합니다.")
            supply_sum += supply
            tax_sum += tax
            rendered_items.append({
                "month": month, "day": day, "subject": str(item.get("subject") or ""),
                "unit": str(item.get("unit") or ""), "quantity": str(item.get("quantity") or ""),
                "unitPrice": str(item.get("unitPrice") or ""), "supplyPrice": str(supply), "tax": str(tax),
                "description": str(item.get("description") or ""),
            })
        if supply_sum != total_supply:
            raise _Refusal(400, _INVALID, f"{where}총 공급가액({total_supply})이 "
                           f"항목 공급가액의 합({supply_sum})과 일치하지 않습니다.")
        if tax_sum != total_tax:
            raise _Refusal(400, _INVALID,
                           f"{where}총 세액({total_tax})이 항목 세액의 합({tax_sum})과 일치하지 않습니다.")
        if tax_type == "B" and type_code != "D" and total_tax != 0:
            raise _Refusal(400, _INVALID, f"{where}영세율 또는 면세 문서에는 세액이 있을 수 없습니다.")
        payments = {k: _number(info, k, f"{where}information", required=False)
                    for k in ("cash", "check", "draft", "uncollected")}
        paid = sum(payments.values())
        if paid and paid != total_supply + total_tax:
            raise _Refusal(400, _INVALID, f"{where}결제 수단의 합({paid})이 "
                           f"합계 금액({total_supply + total_tax})과 일치하지 않습니다.")
        information = {
            "issueDate": issue_text, "memo": str(info.get("memo") or ""), "bookNo": str(info.get("bookNo") or "-"),
            "serial": str(info.get("serial") or ""), "description": str(info.get("description") or ""),
            **{k: str(v) for k, v in payments.items()},
            "totalSupplyPrice": str(total_supply), "totalTax": str(total_tax),
        }
        return {
            "information": information,
            "invoiceType": {"typeCode": type_code, "transactionType": "S", "purposeType": kind["purposeType"],
                            "taxType": tax_type},
            "invoicer": invoicer_body,
            "invoicee": invoicee_body,
            "items": rendered_items,
        }


def _number(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> int:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise _Refusal(400, _INVALID, f"{where}.{key}는 필수입니다.")
        return 0
    text = str(value).strip()
    if isinstance(value, bool) or not _NUMBER.match(text):
        raise _Refusal(400, _INVALID, f"{where}.{key}는 18자리 이내의 정수여야 합니다.")
    return int(text)


def _contact(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Refusal(400, _INVALID, f"{where} 연락처 객체가 필요합니다.")
    name, email = str(value.get("name") or "").strip(), str(value.get("email") or "").strip()
    if not name:
        raise _Refusal(400, _INVALID, f"{where}.name(담당자 명)은 필수입니다.")
    if not _EMAIL.match(email):
        raise _Refusal(400, _INVALID, f"{where}.email은 name@domain.com 형식이어야 합니다.")
    return {"name": name, "email": email, "cell": str(value.get("cell") or ""), "phone": str(value.get("phone") or "")}


def _party(value: dict[str, Any], where: str, *, buyer: bool = False) -> dict[str, Any]:
    number = str(value.get("companyNumber") or "").replace("-", "").strip()
    if not number:
        raise _Refusal(400, _INVALID, f"{where}.companyNumber(사업자 등록 번호)는 필수입니다.")
    party_type = str(value.get("partyTypeCode") or "01")
    if party_type not in ("01", "02", "03"):
        raise _Refusal(400, _INVALID, f"{where}.partyTypeCode는 01, 02, 03 중 하나여야 합니다.")
    valid = {"01": _DIGITS10.match(number) is not None,
             "02": re.match(r"^\d{13}$", number) is not None,
             "03": number == "9" * 13}[party_type]
    if not valid:
        raise _Refusal(400, _INVALID, f"{where}.companyNumber가 partyTypeCode {party_type}에 맞지 않습니다.")
    for key, limit in (("companyName", 200), ("ceoName", 100)):
        text = str(value.get(key) or "").strip()
        if not text or len(text) > limit:
            raise _Refusal(400, _INVALID, f"{where}.{key}는 필수이며 최대 {limit}자입니다.")
    party: dict[str, Any] = {
        "companyNumber": number,
        "taxNumber": str(value.get("taxNumber") or ""),
        "companyName": str(value["companyName"]).strip(),
        "ceoName": str(value["ceoName"]).strip(),
        "companyAddress": str(value.get("companyAddress") or ""),
        "bizType": str(value.get("bizType") or ""),
        "bizClassification": str(value.get("bizClassification") or ""),
        "primaryContact": _contact(value.get("primaryContact"), f"{where}.primaryContact"),
    }
    if buyer:
        party["partyTypeCode"] = party_type
        secondary = value.get("secondaryContact")
        if secondary is not None:
            party["secondaryContact"] = _contact(secondary, f"{where}.secondaryContact")
    return party

