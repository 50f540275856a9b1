"""Popbill cash receipt (현금영수증, Cashbill) API, one method per documented call.

Differences from Taxinvoice that the SDK captures show and this client keeps: registIssue
always appends ``memo`` and ``emailSubject`` (null when unset); cancelIssue always sends
``{"memo": ...}``; getInfos is ``POST /Cashbill/States``; search is ``GET /Cashbill/Search``.
Unlike the SDK, the search QString is percent-encoded (the SDK crashes on non-ASCII).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from providers.errors import DocumentNotFound, ProviderProtocolError, RequestInvalid
from providers.popbill._auth import PROVIDER
from providers.popbill._base import (
    FORM_CONTENT_TYPE,
    MAX_BATCH,
    PopbillClientBase,
    chunks,
    query_string,
    validate_item_key,
    validate_mgt_key,
    validate_submit_id,
)

__all__ = ["MAX_BULK_CASHBILLS", "CashbillClient"]

MAX_BULK_CASHBILLS = 100


def _joined(values: Sequence[str] | None) -> str | None:
    return ",".join(values) if values else None


class CashbillClient(PopbillClientBase):
    """The `/Cashbill` API (LinkHub scope 140).

    Example::

        client = CashbillClient(http, auth, corp_num="6798700433")
        await client.regist_issue(cashbill, memo=None)
    """

    scope = ("member", "140")

    @staticmethod
    def _doc(mgt_key: str) -> str:
        return f"/Cashbill/{validate_mgt_key(mgt_key)}"

    async def check_mgt_key_in_use(self, mgt_key: str) -> bool:
        try:
            info = await self._get(self._doc(mgt_key), operation="checkMgtKeyInUse")
        except DocumentNotFound as exc:
            if exc.code == "-14000003":
                return False
            raise
        return bool(isinstance(info, dict) and info.get("itemKey"))

    async def regist_issue(self, cashbill: Mapping[str, Any], memo: str | None = None, *,
                           user_id: str | None = None, email_subject: str | None = None) -> dict[str, Any]:
        """Register and issue one cash receipt; answers ``{code, message, confirmNum, tradeDate, tradeDT}``.

        A cancellation receipt (tradeType 취소거래) names the original by ``orgConfirmNum`` and
        ``orgTradeDate``.
        """
        body = dict(cashbill)
        validate_mgt_key(str(body.get("mgtKey") or ""), what="mgtKey")
        body["memo"] = memo
        body["emailSubject"] = email_subject
        data = await self._request("POST", "/Cashbill", operation="registIssue", body=body, override="ISSUE",
                                   user_id=user_id, send_user=True, write=True)
        return self._expect_dict(data, "registIssue")

    async def revoke_regist_issue(self, mgt_key: str, org_confirm_num: str, org_trade_date: str, *,
                                  memo: str | None = None, sms: bool = False, user_id: str | None = None,
                                  email_subject: str | None = None) -> dict[str, Any]:
        """Issue the cancellation receipt (취소현금영수증) of a filed receipt, for its whole amount.

        The SDKs' revokeRegistIssue: ``POST /Cashbill`` with override ``REVOKEISSUE`` and the
        original's NTS confirm number and trade date (yyyyMMdd); Popbill copies everything else
        from the original. Answers like registIssue (``confirmNum``, ``tradeDate``).
        """
        validate_mgt_key(mgt_key, what="mgtKey")
        if not org_confirm_num or not re.fullmatch(r"\d{8}", org_trade_date or ""):
            raise RequestInvalid("revokeRegistIssue needs the original's confirm number and trade date (yyyyMMdd)",
                                 provider=PROVIDER, code="orgConfirmNum")
        body = {"mgtKey": mgt_key, "orgConfirmNum": org_confirm_num, "orgTradeDate": org_trade_date,
                "smssendYN": sms, "memo": memo, "isPartCancel": False, "cancelType": None, "supplyCost": None,
                "tax": None, "serviceFee": None, "totalAmount": None, "emailSubject": email_subject,
                "tradeDT": None}
        data = await self._request("POST", "/Cashbill", operation="revokeRegistIssue", body=body,
                                   override="REVOKEISSUE", user_id=user_id, send_user=True, write=True)
        return self._expect_dict(data, "revokeRegistIssue")

    async def bulk_submit(self, submit_id: str, cashbills: Sequence[Mapping[str, Any]], *,
                          user_id: str | None = None) -> dict[str, Any]:
        """Submit up to 100 cash receipts; a repeated SubmitID returns the first receipt (safe to retry)."""
        validate_submit_id(submit_id)
        if not cashbills or len(cashbills) > MAX_BULK_CASHBILLS:
            raise RequestInvalid(f"bulkSubmit takes 1 to {MAX_BULK_CASHBILLS} cash receipts", provider=PROVIDER,
                                 code="bulk_size")
        for cashbill in cashbills:
            validate_mgt_key(str(cashbill.get("mgtKey") or ""), what="mgtKey")
        payload = {"cashbills": [dict(c) for c in cashbills]}
        return await self._bulk_submit("/Cashbill", payload, submit_id=submit_id, user_id=user_id)

    async def get_bulk_result(self, submit_id: str, *, user_id: str | None = None) -> dict[str, Any]:
        """Bulk submission result, `issueResult` kept (the SDK drops it by mistake)."""
        data = await self._get(f"/Cashbill/BULK/{validate_submit_id(submit_id)}/State", operation="getBulkResult",
                               user_id=user_id, send_user=True)
        return self._expect_dict(data, "getBulkResult")

    async def cancel_issue(self, mgt_key: str, memo: str | None = None, *,
                           user_id: str | None = None) -> dict[str, Any]:
        """Cancel an issued (300) cash receipt before it is filed; the body always carries `memo`."""
        data = await self._request("POST", self._doc(mgt_key), operation="cancelIssue", body={"memo": memo},
                                   override="CANCELISSUE", user_id=user_id, send_user=True, write=True)
        return self._expect_dict(data, "cancelIssue")

    async def delete(self, mgt_key: str, *, user_id: str | None = None) -> dict[str, Any]:
        """Delete a cancelled cash receipt, freeing its MgtKey."""
        data = await self._request("POST", self._doc(mgt_key), operation="delete", override="DELETE",
                                   user_id=user_id, send_user=True, write=True)
        return self._expect_dict(data, "delete")

    async def get_info(self, mgt_key: str) -> dict[str, Any]:
        return self._expect_dict(await self._get(self._doc(mgt_key), operation="getInfo"), "getInfo")

    async def get_infos(self, mgt_keys: Sequence[str]) -> list[dict[str, Any]]:
        """CashbillInfo of many receipts, 1,000 keys per call (larger lists are split here)."""
        keys = [validate_mgt_key(k) for k in mgt_keys]
        results: list[dict[str, Any]] = []
        for batch in chunks(keys, MAX_BATCH):
            data = await self._request("POST", "/Cashbill/States", operation="getInfos", body=batch)
            results.extend(self._expect_list(data, "getInfos"))
        return results

    async def send_email(self, mgt_key: str, receiver: str, *, user_id: str | None = None) -> dict[str, Any]:
        """Resend the notification mail with the receipt's latest status."""
        if not receiver:
            raise RequestInvalid("sendEmail needs a receiver address", provider=PROVIDER, code="receiver")
        data = await self._request("POST", self._doc(mgt_key), operation="sendEmail", body={"receiver": receiver},
                                   override="EMAIL", user_id=user_id, send_user=True, write=True)
        return self._expect_dict(data, "sendEmail")

    async def assign_mgt_key(self, item_key: str, mgt_key: str, *, user_id: str | None = None) -> dict[str, Any]:
        """Give a MgtKey to a receipt issued on the Popbill website (form body, empty override header)."""
        raw = f"MgtKey={validate_mgt_key(mgt_key)}".encode("ascii")
        data = await self._request("POST", f"/Cashbill/{validate_item_key(item_key)}", operation="assignMgtKey",
                                   raw_body=raw, content_type=FORM_CONTENT_TYPE, override="", user_id=user_id,
                                   send_user=True, write=True)
        return self._expect_dict(data, "assignMgtKey")

    async def get_popup_url(self, mgt_key: str, *, user_id: str | None = None) -> str:
        data = await self._get(f"{self._doc(mgt_key)}?TG=POPUP", operation="getPopUpURL", user_id=user_id,
                               send_user=True)
        return self._url(data, "getPopUpURL")

    async def get_pdf_url(self, mgt_key: str, *, user_id: str | None = None) -> str:
        data = await self._get(f"{self._doc(mgt_key)}?TG=PDF", operation="getPDFURL", user_id=user_id,
                               send_user=True)
        return self._url(data, "getPDFURL")

    async def search(
        self,
        d_type: str,
        s_date: str,
        e_date: str,
        *,
        state: Sequence[str] | None = None,
        trade_type: Sequence[str] | None = None,
        trade_usage: Sequence[str] | None = None,
        taxation_type: Sequence[str] | None = None,
        page: int | None = None,
        per_page: int | None = None,
        order: str | None = None,
        q_string: str | None = None,
        trade_opt: Sequence[str] | None = None,
        franchise_tax_reg_id: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """One page of cash receipts (parameters in the SDK's order)."""
        for name, value in (("DType", d_type), ("SDate", s_date), ("EDate", e_date)):
            if not value:
                raise RequestInvalid(f"search needs {name}", provider=PROVIDER, code="search")
        head: list[tuple[str, str | None]] = [
            ("DType", d_type), ("SDate", s_date), ("EDate", e_date),
            ("State", _joined(state)),
            ("TradeType", _joined(trade_type)),
            ("TradeUsage", _joined(trade_usage)),
            ("TaxationType", _joined(taxation_type)),
            ("Page", str(page) if page and page > 0 else None),
            ("PerPage", str(per_page) if per_page and 0 < per_page <= MAX_BATCH else None),
            ("Order", order or None),
        ]
        query = query_string([(k, v) for k, v in head if v is not None])
        if q_string:
            query += "&QString=" + quote(q_string, safe="")
        tail = [(k, v) for k, v in (("TradeOpt", _joined(trade_opt)), ("FranchiseTaxRegID", franchise_tax_reg_id))
                if v]
        if tail:
            query += "&" + query_string([(k, v) for k, v in tail if v is not None])
        data = await self._get(f"/Cashbill/Search?{query}", operation="search", user_id=user_id, send_user=True)
        result = self._expect_dict(data, "search")
        if not isinstance(result.get("list"), list):
            raise ProviderProtocolError("search: answer has no list", provider=PROVIDER, code="shape")
        return result
