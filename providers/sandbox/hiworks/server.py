"""`HiworksSandbox`: the bill-api v4 routes and the admin routes that move documents along."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from aiohttp import web

from providers.sandbox.base import json_response
from providers.sandbox.hiworks._core import _HiworksCore
from providers.sandbox.hiworks._store import (
    _DECLARED_STATES,
    _DIGITS10,
    _EASY_SIGN_DONE,
    _INVALID,
    HiworksTimings,
    _errors,
    _Refusal,
)

__all__ = ['HiworksSandbox', 'HiworksTimings']


class HiworksSandbox(_HiworksCore):
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
            if not issue_id.strip():
                raise _Refusal(400, _INVALID, "amendment.originalIssueId(당초 승인번호)는 필수입니다.")
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
            # Seed 004 (사업자 휴폐업 단일 조회): Office-Authorization and Bill-Access-Authorization
            # are both (필수); a missing or wrong one is refused like on every other route.
            self._authenticate(request)
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
