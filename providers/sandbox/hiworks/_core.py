"""State, the document clock and the request plumbing (auth, rate limit, envelope) of the Hiworks sandbox."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from aiohttp import web

from providers.bizno import checksum_ok
from providers.config import DEMO_HIWORKS, DEMO_SELLER_BIZNO, HiworksConfig, SellerConfig
from providers.sandbox.base import KST, Faults, Sandbox, SandboxClock
from providers.sandbox.hiworks._store import (
    _ALNUM,
    _UNREGISTERED,
    HiworksTimings,
    _business,
    _Document,
    _errors,
    _Refusal,
)
from providers.sandbox.hiworks._validate import check_document, easy_sign, files_of


class _HiworksCore(Sandbox):
    """Documents, the lazily computed approval/NTS state, and the helpers every route shares."""

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
        # The budget is 1,000 *successful* calls a day per office token (reference/providers.md
        # §3, H2): a refused or failed call does not spend it.
        bucket = self._bucket(request)
        if self.enforce_rate_limit and self._calls.get(bucket, 0) >= self.rate_limit:
            midnight = dt.datetime.combine(bucket[1] + dt.timedelta(days=1), dt.time(), tzinfo=KST)
            wait = max(1, int(midnight.timestamp() - self.clock.time()))
            return _errors(429, "Too Many Requests", "일일 API 호출 한도를 초과했습니다.",
                           headers={"Retry-After": str(wait)})
        response = await handler(request)
        if response.status < 400:
            self._calls[bucket] = self._calls.get(bucket, 0) + 1
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
    _easy_sign = staticmethod(easy_sign)
    _files = staticmethod(files_of)

    def _check_document(self, data: Any, where: str, *, amendment: bool = False) -> dict[str, Any]:
        """Validate one document like Hiworks does; returns it as GET will show it."""
        return check_document(data, where, amendment=amendment, office_bizno=self.office_bizno,
                              office_party=self._office_party)
