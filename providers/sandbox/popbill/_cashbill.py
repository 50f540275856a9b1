"""Cashbill routes: cash receipts (현금영수증), their cancellation receipts, read, search, cancel/delete."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aiohttp import web

from providers.sandbox.popbill._core import _PopbillCore
from providers.sandbox.popbill._search import cashbill_filter, dates, page
from providers.sandbox.popbill._store import (
    _CORP_NUM,
    _ITEM_KEY,
    _MGT_KEY,
    KST,
    _amount,
    _Doc,
    _kst,
    _Reject,
    _Token,
)

#: identityNum per tradeUsage (Popbill's Cashbill reference): 소득공제용 takes a mobile number, a
#: cash-receipt card (13-19 digits) or the voluntary-issuance 0100001234; 지출증빙용 a business number
#: (10 digits), a mobile number or a card
_MOBILE_ID = re.compile(r"01[016789]\d{7,8}")
_CARD_ID = re.compile(r"\d{13,19}")
_BIZNO_ID = re.compile(r"\d{10}")
_TAXATION = ("과세", "비과세")
_TRADE_OPT = ("일반", "도서공연", "대중교통")


def _identity_ok(usage: str, identity: str) -> bool:
    if _MOBILE_ID.fullmatch(identity) or _CARD_ID.fullmatch(identity):
        return True
    if usage == "소득공제용":
        return identity == "0100001234"
    return bool(_BIZNO_ID.fullmatch(identity))


def _check_cashbill_fields(body: dict[str, Any], tax: int) -> None:
    """taxationType, tradeOpt and identityNum as Popbill documents them (codes chosen by the sandbox:
    the seeds give no Cashbill validation codes; see docs/fidelity.md)."""
    taxation = body.get("taxationType")
    if taxation not in _TAXATION:
        raise _Reject(-14001016, "과세형태는 과세 또는 비과세여야 합니다. (taxationType must be 과세/비과세)")
    if taxation == "비과세" and tax != 0:
        raise _Reject(-14001013, "비과세 현금영수증의 부가세는 0이어야 합니다. (tax must be 0 when 비과세)")
    if body.get("tradeOpt") not in (None, "", *_TRADE_OPT):
        raise _Reject(-14001022, "거래유형은 일반, 도서공연, 대중교통 중 하나여야 합니다. (invalid tradeOpt)")
    identity = str(body.get("identityNum") or "")
    if not _identity_ok(str(body["tradeUsage"]), identity):
        raise _Reject(-14001005, f"식별번호가 거래구분({body['tradeUsage']})에 맞지 않습니다. "
                                 "(identityNum does not fit tradeUsage)")


class _CashbillRoutes(_PopbillCore):
    """The Cashbill service (scope 140)."""

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
        _check_cashbill_fields(body, tax)
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
        if override == "REVOKEISSUE":
            doc = self._cb_issue(self._revocation(await self._json(request), token), token)
            return self._ok("발행 완료", confirmNum=doc.confirm_num, tradeDate=doc.body["tradeDate"],
                            tradeDT=doc.body.get("tradeDT"))
        if override == "BULKISSUE":
            return await self._bulk_submit(request, token, "cashbill")
        raise _Reject(-14001099, f"지원하지 않는 요청입니다. (X-HTTP-Method-Override {override!r} on /Cashbill)")

    def _revocation(self, body: Any, token: _Token) -> dict[str, Any]:
        """revokeRegistIssue (the SDKs' 취소 현금영수증 즉시발행): the cancellation receipt built from the
        original, with the request's amounts only for a partial cancellation. Not in the seeds: the
        fields are the Node SDK's, and the checks are `_check_revocation`'s."""
        if not isinstance(body, dict):
            raise _Reject(-14001099, "취소 현금영수증 정보가 입력되지 않았습니다. (no revocation object)")
        org = str(body.get("orgConfirmNum") or "")
        original = next((d for d in self.items.values() if d.kind == "cashbill" and d.corp == token.corp_num
                         and d.confirm_num == org), None)
        base = dict(original.body) if original is not None else {}
        amounts = ("supplyCost", "tax", "serviceFee", "totalAmount")
        revoke = {**base, "mgtKey": body.get("mgtKey"), "tradeType": "취소거래", "orgConfirmNum": org,
                  "orgTradeDate": body.get("orgTradeDate"), "smssendYN": bool(body.get("smssendYN")),
                  "memo": body.get("memo"), "franchiseCorpNum": token.corp_num}
        revoke.pop("tradeDT", None)
        if body.get("isPartCancel"):
            revoke.update({k: body.get(k) for k in amounts})
        return revoke

    async def _cb_get(self, request: web.Request, token: _Token) -> dict[str, Any]:
        doc = self._doc("cashbill", token, request.match_info["key"])
        if "TG" in request.query:
            return {"url": self._view_url(request, doc, request.query["TG"])}
        return self._cb_info(doc, self.clock.time())

    async def _cb_post_doc(self, request: web.Request, token: _Token) -> dict[str, Any]:
        key = request.match_info["key"]
        override = request.headers.get("X-HTTP-Method-Override")
        # AssignMgtKey (seed 000) sends no override header; the Python SDK sends an empty one.
        if not override and _ITEM_KEY.fullmatch(key) and key in self.items:
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
        """Every cash receipt of the member, website ones without a MgtKey included (`_search`)."""
        q = request.query
        d_type, s_date, e_date = dates(q, "TRI", -14001099)
        matches = cashbill_filter(q)
        now = self.clock.time()
        rows: list[tuple[str, dict[str, Any]]] = []
        for doc in self.items.values():
            if doc.kind != "cashbill" or doc.corp != token.corp_num:
                continue
            info = self._cb_info(doc, now)
            when = {"T": str(info["tradeDate"]), "R": str(info["regDT"])[:8], "I": str(info["issueDT"])[:8]}[d_type]
            if s_date <= when <= e_date and matches({**info, "franchiseTaxRegID": doc.body.get("franchiseTaxRegID")}):
                rows.append((when + str(info["regDT"]) + doc.item_key, info))
        return page(rows, q, -14001099)
