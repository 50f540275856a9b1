"""`PopbillSandbox`: the routes table, and what spans services (bulk issue, CloseDown, view URLs, admin)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any, ClassVar

from aiohttp import web

from providers.sandbox.base import json_response
from providers.sandbox.popbill._auth import _AuthRoutes
from providers.sandbox.popbill._cashbill import _CashbillRoutes
from providers.sandbox.popbill._store import (
    _CORP_NUM,
    _SUBMIT_ID,
    SERVICE_IDS,
    _Bulk,
    _kst,
    _Reject,
    _Token,
    document_pdf,
)
from providers.sandbox.popbill._taxinvoice import _TaxinvoiceRoutes

__all__ = ['PopbillSandbox']


class PopbillSandbox(_AuthRoutes, _TaxinvoiceRoutes, _CashbillRoutes):
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

    async def _view(self, request: web.Request) -> web.Response:
        entry = self.urls.get(request.query.get("T", ""))
        if entry is None or (entry[2] is not None and entry[2] < self.clock.time()):
            return web.Response(status=410, content_type="text/html",
                                text="<html><body><h1>만료된 URL 입니다 (this link has expired)</h1></body></html>")
        doc, tg, _ = entry
        if doc.item_key not in self.items:
            return web.Response(status=404, content_type="text/html",
                                text="<html><body><h1>삭제된 문서입니다 (deleted)</h1></body></html>")
        info = self._ti_info(doc, self.clock.time()) if doc.kind == "taxinvoice" else \
            self._cb_info(doc, self.clock.time())
        if tg == "PDF":
            return web.Response(body=document_pdf(doc, info), content_type="application/pdf")
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
