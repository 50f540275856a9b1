"""Popbill + LinkHub sandbox: one port serves the LinkHub auth paths and the Popbill API.

So any faithful client works against it, the official SDK included (point `linkhub.authURL`
and the API host at the same URL). What it implements:

* LinkHub ``POST /POPBILL/Token``, ``POST /POPBILL_TEST/Token`` with the HMAC-SHA256
  signature verified over the raw body, a stale ``x-lh-date`` refused, tokens issued for a
  configurable TTL with a 24-character ``YYYY-MM-DDTHH:MM:SS.fffZ`` expiration; ``GET /Time``.
* Bearer tokens checked on every API call: unknown, expired, wrong scope for the path
  (110 Taxinvoice, 140 Cashbill, 170 CloseDown) or another member's documents are refused.
* Taxinvoice, Cashbill and CloseDown with the SDK's paths and overrides, request validation,
  and the state machine: issued 300 -> (NTS filing) 302 -> 303 -> 304 / 305, or
  cancelled 600 -> deleted (which frees the MgtKey). Cash receipts: 300 -> 304 / 305, or
  cancelled 400 -> deleted; a filed receipt is revoked by a cancellation receipt (취소거래).
  NTS progress is computed lazily from `self.clock` on every read, so 10,000 documents cost
  nothing until they are looked at. sendToNTS starts filing at once.
* Popup/view/print/PDF/mail URLs pointing at ``/App/API`` on this server (a small HTML
  page, or a tiny PDF), valid 30 seconds like Popbill's (the mail URL does not expire).

Error codes. Where Popbill's published table has the case, its code is used [docs];
otherwise a code in the same family was chosen for the sandbox [sandbox]:

    -11000005 [docs] taxinvoice MgtKey not found          -14000003 [docs] cashbill MgtKey not found
    -11000000 [docs] no invoice for this ItemKey           -14001019 [docs] cashbill MgtKey already in use
    -11000001 [docs] not possible in the current state     -14000010 [sandbox] not possible in this state
    -11001000 [docs] invoicer is not the token's member    -14001001/-14001002 [docs] franchiseCorpNum
    -11001001/3/4/5/12/13/14/15/16 [docs] missing fields   -14001004/08/10..15/17/18 [docs] missing fields
    -11001021 [docs] invalid buyer business number         -14001020/21/23 [docs] cancellation receipts
    -11001099 [sandbox] taxinvoice MgtKey already in use   -14001030 [sandbox] total != supply+tax+fee
    -11001090..98 [sandbox] other taxinvoice validation    -17000000..03 [docs] CloseDown input
    -10000033 [docs "token interpretation failed"] unknown/expired/wrong-scope token
    -10000034 [docs] no token;  -10000029 [docs] token used from another IP
    -99999994..97 [sandbox; -99999997 as in the reference capture] LinkHub refusals

Admin routes (besides the base ``/_sandbox/*``)::

    POST /_sandbox/popbill/settings   {"token_ttl", "date_tolerance", "nts_file_after",
                                       "nts_result_after", "nts_fail_biznos", "nts_fail_code"}
    POST /_sandbox/popbill/closedown  {"<bizno>": {"state": "2", "stateDate": "20240101", ...}}
    POST /_sandbox/popbill/nts        {"kind": "taxinvoice"|"cashbill", "corpNum", "mgtKey",
                                       "fail": bool, "code": "SYN002", "now": bool}
    POST /_sandbox/popbill/tokens/expire   every issued token stops working
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs

from aiohttp import web

from providers.bizno import checksum_ok
from providers.config import DEMO_POPBILL, PopbillConfig
from providers.sandbox.base import Faults, Sandbox, SandboxClock, json_response

__all__ = ["PopbillSandbox"]

KST = dt.timezone(dt.timedelta(hours=9), "KST")
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

# A minimal one-page PDF, enough for a viewer to open.
_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>"
        b"endobj\n4 0 obj<</Length 58>>stream\nBT /F1 18 Tf 72 770 Td (Popbill sandbox document) Tj ET\n"
        b"endstream endobj\n5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n")


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


class PopbillSandbox(Sandbox):
    """Popbill and LinkHub on one loopback port.

    Args:
        config: credentials accepted (its LinkID/SecretKey), else the DEMO_POPBILL ones.
        token_ttl: lifetime of issued tokens in seconds.
        date_tolerance: how far `x-lh-date` may be from the sandbox clock.
        nts_file_after: seconds after issuance at which Popbill files with the NTS by itself.
        nts_result_after: seconds from the start of filing to the NTS result.
        nts_fail_biznos: buyers (invoiceeCorpNum / identityNum) whose filings fail.
    """

    name: ClassVar[str] = "popbill"

    def __init__(
        self,
        config: PopbillConfig | None = None,
        *,
        faults: Faults | None = None,
        clock: SandboxClock | None = None,
        token_ttl: float = 3600.0,
        date_tolerance: float = 300.0,
        nts_file_after: float = 86400.0,
        nts_result_after: float = 60.0,
        nts_fail_biznos: Iterable[str] = (),
    ) -> None:
        creds = config if config is not None and config.configured else DEMO_POPBILL
        assert creds.link_id and creds.secret_key
        self.credentials = {creds.link_id: creds.secret_key.get_secret_value()}
        self.member = creds.corp_num
        self.token_ttl = token_ttl
        self.date_tolerance = date_tolerance
        self.nts_file_after = nts_file_after
        self.nts_result_after = nts_result_after
        self.nts_fail_biznos = set(nts_fail_biznos)
        self.nts_fail_code = "ERR002"
        super().__init__(faults=faults, clock=clock)

    # -- state ---------------------------------------------------------------------------------
    def reset_state(self) -> None:
        self.tokens: dict[str, _Token] = {}
        self.docs: dict[tuple[str, str, str], _Doc] = {}  # (kind, corp, MgtKey)
        self.items: dict[str, _Doc] = {}  # ItemKey -> document
        self.bulks: dict[tuple[str, str, str], _Bulk] = {}  # (kind, corp, SubmitID)
        self.urls: dict[str, tuple[_Doc, str, float | None]] = {}
        self.closedown: dict[str, dict[str, Any]] = {}
        self._seq = 0
        self.token_requests = 0

    def seed(self) -> None:
        """Demo documents for the member: issued, filed, filing failed, cancelled, and one issued
        on the website without a MgtKey (for assignMgtKey); two cash receipts; closure answers."""
        now = self.clock.time()
        corp = self.member
        day = 86400.0
        for key, age, fail in (("DEMO-TI-001", 2 * day, False), ("DEMO-TI-002", 0.0, False),
                               ("DEMO-TI-003", 0.0, False), ("DEMO-TI-004", 2 * day, True)):
            doc = self._new_doc("taxinvoice", corp, key, _demo_taxinvoice(corp, key, now - age), now - age)
            doc.nts_fail = fail
            doc.nts_code = "SYN002" if fail else None
        cancelled = self.docs[("taxinvoice", corp, "DEMO-TI-003")]
        cancelled.canceled_at = now
        cancelled.events.append((now, 240, "demo"))
        self._new_doc("taxinvoice", corp, None, _demo_taxinvoice(corp, "", now - day), now - day)
        for key, age in (("DEMO-CB-001", 0.0), ("DEMO-CB-002", 2 * day)):
            self._new_doc("cashbill", corp, key, _demo_cashbill(corp, key, now - age), now - age)
        self.closedown.update({
            "6798700433": {"taxType": "10", "typeDate": "20200101", "state": "1", "stateDate": ""},
            "1231212312": {"taxType": "10", "typeDate": "20150701", "state": "2", "stateDate": "20230331"},
            "2208875476": {"taxType": "30", "typeDate": "20190101", "state": "3", "stateDate": "20240115"},
        })

    def snapshot(self) -> dict[str, Any]:
        now = self.clock.time()
        return {
            "tokens": len(self.tokens),
            "token_requests": self.token_requests,
            "documents": [
                {"kind": d.kind, "corpNum": d.corp, "mgtKey": d.key, "itemKey": d.item_key,
                 "stateCode": self._state(d, now)[0]}
                for d in self.items.values()
            ],
            "bulk_submissions": [b.submit_id for b in self.bulks.values()],
            "settings": self._settings(),
        }

    def _settings(self) -> dict[str, Any]:
        return {"token_ttl": self.token_ttl, "date_tolerance": self.date_tolerance,
                "nts_file_after": self.nts_file_after, "nts_result_after": self.nts_result_after,
                "nts_fail_biznos": sorted(self.nts_fail_biznos), "nts_fail_code": self.nts_fail_code}

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _new_doc(self, kind: str, corp: str, key: str | None, body: dict[str, Any], when: float) -> _Doc:
        n = self._next()
        stamp = dt.datetime.fromtimestamp(when, KST)
        item_key = f"0{stamp:%y%m%d}{10_000_000_000 + n:011d}"
        confirm = f"{stamp:%Y%m%d}41{n:014d}" if kind == "taxinvoice" else f"TB{n:07d}"
        buyer = body.get("invoiceeCorpNum") if kind == "taxinvoice" else body.get("identityNum")
        doc = _Doc(kind=kind, corp=corp, key=key, item_key=item_key, body=body, registered_at=when,
                   confirm_num=confirm, nts_fail=buyer in self.nts_fail_biznos,
                   nts_code=self.nts_fail_code if buyer in self.nts_fail_biznos else None)
        doc.events.append((when, 230, ""))
        if key is not None:
            self.docs[(kind, corp, key)] = doc
        self.items[item_key] = doc
        return doc

    def _drop_doc(self, doc: _Doc) -> None:
        if doc.key is not None:
            self.docs.pop((doc.kind, doc.corp, doc.key), None)
        self.items.pop(doc.item_key, None)

    # -- the NTS clock ---------------------------------------------------------------------------
    def _filing_start(self, doc: _Doc) -> float:
        auto = doc.registered_at + self.nts_file_after
        return auto if doc.filing_started is None else min(doc.filing_started, auto)

    def _state(self, doc: _Doc, now: float) -> tuple[int, float]:
        """(stateCode, when it was entered), computed from the timestamps."""
        if doc.canceled_at is not None:
            return (600 if doc.kind == "taxinvoice" else 400), doc.canceled_at
        start = self._filing_start(doc)
        if now < start:
            return 300, doc.registered_at
        done = start + self.nts_result_after
        if now >= done:
            return (305 if doc.nts_fail else 304), done
        if doc.kind == "cashbill":
            return 300, doc.registered_at
        half = start + self.nts_result_after / 2
        return (302, start) if now < half else (303, half)

    # -- app -------------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        r = app.router
        for service_id in SERVICE_IDS:
            r.add_post(f"/{service_id}/Token", self._handle(self._token))
        r.add_get("/Time", self._time)
        r.add_get("/App/API", self._view)
        # Taxinvoice: fixed paths before the {type}/{key} patterns they would otherwise match.
        r.add_post("/Taxinvoice", self._api("Taxinvoice", self._ti_post_root))
        r.add_get("/Taxinvoice", self._api("Taxinvoice", self._ti_cert))
        r.add_get("/Taxinvoice/CertCheck", self._api("Taxinvoice", self._ti_cert_check))
        r.add_get("/Taxinvoice/BULK/{submit_id}/State", self._api("Taxinvoice", self._bulk_result_ti))
        r.add_get("/Taxinvoice/{type}/{key}/Logs", self._api("Taxinvoice", self._ti_logs))
        r.add_get("/Taxinvoice/{type}/{key}", self._api("Taxinvoice", self._ti_get))
        r.add_post("/Taxinvoice/{a}/{b}", self._api("Taxinvoice", self._ti_post_doc))
        r.add_post("/Taxinvoice/{type}", self._api("Taxinvoice", self._ti_infos))
        r.add_get("/Taxinvoice/{type}", self._api("Taxinvoice", self._ti_search))
        # Cashbill
        r.add_post("/Cashbill", self._api("Cashbill", self._cb_post_root))
        r.add_post("/Cashbill/States", self._api("Cashbill", self._cb_infos))
        r.add_get("/Cashbill/Search", self._api("Cashbill", self._cb_search))
        r.add_get("/Cashbill/BULK/{submit_id}/State", self._api("Cashbill", self._bulk_result_cb))
        r.add_get("/Cashbill/{key}", self._api("Cashbill", self._cb_get))
        r.add_post("/Cashbill/{key}", self._api("Cashbill", self._cb_post_doc))
        # CloseDown
        r.add_get("/CloseDown", self._api("CloseDown", self._cd_one))
        r.add_post("/CloseDown", self._api("CloseDown", self._cd_many))
        # admin
        r.add_post("/_sandbox/popbill/settings", self._admin_settings)
        r.add_post("/_sandbox/popbill/closedown", self._admin_closedown)
        r.add_post("/_sandbox/popbill/nts", self._admin_nts)
        r.add_post("/_sandbox/popbill/tokens/expire", self._admin_expire_tokens)

    @staticmethod
    def _error(code: int, message: str, status: int = 400) -> web.Response:
        return json_response({"code": code, "message": message}, status=status)

    def error_500(self) -> web.Response:
        return self._error(-99999999, "일시적인 서버 오류입니다. (sandbox: internal error)", 500)

    def error_503(self, retry_after: int) -> web.Response:
        response = self._error(-99999999, "서비스 점검중입니다. (sandbox: maintenance)", 503)
        response.headers["Retry-After"] = str(retry_after)
        return response

    def error_429(self, retry_after: int) -> web.Response:
        response = self._error(-99999999, "요청이 너무 많습니다. (sandbox: too many requests)", 429)
        response.headers["Retry-After"] = str(retry_after)
        return response

    def _handle(self, fn: Callable[[web.Request], Awaitable[web.StreamResponse]]
                ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except _Reject as reject:
                return self._error(reject.code, reject.message, reject.status)

        return handler

    def _api(self, service: str, fn: Callable[[web.Request, _Token], Awaitable[Any]]
             ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Authenticate the bearer token for `service`, then answer `fn`'s result as JSON."""

        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                token = self._bearer(request, service)
                result = await fn(request, token)
            except _Reject as reject:
                return self._error(reject.code, reject.message, reject.status)
            if isinstance(result, web.StreamResponse):
                return result
            return json_response(result)

        return handler

    # -- LinkHub ---------------------------------------------------------------------------------
    async def _time(self, _request: web.Request) -> web.Response:
        return web.Response(text=self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"), content_type="text/plain")

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        service_id = request.path.split("/")[1]
        body = await request.read()
        parts = request.headers.get("Authorization", "").split(" ")
        if len(parts) != 3 or parts[0] != "LINKHUB":
            raise _Reject(-99999994, "LinkHub 인증정보(Authorization: LINKHUB <LinkID> <Signature>)가 없습니다.", 401)
        _, link_id, signature = parts
        secret = self.credentials.get(link_id)
        if secret is None:
            raise _Reject(-99999997, f"등록되지 않은 LinkID 입니다. (unknown LinkID {link_id})", 401)
        date = request.headers.get("x-lh-date", "")
        version = request.headers.get("x-lh-version", "")
        if version != "2.0":
            raise _Reject(-99999994, "x-lh-version 2.0 이 필요합니다. (x-lh-version must be 2.0)", 401)
        try:
            sent = dt.datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
        except ValueError:
            raise _Reject(-99999995, "x-lh-date 형식이 올바르지 않습니다. (x-lh-date missing or unreadable)",
                          401) from None
        if abs(sent - self.clock.time()) > self.date_tolerance:
            raise _Reject(-99999995, "요청 시간이 허용 범위를 벗어났습니다. (x-lh-date is too far from the server "
                                     "clock; check the system time)", 401)
        forwarded = request.headers.get("x-lh-forwarded")
        lines = ["POST", base64.b64encode(hashlib.sha256(body).digest()).decode(), date]
        if forwarded is not None:
            lines.append(forwarded)
        lines += [version, request.path]
        expected = base64.b64encode(hmac.new(base64.b64decode(secret), "\n".join(lines).encode(),
                                             hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise _Reject(-99999996, "LinkHub 인증에 실패했습니다. (signature mismatch: check the SecretKey)", 401)
        try:
            payload = json.loads(body)
            access_id = str(payload["access_id"])
            scope = [str(s) for s in payload["scope"]]
        except (ValueError, KeyError, TypeError):
            raise _Reject(-99999994, "토큰 요청 본문이 올바르지 않습니다. (body needs access_id and scope)",
                          400) from None
        if not _CORP_NUM.fullmatch(access_id):
            raise _Reject(-10000015, "사업자등록번호가 올바르지 않습니다. (access_id must be 10 digits)", 400)
        session_token = secrets.token_urlsafe(24)
        expires = self.clock.time() + self.token_ttl
        self.tokens[session_token] = _Token(service_id=service_id, link_id=link_id, corp_num=access_id,
                                            scope=frozenset(scope), expires_at=expires,
                                            ip=None if forwarded == "*" else request.remote)
        return json_response({
            "session_token": session_token,
            "serviceID": service_id,
            "linkID": link_id,
            "usercode": "",
            "ipaddress": "*" if forwarded == "*" else (request.remote or ""),
            "expiration": _expiration(expires),
            "scope": scope,
        })

    def _bearer(self, request: web.Request, service: str) -> _Token:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise _Reject(-10000034, "인증 토큰이 입력되지 않았습니다. (Auth token is not entered)", 401)
        token = self.tokens.get(auth[7:].strip())
        if token is None:
            raise _Reject(-10000033, "토큰 해석에 실패했습니다. (unknown token)", 401)
        if token.expires_at <= self.clock.time():
            raise _Reject(-10000033, "토큰이 만료되었습니다. (token expired)", 401)
        needed = SCOPE_BY_SERVICE[service]
        if needed not in token.scope:
            raise _Reject(-10000033, f"토큰의 권한(scope)에 {needed}({service})가 없습니다. "
                                     f"(token scope does not cover {service})", 401)
        if token.ip is not None and request.remote is not None and token.ip != request.remote:
            raise _Reject(-10000029, "토큰을 발급받은 IP와 요청 IP가 다릅니다. (token issued to another IP)", 401)
        return token

    # -- request helpers -----------------------------------------------------------------------
    @staticmethod
    async def _json(request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise _Reject(-99999999, "요청 본문이 JSON 형식이 아닙니다. (body is not JSON)") from None

    def _doc(self, kind: str, token: _Token, key: str, key_type: str = "SELL") -> _Doc:
        not_found = (-11000005, "해당 문서번호에 해당하는 세금계산서가 존재하지 않습니다. "
                                "(Document ID does not exist)") \
            if kind == "taxinvoice" else \
            (-14000003, "해당 문서번호의 현금영수증이 존재하지 않습니다. (no cash receipt for this Document ID)")
        if key_type not in KEY_TYPES:
            raise _Reject(-11001090, f"MgtKeyType {key_type!r} 은 SELL, BUY, TRUSTEE 중 하나여야 합니다.")
        doc = self.docs.get((kind, token.corp_num, key)) if key_type == "SELL" else None
        if doc is None:
            raise _Reject(*not_found)
        return doc

    def _log(self, doc: _Doc, log_type: int, memo: str = "") -> None:
        doc.events.append((self.clock.time(), log_type, memo))

    @staticmethod
    def _ok(message: str = "OK", **extra: Any) -> dict[str, Any]:
        return {"code": 1, "message": message, **extra}

    # -- Taxinvoice ------------------------------------------------------------------------------
    def _ti_info(self, doc: _Doc, now: float) -> dict[str, Any]:
        b = doc.body
        code, since = self._state(doc, now)
        start = self._filing_start(doc)
        filed = code in (304, 305)
        buyer = self._corp_state(str(b.get("invoiceeCorpNum") or ""))
        return {
            "itemKey": doc.item_key,
            "taxType": b.get("taxType"),
            "writeDate": b.get("writeDate"),
            "regDT": _kst(doc.registered_at),
            "issueType": b.get("issueType"),
            "supplyCostTotal": b.get("supplyCostTotal"),
            "taxTotal": b.get("taxTotal"),
            "purposeType": b.get("purposeType"),
            "issueDT": _kst(doc.registered_at),
            "lateIssueYN": bool(b.get("forceIssue")),
            "openYN": False,
            "openDT": None,
            "stateMemo": doc.memo,
            "stateCode": code,
            "stateDT": _kst(since),
            "ntsconfirmNum": doc.confirm_num,
            "ntsresult": ("실패" if code == 305 else "성공") if filed else None,
            "ntssendDT": _kst(start) if code in (302, 303, 304, 305) else None,
            "ntsresultDT": _kst(since) if filed else None,
            "ntssendErrCode": (doc.nts_code or self.nts_fail_code) if code == 305 else ("SUC001" if filed else None),
            "modifyCode": b.get("modifyCode"),
            "interOPYN": doc.key is not None,
            "invoicerCorpName": b.get("invoicerCorpName"),
            "invoicerCorpNum": b.get("invoicerCorpNum"),
            "invoicerMgtKey": doc.key,
            "invoicerPrintYN": False,
            "invoiceeCorpName": b.get("invoiceeCorpName"),
            "invoiceeCorpNum": b.get("invoiceeCorpNum"),
            "invoiceeMgtKey": None,
            "invoiceePrintYN": False,
            "closeDownState": None if buyer["state"] is None else int(buyer["state"]),
            "closeDownStateDate": buyer["stateDate"] or "",
            "trusteeCorpName": None,
            "trusteeCorpNum": None,
            "trusteeMgtKey": None,
            "trusteePrintYN": None,
        }

    def _ti_validate(self, body: Any, token: _Token) -> tuple[str, dict[str, Any]]:
        """Check a Taxinvoice object the way Popbill does before issuing; returns (MgtKey, body)."""
        if not isinstance(body, dict):
            raise _Reject(-11001098, "세금계산서 정보가 입력되지 않았습니다. (no invoice object)")
        required = [
            ("writeDate", -11001001, "작성일자가 입력되지 않았습니다. (writeDate is not entered)"),
            ("issueType", -11001003, "발행형태가 입력되지 않았습니다. (issueType is not entered)"),
            ("purposeType", -11001004, "영수/청구 구분이 입력되지 않았습니다. (purposeType is not entered)"),
            ("taxType", -11001005, "과세형태가 입력되지 않았습니다. (taxType is not entered)"),
            ("chargeDirection", -11001012, "과금방향이 입력되지 않았습니다. (chargeDirection is not entered)"),
            ("invoicerCorpNum", -11001013, "공급자 사업자번호가 입력되지 않았습니다. (invoicerCorpNum is not entered)"),
            ("invoicerCorpName", -11001015, "공급자 상호가 입력되지 않았습니다. (invoicerCorpName is not entered)"),
            ("invoicerCEOName", -11001016, "공급자 대표자 성명이 입력되지 않았습니다. "
                                           "(invoicerCEOName is not entered)"),
            ("invoiceeCorpName", -11001093, "공급받는자 상호가 입력되지 않았습니다. (invoiceeCorpName is not entered)"),
            ("invoiceeCEOName", -11001094, "공급받는자 대표자 성명이 입력되지 않았습니다. "
                                           "(invoiceeCEOName is not entered)"),
            ("supplyCostTotal", -11001095, "공급가액 합계가 입력되지 않았습니다. (supplyCostTotal is not entered)"),
            ("taxTotal", -11001096, "세액 합계가 입력되지 않았습니다. (taxTotal is not entered)"),
            ("totalAmount", -11001097, "합계금액이 입력되지 않았습니다. (totalAmount is not entered)"),
        ]
        for name, code, message in required:
            if body.get(name) in (None, ""):
                raise _Reject(code, message)
        if not _is_date(str(body["writeDate"])):
            raise _Reject(-11001001, "작성일자 형식이 올바르지 않습니다. (writeDate must be yyyyMMdd)")
        if body["taxType"] not in _TAX_TYPES:
            raise _Reject(-11001005, "과세형태는 과세, 영세, 면세 중 하나여야 합니다. (taxType must be 과세/영세/면세)")
        if body["purposeType"] not in ("영수", "청구", "없음"):
            raise _Reject(-11001004, "영수/청구 구분이 올바르지 않습니다. (purposeType must be 영수/청구/없음)")
        corp = str(body["invoicerCorpNum"])
        if not _CORP_NUM.fullmatch(corp):
            raise _Reject(-11001014, "공급자 사업자번호가 올바르지 않습니다. (invalid invoicerCorpNum)")
        if corp != token.corp_num:
            raise _Reject(-11001000, "연동회원 사업자번호와 공급자 사업자번호가 다릅니다. "
                                     "(invoicerCorpNum is not the member of the token)")
        key = str(body.get("invoicerMgtKey") or "")
        if not _MGT_KEY.fullmatch(key):
            raise _Reject(-11001091, "문서번호는 1~24자리 영문, 숫자, '-', '_' 로 입력해야 합니다. "
                                     "(invalid invoicerMgtKey)")
        buyer = str(body.get("invoiceeCorpNum") or "")
        if body.get("invoiceeType", "사업자") == "사업자" and not _CORP_NUM.fullmatch(buyer):
            raise _Reject(-11001021, "공급받는자 사업자등록번호가 유효하지 않습니다. (invalid invoiceeCorpNum)")
        details = body.get("detailList") or []
        if not isinstance(details, list) or len(details) > 99:
            raise _Reject(-11001098, "품목은 최대 99개까지 입력할 수 있습니다. (detailList: at most 99 lines)")
        try:
            supply_total, tax_total, total = (_amount(body[n]) for n in ("supplyCostTotal", "taxTotal", "totalAmount"))
            supplies = [_amount(d.get("supplyCost") or 0) for d in details]
            taxes = [_amount(d.get("tax") or 0) for d in details]
        except (ValueError, AttributeError):
            raise _Reject(-11001098, "금액은 숫자로 입력해야 합니다. (amounts must be numbers)") from None
        if details and sum(supplies) != supply_total:
            raise _Reject(-11001095, f"공급가액 합계({supply_total})가 품목 공급가액의 합({sum(supplies)})과 다릅니다. "
                                     "(supplyCostTotal != sum of detail supplyCost)")
        if details and sum(taxes) != tax_total:
            raise _Reject(-11001096, f"세액 합계({tax_total})가 품목 세액의 합({sum(taxes)})과 다릅니다. "
                                     "(taxTotal != sum of detail tax)")
        if supply_total + tax_total != total:
            raise _Reject(-11001097, f"합계금액({total})이 공급가액 합계 + 세액 합계({supply_total + tax_total})와 "
                                     "다릅니다. (totalAmount != supplyCostTotal + taxTotal)")
        if body["taxType"] != "과세" and tax_total != 0:
            raise _Reject(-11001096, "영세/면세 세금계산서의 세액은 0 이어야 합니다. "
                                     "(zero-rated/exempt: taxTotal must be 0)")
        if ("taxinvoice", token.corp_num, key) in self.docs:
            raise _Reject(-11001099, "이미 사용중인 문서번호입니다. (the invoicerMgtKey is already in use)")
        return key, body

    def _ti_issue(self, body: Any, token: _Token) -> _Doc:
        key, body = self._ti_validate(body, token)
        stored = {k: v for k, v in body.items() if k not in ("memo", "emailSubject", "writeSpecification",
                                                             "dealInvoiceMgtKey")}
        stored.setdefault("addContactList", [])
        doc = self._new_doc("taxinvoice", token.corp_num, key, stored, self.clock.time())
        doc.memo = body.get("memo")
        return doc

    async def _ti_post_root(self, request: web.Request, token: _Token) -> dict[str, Any]:
        override = request.headers.get("X-HTTP-Method-Override")
        if override == "ISSUE":
            doc = self._ti_issue(await self._json(request), token)
            return self._ok("발행 완료", ntsConfirmNum=doc.confirm_num)
        if override == "BULKISSUE":
            return await self._bulk_submit(request, token, "taxinvoice")
        raise _Reject(-11001092, f"지원하지 않는 요청입니다. (X-HTTP-Method-Override {override!r} on /Taxinvoice)")

    async def _ti_cert(self, request: web.Request, _token: _Token) -> dict[str, Any]:
        if request.query.get("cfg") != "CERT":
            raise _Reject(-11001092, "지원하지 않는 요청입니다. (GET /Taxinvoice needs cfg=CERT)")
        expires = dt.datetime.fromtimestamp(self.clock.time() + 365 * 86400, KST)
        return {"certificateExpiration": f"{expires:%Y%m%d}235959"}

    async def _ti_cert_check(self, _request: web.Request, _token: _Token) -> dict[str, Any]:
        return self._ok("인증서가 유효합니다. (sandbox certificate is valid)")

    async def _ti_get(self, request: web.Request, token: _Token) -> dict[str, Any]:
        doc = self._doc("taxinvoice", token, request.match_info["key"], request.match_info["type"])
        now = self.clock.time()
        if "Detail" in request.query:
            detail = dict(doc.body)
            detail["ntsconfirmNum"] = doc.confirm_num
            return detail
        if "TG" in request.query:
            return {"url": self._view_url(request, doc, request.query["TG"])}
        return self._ti_info(doc, now)

    async def _ti_logs(self, request: web.Request, token: _Token) -> list[dict[str, Any]]:
        doc = self._doc("taxinvoice", token, request.match_info["key"], request.match_info["type"])
        now = self.clock.time()
        events = list(doc.events)
        code, since = self._state(doc, now)
        if doc.canceled_at is None and code != 300:
            start = self._filing_start(doc)
            events.append((start, 250, ""))
            if code in (303, 304, 305):
                events.append((start + self.nts_result_after / 2, 252, ""))
            if code in (304, 305):
                events.append((since, 255 if code == 305 else 254, ""))
        events.sort(key=lambda e: e[0])
        corp_name = doc.body.get("invoicerCorpName")
        return [
            {"docLogType": log_type, "log": _TI_LOG.get(log_type, str(log_type)),
             "procType": "시스템" if log_type >= 250 else "연동", "procCorpName": corp_name,
             "procContactName": doc.body.get("invoicerContactName"), "procMemo": memo, "regDT": _kst(when),
             "ip": "127.0.0.1"}
            for when, log_type, memo in events
        ]

    async def _ti_post_doc(self, request: web.Request, token: _Token) -> dict[str, Any]:
        a, b = request.match_info["a"], request.match_info["b"]
        override = request.headers.get("X-HTTP-Method-Override")
        if a not in KEY_TYPES and b in KEY_TYPES:
            return await self._assign(request, token, "taxinvoice", a)
        doc = self._doc("taxinvoice", token, b, a)
        body = await self._json(request)
        now = self.clock.time()
        code = self._state(doc, now)[0]
        if override == "CANCELISSUE":
            if code != 300:
                raise _Reject(-11000001, f"발행 상태(300)의 세금계산서만 발행취소할 수 있습니다. (state {code}: "
                                         "only an issued invoice not yet sent to the NTS can be cancelled)")
            doc.canceled_at = now
            doc.memo = (body or {}).get("memo") if isinstance(body, dict) else None
            self._log(doc, 240, doc.memo or "")
            return self._ok("발행취소 완료")
        if override == "DELETE":
            if code != 600:
                raise _Reject(-11000001, f"발행취소(600) 상태의 세금계산서만 삭제할 수 있습니다. (state {code}: only a "
                                         "cancelled invoice can be deleted)")
            self._drop_doc(doc)
            return self._ok("삭제 완료")
        if override == "NTS":
            if code != 300:
                raise _Reject(-11000001, f"발행 상태(300)의 세금계산서만 국세청에 즉시전송할 수 있습니다. "
                                         f"(state {code})")
            doc.filing_started = now
            memo = str((body or {}).get("memo") or "") if isinstance(body, dict) else ""
            found = _NTS_CODE.search(memo)
            if found:  # the testbed lets a memo such as "ERR002" simulate a filing failure
                doc.nts_fail, doc.nts_code = True, found.group(1)
            return self._ok("국세청 즉시전송 요청 완료")
        if override in ("EMAIL", "SMS", "FAX"):
            return self._resend(doc, override, body, code)
        raise _Reject(-11001092, f"지원하지 않는 요청입니다. (X-HTTP-Method-Override {override!r})")

    def _resend(self, doc: _Doc, override: str, body: Any, code: int) -> dict[str, Any]:
        if code in (400, 600):
            raise _Reject(-11000001 if doc.kind == "taxinvoice" else -14000010,
                          "발행취소된 문서는 재전송할 수 없습니다. (a cancelled document cannot be resent)")
        if not isinstance(body, dict) or not body.get("receiver"):
            raise _Reject(-99999999, "수신자 정보가 입력되지 않았습니다. (receiver is not entered)")
        if override in ("SMS", "FAX") and not body.get("sender"):
            raise _Reject(-99999999, "발신번호가 입력되지 않았습니다. (sender is not entered)")
        log_type = {"EMAIL": 111, "SMS": 112, "FAX": 113}[override]
        self._log(doc, log_type, str(body["receiver"]))
        messages = {"EMAIL": "메일 재전송 완료", "SMS": "문자 전송 요청 완료", "FAX": "팩스 전송 요청 완료"}
        return self._ok(messages[override])

    async def _assign(self, request: web.Request, token: _Token, kind: str, item_key: str) -> dict[str, Any]:
        if request.headers.get("X-HTTP-Method-Override", None) not in ("", None):
            raise _Reject(-99999999, "지원하지 않는 요청입니다. (assignMgtKey takes no method override)")
        doc = self.items.get(item_key)
        if not _ITEM_KEY.fullmatch(item_key) or doc is None or doc.kind != kind or doc.corp != token.corp_num:
            code = -11000000 if kind == "taxinvoice" else -14000000
            raise _Reject(code, "해당 팝빌번호(ItemKey)의 문서가 존재하지 않습니다. (no document for this ItemKey)")
        form = parse_qs((await request.read()).decode("utf-8", "replace"))
        key = (form.get("MgtKey") or [""])[0]
        if not _MGT_KEY.fullmatch(key):
            raise _Reject(-11001091 if kind == "taxinvoice" else -14001099,
                          "문서번호는 1~24자리 영문, 숫자, '-', '_' 로 입력해야 합니다. (invalid MgtKey)")
        if doc.key is not None:
            raise _Reject(-11001092 if kind == "taxinvoice" else -14001099,
                          f"이미 문서번호({doc.key})가 할당된 문서입니다. (the document already has a MgtKey)")
        if (kind, doc.corp, key) in self.docs:
            raise _Reject(-11001099 if kind == "taxinvoice" else -14001019,
                          "이미 사용중인 문서번호입니다. (the MgtKey is already in use)")
        doc.key = key
        if kind == "taxinvoice":
            doc.body["invoicerMgtKey"] = key
        else:
            doc.body["mgtKey"] = key
        self.docs[(kind, doc.corp, key)] = doc
        self._log(doc, 125, key)
        return self._ok("할당 완료")

    async def _ti_infos(self, request: web.Request, token: _Token) -> list[dict[str, Any]]:
        key_type = request.match_info["type"]
        if key_type not in KEY_TYPES:
            raise _Reject(-11001090, f"MgtKeyType {key_type!r} 은 SELL, BUY, TRUSTEE 중 하나여야 합니다.")
        keys = await self._json(request)
        self._check_key_list(keys, -11001092)
        now = self.clock.time()
        found = (self.docs.get(("taxinvoice", token.corp_num, str(k))) for k in keys) if key_type == "SELL" else ()
        return [self._ti_info(d, now) for d in found if d is not None]

    @staticmethod
    def _check_key_list(keys: Any, code: int) -> None:
        if not isinstance(keys, list) or not keys:
            raise _Reject(code, "문서번호 목록이 입력되지 않았습니다. (a JSON array of MgtKeys is required)")
        if len(keys) > 1000:
            raise _Reject(code, "최대 1,000건까지 조회할 수 있습니다. (at most 1,000 keys per call)")

    async def _ti_search(self, request: web.Request, token: _Token) -> dict[str, Any]:
        q = request.query
        if request.match_info["type"] not in KEY_TYPES:
            raise _Reject(-11001090, "MgtKeyType 은 SELL, BUY, TRUSTEE 중 하나여야 합니다.")
        d_type, s_date, e_date = q.get("DType", ""), q.get("SDate", ""), q.get("EDate", "")
        if d_type not in ("R", "W", "I") or not _is_date(s_date) or not _is_date(e_date):
            raise _Reject(-11001092, "검색 조건(DType R/W/I, SDate, EDate yyyyMMdd)이 올바르지 않습니다.")
        now = self.clock.time()
        states = _list(q.get("State"))
        tax_types = _list(q.get("TaxType"))
        needle = q.get("QString", "")
        mgt_key = q.get("MgtKey", "")
        rows: list[tuple[str, dict[str, Any]]] = []
        for (kind, corp, _key), doc in self.docs.items():
            if kind != "taxinvoice" or corp != token.corp_num or request.match_info["type"] != "SELL":
                continue
            info = self._ti_info(doc, now)
            when = {"W": str(info["writeDate"]), "R": str(info["regDT"])[:8], "I": str(info["issueDT"])[:8]}[d_type]
            if not s_date <= when <= e_date:
                continue
            if states and not any(_state_match(p, info["stateCode"]) for p in states):
                continue
            if tax_types and _TAX_TYPES.get(str(info["taxType"])) not in tax_types:
                continue
            if needle and needle not in str(info["invoiceeCorpName"]) and needle not in str(info["invoiceeCorpNum"]):
                continue
            if mgt_key and mgt_key not in (doc.key, doc.confirm_num):
                continue
            rows.append((when + str(info["regDT"]), info))
        return self._page(rows, q)

    @staticmethod
    def _page(rows: list[tuple[str, dict[str, Any]]], q: Any) -> dict[str, Any]:
        rows.sort(key=lambda r: r[0], reverse=q.get("Order", "D") != "A")
        try:
            page = max(1, int(q.get("Page", "1")))
            per_page = min(1000, max(1, int(q.get("PerPage", "500"))))
        except ValueError:
            raise _Reject(-99999999, "Page/PerPage 는 숫자여야 합니다.") from None
        total = len(rows)
        chunk = [info for _, info in rows[(page - 1) * per_page: page * per_page]]
        return {"code": 1, "message": "OK", "total": total, "perPage": per_page, "pageNum": page,
                "pageCount": len(chunk), "list": chunk}

    # -- bulk --------------------------------------------------------------------------------------
    async def _bulk_submit(self, request: web.Request, token: _Token, kind: str) -> dict[str, Any]:
        raw = await request.read()
        submit_id = request.headers.get("x-pb-submit-id", "")
        fam = -11000000 if kind == "taxinvoice" else -14000000
        if not _SUBMIT_ID.fullmatch(submit_id):
            raise _Reject(fam - 20, "제출아이디(SubmitID)가 올바르지 않습니다. (x-pb-submit-id: 1-36 of [A-Za-z0-9-])")
        digest = base64.b64encode(hashlib.sha1(raw).digest()).decode()  # noqa: S324 - Popbill's digest
        if request.headers.get("x-pb-message-digest") != digest:
            raise _Reject(fam - 21, "전송 데이터의 해시값이 일치하지 않습니다. (x-pb-message-digest mismatch)")
        existing = self.bulks.get((kind, token.corp_num, submit_id))
        if existing is not None:  # documented: a repeated SubmitID answers the registered receipt
            return self._ok("이미 접수된 제출아이디입니다.", receiptID=existing.receipt_id)
        try:
            payload = json.loads(raw)
        except ValueError:
            raise _Reject(-99999999, "요청 본문이 JSON 형식이 아닙니다. (body is not JSON)") from None
        docs = payload.get("invoices" if kind == "taxinvoice" else "cashbills") if isinstance(payload, dict) else None
        if not isinstance(docs, list) or not docs or len(docs) > 100:
            raise _Reject(fam - 22, "대량발행은 1~100건까지 가능합니다. (1 to 100 documents per submission)")
        results: list[dict[str, Any]] = []
        for body in docs:
            try:
                if kind == "taxinvoice":
                    if isinstance(body, dict) and payload.get("forceIssue"):
                        body = {**body, "forceIssue": True}
                    doc = self._ti_issue(body, token)
                    results.append({"invoicerMgtKey": doc.key, "trusteeMgtKey": None, "code": 1, "message": "OK",
                                    "ntsconfirmNum": doc.confirm_num, "issueDT": _kst(doc.registered_at)})
                else:
                    doc = self._cb_issue(body, token)
                    results.append({"mgtKey": doc.key, "code": 1, "message": "OK", "confirmNum": doc.confirm_num,
                                    "tradeDate": doc.body.get("tradeDate"), "issueDT": _kst(doc.registered_at)})
            except _Reject as reject:
                key = body.get("invoicerMgtKey" if kind == "taxinvoice" else "mgtKey") if isinstance(body, dict) \
                    else None
                entry = {"code": reject.code, "message": reject.message}
                entry["invoicerMgtKey" if kind == "taxinvoice" else "mgtKey"] = key
                results.append(entry)
        bulk = _Bulk(submit_id=submit_id, receipt_id=f"0{_kst(self.clock.time())[2:8]}{self._next() + 10**10:011d}",
                     received_at=self.clock.time(), results=results)
        self.bulks[(kind, token.corp_num, submit_id)] = bulk
        return self._ok("접수 완료", receiptID=bulk.receipt_id)

    def _bulk_result(self, kind: str, token: _Token, submit_id: str) -> dict[str, Any]:
        bulk = self.bulks.get((kind, token.corp_num, submit_id))
        if bulk is None:
            fam = -11000000 if kind == "taxinvoice" else -14000000
            raise _Reject(fam - 23, "해당 제출아이디의 접수 내역이 없습니다. (no submission with this SubmitID)")
        ok = sum(1 for r in bulk.results if r["code"] == 1)
        return {"code": 1, "message": "OK", "submitID": bulk.submit_id, "submitCount": len(bulk.results),
                "successCount": ok, "failCount": len(bulk.results) - ok, "txState": 2, "txResultCode": 1,
                "txStartDT": _kst(bulk.received_at), "txEndDT": _kst(bulk.received_at),
                "receiptDT": _kst(bulk.received_at), "receiptID": bulk.receipt_id, "issueResult": bulk.results}

    async def _bulk_result_ti(self, request: web.Request, token: _Token) -> dict[str, Any]:
        return self._bulk_result("taxinvoice", token, request.match_info["submit_id"])

    async def _bulk_result_cb(self, request: web.Request, token: _Token) -> dict[str, Any]:
        return self._bulk_result("cashbill", token, request.match_info["submit_id"])

    # -- Cashbill --------------------------------------------------------------------------------
    def _cb_info(self, doc: _Doc, now: float) -> dict[str, Any]:
        b = doc.body
        code, since = self._state(doc, now)
        filed = code in (304, 305)
        fail_code = doc.nts_code or "TS1"
        return {
            "itemKey": doc.item_key, "mgtKey": doc.key, "tradeDate": b.get("tradeDate"), "tradeDT": b.get("tradeDT"),
            "tradeType": b.get("tradeType"), "tradeUsage": b.get("tradeUsage"), "tradeOpt": b.get("tradeOpt"),
            "taxationType": b.get("taxationType"), "totalAmount": b.get("totalAmount"),
            "supplyCost": b.get("supplyCost"), "tax": b.get("tax"), "serviceFee": b.get("serviceFee"),
            "issueDT": _kst(doc.registered_at), "regDT": _kst(doc.registered_at), "stateMemo": doc.memo,
            "stateCode": code, "stateDT": _kst(since), "identityNum": b.get("identityNum"),
            "itemName": b.get("itemName"), "orderNumber": b.get("orderNumber"), "email": b.get("email"),
            "hp": b.get("hp"), "customerName": b.get("customerName"), "confirmNum": doc.confirm_num,
            "orgConfirmNum": b.get("orgConfirmNum") or "", "orgTradeDate": b.get("orgTradeDate") or "",
            "ntssendDT": _kst(self._filing_start(doc)) if filed else None,
            "ntsresultDT": _kst(since) if filed else None,
            "ntsresultCode": (fail_code if code == 305 else "0000") if filed else None,
            "ntsresultMessage": ("국세청 전송 실패 (sandbox)" if code == 305 else "성공") if filed else None,
            "printYN": False, "interOPYN": doc.key is not None,
        }

    def _cb_issue(self, body: Any, token: _Token) -> _Doc:
        if not isinstance(body, dict):
            raise _Reject(-14001099, "현금영수증 정보가 입력되지 않았습니다. (no cash receipt object)")
        key = str(body.get("mgtKey") or "")
        if not _MGT_KEY.fullmatch(key):
            raise _Reject(-14001099, "문서번호는 1~24자리 영문, 숫자, '-', '_' 로 입력해야 합니다. (invalid mgtKey)")
        corp = str(body.get("franchiseCorpNum") or "")
        if not corp:
            raise _Reject(-14001001, "가맹점 사업자번호가 입력되지 않았습니다. (franchiseCorpNum is not entered)")
        if not _CORP_NUM.fullmatch(corp) or corp != token.corp_num:
            raise _Reject(-14001002, "가맹점 사업자번호가 올바르지 않습니다. (franchiseCorpNum is invalid or not the "
                                     "token's member)")
        required = [
            ("identityNum", -14001004, "식별번호가 입력되지 않았습니다. (identityNum is not entered)"),
            ("serviceFee", -14001008, "봉사료가 입력되지 않았습니다. (serviceFee is not entered)"),
            ("supplyCost", -14001010, "공급가액이 입력되지 않았습니다. (supplyCost is not entered)"),
            ("tax", -14001012, "부가세가 입력되지 않았습니다. (tax is not entered)"),
            ("totalAmount", -14001014, "거래금액이 입력되지 않았습니다. (totalAmount is not entered)"),
            ("tradeType", -14001017, "거래유형(승인/취소)이 입력되지 않았습니다. (tradeType is not entered)"),
            ("tradeUsage", -14001018, "거래구분(소득공제용/지출증빙용)이 입력되지 않았습니다. "
                                      "(tradeUsage is not entered)"),
        ]
        for name, code, message in required:
            if body.get(name) in (None, ""):
                raise _Reject(code, message)
        try:
            fee, supply, tax, total = (_amount(body[n]) for n in ("serviceFee", "supplyCost", "tax", "totalAmount"))
        except ValueError:
            raise _Reject(-14001030, "금액은 숫자로 입력해야 합니다. (amounts must be numbers)") from None
        for value, code, name in ((fee, -14001009, "serviceFee"), (supply, -14001011, "supplyCost"),
                                  (tax, -14001013, "tax"), (total, -14001015, "totalAmount")):
            if value < 0:
                raise _Reject(code, f"{name} 에 음수(-)를 입력할 수 없습니다. (negative {name})")
        if supply + tax + fee != total:
            raise _Reject(-14001030, f"거래금액({total})이 공급가액+부가세+봉사료({supply + tax + fee})와 다릅니다. "
                                     "(totalAmount != supplyCost + tax + serviceFee; the NTS would refuse it: TS4)")
        if body["tradeType"] not in ("승인거래", "취소거래"):
            raise _Reject(-14001017, "거래유형은 승인거래 또는 취소거래여야 합니다. "
                                     "(tradeType must be 승인거래/취소거래)")
        if body["tradeUsage"] not in ("소득공제용", "지출증빙용"):
            raise _Reject(-14001018, "거래구분은 소득공제용 또는 지출증빙용이어야 합니다.")
        if ("cashbill", token.corp_num, key) in self.docs:
            raise _Reject(-14001019, "이미 사용중인 문서번호입니다. (The entered Document ID is in use)")
        if body["tradeType"] == "취소거래":
            self._check_revocation(body, token, total)
        now = self.clock.time()
        stored = {k: v for k, v in body.items() if k not in ("memo", "emailSubject")}
        stored["tradeDate"] = dt.datetime.fromtimestamp(now, KST).strftime("%Y%m%d")
        stored.setdefault("tradeDT", _kst(now))
        doc = self._new_doc("cashbill", token.corp_num, key, stored, now)
        doc.memo = body.get("memo")
        return doc

    def _check_revocation(self, body: dict[str, Any], token: _Token, total: int) -> None:
        org = str(body.get("orgConfirmNum") or "")
        original = next((d for d in self.items.values() if d.kind == "cashbill" and d.corp == token.corp_num
                         and d.confirm_num == org and d.body.get("tradeType") == "승인거래"), None)
        if original is None or str(body.get("orgTradeDate") or "") != original.body.get("tradeDate"):
            raise _Reject(-14001020, "원본 현금영수증이 존재하지 않습니다. (The original cash receipt does not exist)")
        if self._state(original, self.clock.time())[0] != 304:
            raise _Reject(-14001021, "국세청 전송 완료된 원본 현금영수증만 취소할 수 있습니다. "
                                     "(the original cash receipt "
                                     "is not filed to the NTS)")
        if total > _amount(original.body.get("totalAmount") or 0):
            raise _Reject(-14001023, "취소 금액이 원본 거래금액을 초과할 수 없습니다. "
                                     "(cancellation exceeds the original)")

    async def _cb_post_root(self, request: web.Request, token: _Token) -> dict[str, Any]:
        override = request.headers.get("X-HTTP-Method-Override")
        if override == "ISSUE":
            doc = self._cb_issue(await self._json(request), token)
            return self._ok("발행 완료", confirmNum=doc.confirm_num, tradeDate=doc.body["tradeDate"],
                            tradeDT=doc.body.get("tradeDT"))
        if override == "BULKISSUE":
            return await self._bulk_submit(request, token, "cashbill")
        raise _Reject(-14001099, f"지원하지 않는 요청입니다. (X-HTTP-Method-Override {override!r} on /Cashbill)")

    async def _cb_get(self, request: web.Request, token: _Token) -> dict[str, Any]:
        doc = self._doc("cashbill", token, request.match_info["key"])
        if "TG" in request.query:
            return {"url": self._view_url(request, doc, request.query["TG"])}
        return self._cb_info(doc, self.clock.time())

    async def _cb_post_doc(self, request: web.Request, token: _Token) -> dict[str, Any]:
        key = request.match_info["key"]
        override = request.headers.get("X-HTTP-Method-Override")
        if override == "" and _ITEM_KEY.fullmatch(key) and key in self.items:
            return await self._assign(request, token, "cashbill", key)
        doc = self._doc("cashbill", token, key)
        body = await self._json(request)
        code = self._state(doc, self.clock.time())[0]
        if override == "CANCELISSUE":
            if code != 300:
                raise _Reject(-14000010, f"발행 상태(300)의 현금영수증만 발행취소할 수 있습니다. "
                                         f"(state {code}: a filed "
                                         "receipt is revoked by a cancellation receipt)")
            doc.canceled_at = self.clock.time()
            doc.memo = body.get("memo") if isinstance(body, dict) else None
            return self._ok("발행취소 완료")
        if override == "DELETE":
            if code != 400:
                raise _Reject(-14000010, f"발행취소(400) 상태의 현금영수증만 삭제할 수 있습니다. (state {code})")
            self._drop_doc(doc)
            return self._ok("삭제 완료")
        if override == "EMAIL":
            return self._resend(doc, "EMAIL", body, code)
        raise _Reject(-14001099, f"지원하지 않는 요청입니다. (X-HTTP-Method-Override {override!r})")

    async def _cb_infos(self, request: web.Request, token: _Token) -> list[dict[str, Any]]:
        keys = await self._json(request)
        self._check_key_list(keys, -14001099)
        now = self.clock.time()
        found = (self.docs.get(("cashbill", token.corp_num, str(k))) for k in keys)
        return [self._cb_info(d, now) for d in found if d is not None]

    async def _cb_search(self, request: web.Request, token: _Token) -> dict[str, Any]:
        q = request.query
        d_type, s_date, e_date = q.get("DType", ""), q.get("SDate", ""), q.get("EDate", "")
        if d_type not in ("T", "R", "I") or not _is_date(s_date) or not _is_date(e_date):
            raise _Reject(-14001099, "검색 조건(DType T/R/I, SDate, EDate yyyyMMdd)이 올바르지 않습니다.")
        now = self.clock.time()
        states, trade_types = _list(q.get("State")), _list(q.get("TradeType"))
        usages, taxations = _list(q.get("TradeUsage")), _list(q.get("TaxationType"))
        needle = q.get("QString", "")
        rows: list[tuple[str, dict[str, Any]]] = []
        for (kind, corp, _key), doc in self.docs.items():
            if kind != "cashbill" or corp != token.corp_num:
                continue
            info = self._cb_info(doc, now)
            when = {"T": str(info["tradeDate"]), "R": str(info["regDT"])[:8], "I": str(info["issueDT"])[:8]}[d_type]
            if not s_date <= when <= e_date:
                continue
            if states and not any(_state_match(p, info["stateCode"]) for p in states):
                continue
            if trade_types and {"승인거래": "N", "취소거래": "C"}.get(str(info["tradeType"])) not in trade_types:
                continue
            if usages and {"소득공제용": "P", "지출증빙용": "C"}.get(str(info["tradeUsage"])) not in usages:
                continue
            if taxations and {"과세": "T", "비과세": "N"}.get(str(info["taxationType"])) not in taxations:
                continue
            if needle and needle not in str(info["identityNum"]) and needle not in str(info["customerName"]):
                continue
            rows.append((when + str(info["regDT"]), info))
        return self._page(rows, q)

    # -- CloseDown -------------------------------------------------------------------------------
    def _corp_state(self, number: str) -> dict[str, Any]:
        """Deterministic answer per number: seeded/admin-set ones, unregistered when the check digit
        fails, otherwise a general taxable business in operation."""
        check_date = self.clock.now_kst().strftime("%Y%m%d")
        base: dict[str, Any] = {"corpNum": number, "taxType": None, "typeDate": None, "state": None,
                                "stateDate": None, "checkDate": check_date}
        if number in self.closedown:
            return {**base, **self.closedown[number], "corpNum": number}
        if not _CORP_NUM.fullmatch(number):
            return base
        if not checksum_ok(number):
            return {**base, "state": "0"}
        return {**base, "taxType": "10", "typeDate": "20200101", "state": "1", "stateDate": ""}

    async def _cd_one(self, request: web.Request, _token: _Token) -> dict[str, Any]:
        number = request.query.get("CN", "")
        if not number:
            raise _Reject(-17000000, "조회할 사업자번호가 입력되지 않았습니다. (The BRN for inquiry is not entered)")
        if not _CORP_NUM.fullmatch(number):
            raise _Reject(-17000003, "사업자번호가 유효하지 않습니다. (Invalid BRN)")
        return self._corp_state(number)

    async def _cd_many(self, request: web.Request, _token: _Token) -> list[dict[str, Any]]:
        numbers = await self._json(request)
        if not isinstance(numbers, list) or not numbers:
            raise _Reject(-17000001, "조회할 사업자번호 목록이 입력되지 않았습니다. (The list of BRN is not entered)")
        if len(numbers) > 1000:
            raise _Reject(-17000002, "최대 1,000건까지 조회할 수 있습니다. (Inquiries cannot exceed 1,000 at once)")
        if not all(isinstance(n, str) and _CORP_NUM.fullmatch(n) for n in numbers):
            raise _Reject(-17000003, "사업자번호가 유효하지 않습니다. (Invalid BRN)")
        return [self._corp_state(n) for n in numbers]

    # -- view pages --------------------------------------------------------------------------------
    def _view_url(self, request: web.Request, doc: _Doc, tg: str) -> str:
        if tg not in ("POPUP", "VIEW", "PRINT", "PDF", "MAIL"):
            raise _Reject(-99999999, f"TG {tg!r} 는 POPUP, VIEW, PRINT, PDF, MAIL 중 하나여야 합니다.")
        handle = secrets.token_urlsafe(12)
        self.urls[handle] = (doc, tg, None if tg == "MAIL" else self.clock.time() + URL_TTL)
        origin = str(request.url.origin())
        return f"{origin}/App/API?TG={tg}&T={handle}"

    async def _view(self, request: web.Request) -> web.Response:
        entry = self.urls.get(request.query.get("T", ""))
        if entry is None or (entry[2] is not None and entry[2] < self.clock.time()):
            return web.Response(status=410, content_type="text/html",
                                text="<html><body><h1>만료된 URL 입니다 (this link has expired)</h1></body></html>")
        doc, tg, _ = entry
        if doc.item_key not in self.items:
            return web.Response(status=404, content_type="text/html",
                                text="<html><body><h1>삭제된 문서입니다 (deleted)</h1></body></html>")
        if tg == "PDF":
            return web.Response(body=_PDF, content_type="application/pdf")
        info = self._ti_info(doc, self.clock.time()) if doc.kind == "taxinvoice" else \
            self._cb_info(doc, self.clock.time())
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in info.items() if v not in (None, ""))
        title = "전자세금계산서" if doc.kind == "taxinvoice" else "현금영수증"
        return web.Response(content_type="text/html",
                            text=f"<html><head><title>{title} (sandbox)</title></head><body><h1>{title}</h1>"
                                 f"<p>Popbill sandbox, {tg}</p><table>{rows}</table></body></html>")

    # -- admin ---------------------------------------------------------------------------------
    async def _admin_settings(self, request: web.Request) -> web.Response:
        body = await request.json()
        for name in ("token_ttl", "date_tolerance", "nts_file_after", "nts_result_after"):
            if name in body:
                setattr(self, name, float(body[name]))
        if "nts_fail_biznos" in body:
            self.nts_fail_biznos = {str(n) for n in body["nts_fail_biznos"]}
        if "nts_fail_code" in body:
            self.nts_fail_code = str(body["nts_fail_code"])
        return json_response({"ok": True, "settings": self._settings()})

    async def _admin_closedown(self, request: web.Request) -> web.Response:
        body = await request.json()
        for number, answer in body.items():
            self.closedown[str(number)] = {k: answer.get(k) for k in ("taxType", "typeDate", "state", "stateDate")}
        return json_response({"ok": True})

    async def _admin_nts(self, request: web.Request) -> web.Response:
        body = await request.json()
        corp = str(body.get("corpNum") or self.member)
        doc = self.docs.get((str(body.get("kind", "taxinvoice")), corp, str(body.get("mgtKey"))))
        if doc is None:
            return json_response({"ok": False, "error": "no such document"}, status=404)
        doc.nts_fail = bool(body.get("fail", False))
        doc.nts_code = body.get("code") or (self.nts_fail_code if doc.nts_fail else None)
        if body.get("now"):
            doc.filing_started = self.clock.time() - self.nts_result_after
        return json_response({"ok": True, "stateCode": self._state(doc, self.clock.time())[0]})

    def expire_tokens(self) -> None:
        now = self.clock.time()
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now)

    async def _admin_expire_tokens(self, _request: web.Request) -> web.Response:
        self.expire_tokens()
        return json_response({"ok": True, "tokens": len(self.tokens)})


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

