"""Taxinvoice routes: validation as Popbill does it, issue, read, search, logs, cancel/delete, resend.

Late issues: seed 001 documents registIssue's ForceIssue ("whether user permits to issue an
overdued e-Tax invoice") and TaxinvoiceInfo.lateIssueYN, but no error code for an overdue
invoice sent without it. The sandbox therefore accepts a late issue either way (it does not
invent a code) and records ``lateIssueYN`` from ``forceIssue`` (docs/fidelity.md, Popbill choices).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from providers.sandbox.popbill._core import _PopbillCore
from providers.sandbox.popbill._search import dates, page, taxinvoice_filter
from providers.sandbox.popbill._store import (
    _CORP_NUM,
    _MGT_KEY,
    _NTS_CODE,
    _TI_LOG,
    KEY_TYPES,
    KST,
    _Doc,
    _kst,
    _Reject,
    _Token,
)
from providers.sandbox.popbill._validate import check_amounts, check_fields


class _TaxinvoiceRoutes(_PopbillCore):
    """The Taxinvoice service (scope 110)."""

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
            "regDT": _kst(doc.registered_at)[:8],  # seed 001: String(8), yyyyMMdd
            "issueType": b.get("issueType"),
            "supplyCostTotal": b.get("supplyCostTotal"),
            "taxTotal": b.get("taxTotal"),
            "purposeType": b.get("purposeType"),
            "issueDT": _kst(doc.registered_at),
            "lateIssueYN": "true" if b.get("forceIssue") else "false",  # seed 001: a String, true/false
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
        check_fields(body)
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
        check_amounts(body)
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

    async def _ti_infos(self, request: web.Request, token: _Token) -> list[dict[str, Any]]:
        key_type = request.match_info["type"]
        if key_type not in KEY_TYPES:
            raise _Reject(-11001090, f"MgtKeyType {key_type!r} 은 SELL, BUY, TRUSTEE 중 하나여야 합니다.")
        keys = await self._json(request)
        self._check_key_list(keys, -11001092)
        now = self.clock.time()
        found = (self.docs.get(("taxinvoice", token.corp_num, str(k))) for k in keys) if key_type == "SELL" else ()
        return [self._ti_info(d, now) for d in found if d is not None]

    async def _ti_search(self, request: web.Request, token: _Token) -> dict[str, Any]:
        """Every document of the member, website ones without a MgtKey included (`_search`)."""
        q = request.query
        if request.match_info["type"] not in KEY_TYPES:
            raise _Reject(-11001090, "MgtKeyType 은 SELL, BUY, TRUSTEE 중 하나여야 합니다.")
        d_type, s_date, e_date = dates(q, "RWI", -11001092)
        matches = taxinvoice_filter(q)
        now = self.clock.time()
        rows: list[tuple[str, dict[str, Any]]] = []
        for doc in self.items.values():
            if doc.kind != "taxinvoice" or doc.corp != token.corp_num or request.match_info["type"] != "SELL":
                continue
            info = self._ti_info(doc, now)
            when = {"W": str(info["writeDate"]), "R": _kst(doc.registered_at)[:8],
                    "I": str(info["issueDT"])[:8]}[d_type]
            reg_ids = {k: doc.body.get(k) for k in ("invoicerTaxRegID", "invoiceeTaxRegID", "trusteeTaxRegID")}
            if s_date <= when <= e_date and matches({**info, **reg_ids}):
                rows.append((when + _kst(doc.registered_at) + doc.item_key, info))
        return page(rows, q, -11001092)
