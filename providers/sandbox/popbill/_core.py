"""State, the NTS clock and request helpers every Popbill sandbox route shares.

The route mixins (`_auth`, `_taxinvoice`, `_cashbill`) subclass `_PopbillCore`; `server.PopbillSandbox`
joins them, so each service's routes read in their own module."""

from __future__ import annotations

import abc
import datetime as dt
import json
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from providers.bizno import checksum_ok
from providers.config import DEMO_POPBILL, PopbillConfig
from providers.sandbox.base import Faults, Sandbox, SandboxClock, json_response
from providers.sandbox.popbill._store import (
    _CORP_NUM,
    _ITEM_KEY,
    _MGT_KEY,
    KEY_TYPES,
    KST,
    URL_TTL,
    _Bulk,
    _demo_cashbill,
    _demo_taxinvoice,
    _Doc,
    _Reject,
    _Token,
)


class _PopbillCore(Sandbox):
    """Settings, documents and the lazily computed NTS state shared by every route."""

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
        on the website without a MgtKey (for assignMgtKey); two cash receipts and one issued on the
        website; closure answers."""
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
        self._new_doc("cashbill", corp, None, _demo_cashbill(corp, "", now - day), now - day)
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
        # EMAIL: seed 000's answer for Cashbill SendEmail; the Taxinvoice, SMS and FAX wordings are
        # undocumented and chosen here (the same words for a tax invoice's e-mail)
        messages = {"EMAIL": "이메일 재전송 완료", "SMS": "문자 전송 요청 완료", "FAX": "팩스 전송 요청 완료"}
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

    @staticmethod
    def _check_key_list(keys: Any, code: int) -> None:
        if not isinstance(keys, list) or not keys:
            raise _Reject(code, "문서번호 목록이 입력되지 않았습니다. (a JSON array of MgtKeys is required)")
        if len(keys) > 1000:
            raise _Reject(code, "최대 1,000건까지 조회할 수 있습니다. (at most 1,000 keys per call)")

    # -- view pages --------------------------------------------------------------------------------
    def _view_url(self, request: web.Request, doc: _Doc, tg: str) -> str:
        if tg not in ("POPUP", "VIEW", "PRINT", "PDF", "MAIL"):
            raise _Reject(-99999999, f"TG {tg!r} 는 POPUP, VIEW, PRINT, PDF, MAIL 중 하나여야 합니다.")
        handle = secrets.token_urlsafe(12)
        self.urls[handle] = (doc, tg, None if tg == "MAIL" else self.clock.time() + URL_TTL)
        origin = str(request.url.origin())
        return f"{origin}/App/API?TG={tg}&T={handle}"

    # -- CloseDown -------------------------------------------------------------------------------
    @abc.abstractmethod
    async def _bulk_submit(self, request: web.Request, token: _Token, kind: str) -> dict[str, Any]:
        """Issue up to 100 documents in one submission: `server.PopbillSandbox` implements it, as it
        needs both services' issue calls; declared here because both services' POST routes use it."""

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
