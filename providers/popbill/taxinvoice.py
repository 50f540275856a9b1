"""Popbill e-tax invoice (전자세금계산서) API, one method per documented call.

Paths, overrides, bodies and which calls send ``x-pb-userid`` follow the official SDK
(popbill 1.64.2) as captured in the reference's golden requests. Method names are the
SDK's in snake case (`regist_issue`, `cancel_issue`, `send_to_nts`, ...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from enum import StrEnum
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

__all__ = ["MAX_BULK_INVOICES", "MgtKeyType", "TaxinvoiceClient"]

#: bulkSubmit takes at most 100 invoices per submission
MAX_BULK_INVOICES = 100

#: seed 001: Memo of cancelIssue / sendToNTS / registIssue, String(200)
MAX_MEMO = 200


class MgtKeyType(StrEnum):
    """Whose key a MgtKey is: the seller's (SELL), the buyer's (BUY) or the trustee's."""

    SELL = "SELL"
    BUY = "BUY"
    TRUSTEE = "TRUSTEE"


def _key_type(value: MgtKeyType | str) -> str:
    try:
        return MgtKeyType(value).value
    except ValueError as exc:
        raise RequestInvalid(f"MgtKeyType {value!r} must be SELL, BUY or TRUSTEE", provider=PROVIDER,
                             code="mgt_key_type") from exc


def _joined(values: Sequence[str] | None) -> str | None:
    return ",".join(values) if values else None


class TaxinvoiceClient(PopbillClientBase):
    """The `/Taxinvoice` API (LinkHub scope 110).

    Example::

        client = TaxinvoiceClient(http, auth, corp_num="6798700433", user_id="testkorea")
        await client.regist_issue(invoice, memo="issued from Slack")
        info = await client.get_info(MgtKeyType.SELL, "INV-000123")
    """

    scope = ("member", "110")

    def _doc(self, key_type: MgtKeyType | str, mgt_key: str) -> str:
        return f"/Taxinvoice/{_key_type(key_type)}/{validate_mgt_key(mgt_key)}"

    # -- issue -------------------------------------------------------------------------------
    async def check_mgt_key_in_use(self, key_type: MgtKeyType | str, mgt_key: str) -> bool:
        """Whether the key names a document (False on -11000005, as the SDK does)."""
        try:
            info = await self._get(self._doc(key_type, mgt_key), operation="checkMgtKeyInUse")
        except DocumentNotFound as exc:
            if exc.code == "-11000005":
                return False
            raise
        return bool(isinstance(info, dict) and info.get("itemKey"))

    async def regist_issue(
        self,
        taxinvoice: Mapping[str, Any],
        *,
        write_specification: bool = False,
        memo: str | None = None,
        force_issue: bool = False,
        deal_invoice_mgt_key: str | None = None,
        email_subject: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """Register and issue (즉시발행) one invoice; answers ``{code, message, ntsConfirmNum}``.

        The optional flags are appended after the caller's fields only when set, in the SDK's
        order. The caller's mapping is not modified.
        """
        body = dict(taxinvoice)
        validate_mgt_key(str(body.get("invoicerMgtKey") or ""), what="invoicerMgtKey")
        if write_specification:
            body["writeSpecification"] = True
        if force_issue:
            body["forceIssue"] = True
        if deal_invoice_mgt_key:
            body["dealInvoiceMgtKey"] = validate_mgt_key(deal_invoice_mgt_key, what="dealInvoiceMgtKey")
        if memo:
            body["memo"] = memo
        if email_subject:
            body["emailSubject"] = email_subject
        data = await self._request("POST", "/Taxinvoice", operation="registIssue", body=body, override="ISSUE",
                                   user_id=user_id, send_user=True, write=True)
        return self._expect_dict(data, "registIssue")

    async def bulk_submit(
        self,
        submit_id: str,
        invoices: Sequence[Mapping[str, Any]],
        *,
        force_issue: bool = False,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """Submit up to 100 invoices for issuance; answers ``{code, message, receiptID}``.

        Popbill answers a repeated SubmitID with the original receipt instead of issuing again,
        so this write is safe to retry after a lost answer.
        """
        validate_submit_id(submit_id)
        if not invoices:
            raise RequestInvalid("bulkSubmit needs at least one invoice", provider=PROVIDER, code="bulk_empty")
        if len(invoices) > MAX_BULK_INVOICES:
            raise RequestInvalid(f"bulkSubmit takes at most {MAX_BULK_INVOICES} invoices ({len(invoices)} given)",
                                 provider=PROVIDER, code="bulk_size")
        for invoice in invoices:
            validate_mgt_key(str(invoice.get("invoicerMgtKey") or ""), what="invoicerMgtKey")
        payload = {"forceIssue": force_issue, "invoices": [dict(i) for i in invoices]}
        return await self._bulk_submit("/Taxinvoice", payload, submit_id=submit_id, user_id=user_id)

    async def get_bulk_result(self, submit_id: str, *, user_id: str | None = None) -> dict[str, Any]:
        """Progress and per-invoice results of a bulk submission (``txState`` 2 = done)."""
        data = await self._get(f"/Taxinvoice/BULK/{validate_submit_id(submit_id)}/State",
                               operation="getBulkResult", user_id=user_id, send_user=True)
        return self._expect_dict(data, "getBulkResult")

    # -- state changes -----------------------------------------------------------------------
    async def cancel_issue(self, key_type: MgtKeyType | str, mgt_key: str, memo: str | None = None, *,
                           user_id: str | None = None) -> dict[str, Any]:
        """Cancel an issued (300) invoice before filing starts; the body is empty without a memo."""
        data = await self._request("POST", self._doc(key_type, mgt_key), operation="cancelIssue",
                                   body={"memo": memo} if memo else None, override="CANCELISSUE",
                                   user_id=user_id, send_user=True, write=True)
        return self._expect_dict(data, "cancelIssue")

    async def delete(self, key_type: MgtKeyType | str, mgt_key: str, *, user_id: str | None = None) -> dict[str, Any]:
        """Delete a cancelled (or draft) invoice; its MgtKey can then be reused."""
        data = await self._request("POST", self._doc(key_type, mgt_key), operation="delete", override="DELETE",
                                   user_id=user_id, send_user=True, write=True)
        return self._expect_dict(data, "delete")

    async def send_to_nts(self, key_type: MgtKeyType | str, mgt_key: str, *, memo: str | None = None,
                          user_id: str | None = None) -> dict[str, Any]:
        """File an issued invoice with the NTS now instead of waiting for the daily batch.

        `memo` is seed 001's Memo (at most 200 characters); on the test bed ``ERR002`` in it
        simulates an NTS filing failure. Sent as ``{"memo": ...}`` like cancelIssue's, and as
        an empty body without one, as the Python SDK sends sendToNTS.
        """
        if memo is not None and len(memo) > MAX_MEMO:
            raise RequestInvalid(f"sendToNTS memo: at most {MAX_MEMO} characters", provider=PROVIDER, code="memo")
        data = await self._request("POST", self._doc(key_type, mgt_key), operation="sendToNTS", override="NTS",
                                   body={"memo": memo} if memo else None, user_id=user_id, send_user=True,
                                   write=True)
        return self._expect_dict(data, "sendToNTS")

    # -- reads -------------------------------------------------------------------------------
    async def get_info(self, key_type: MgtKeyType | str, mgt_key: str) -> dict[str, Any]:
        """TaxinvoiceInfo of one document (`stateCode`, `ntsconfirmNum`, amounts, parties)."""
        return self._expect_dict(await self._get(self._doc(key_type, mgt_key), operation="getInfo"), "getInfo")

    async def get_infos(self, key_type: MgtKeyType | str, mgt_keys: Sequence[str]) -> list[dict[str, Any]]:
        """TaxinvoiceInfo of many documents, 1,000 keys per call (larger lists are split here)."""
        kt = _key_type(key_type)
        keys = [validate_mgt_key(k) for k in mgt_keys]
        results: list[dict[str, Any]] = []
        for batch in chunks(keys, MAX_BATCH):
            data = await self._request("POST", f"/Taxinvoice/{kt}", operation="getInfos", body=batch)
            results.extend(self._expect_list(data, "getInfos"))
        return results

    async def get_detail_info(self, key_type: MgtKeyType | str, mgt_key: str) -> dict[str, Any]:
        """The full invoice (with `detailList` and `addContactList`)."""
        data = await self._get(f"{self._doc(key_type, mgt_key)}?Detail", operation="getDetailInfo")
        return self._expect_dict(data, "getDetailInfo")

    async def search(
        self,
        key_type: MgtKeyType | str,
        d_type: str,
        s_date: str,
        e_date: str,
        *,
        state: Sequence[str] | None = None,
        invoice_type: Sequence[str] | None = None,
        tax_type: Sequence[str] | None = None,
        late_only: bool | str | None = None,
        order: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        tax_reg_id_type: str | None = None,
        tax_reg_id_yn: str | None = None,
        tax_reg_id: str | None = None,
        q_string: str | None = None,
        inter_op_yn: str | None = None,
        issue_type: Sequence[str] | None = None,
        reg_type: Sequence[str] | None = None,
        close_down_state: Sequence[str] | None = None,
        mgt_key: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """One page of documents matching the filters (parameters in the SDK's order).

        Returns ``{code, message, total, perPage, pageNum, pageCount, list}``.
        """
        optional: list[tuple[str, str | None]] = [
            ("State", _joined(state)),
            ("Type", _joined(invoice_type)),
            ("TaxType", _joined(tax_type)),
            ("LateOnly", None if late_only is None else str(late_only)),
            ("Order", order or None),
            ("Page", str(page) if page and page > 0 else None),
            ("PerPage", str(per_page) if per_page and 0 < per_page <= MAX_BATCH else None),
            ("TaxRegIDType", tax_reg_id_type or None),
            ("TaxRegIDYN", tax_reg_id_yn or None),
            ("TaxRegID", tax_reg_id or None),
        ]
        tail: list[tuple[str, str | None]] = [
            ("InterOPYN", inter_op_yn or None),
            ("IssueType", _joined(issue_type)),
            ("RegType", _joined(reg_type)),
            ("CloseDownState", _joined(close_down_state)),
            ("MgtKey", mgt_key or None),
        ]
        query = _search_query(d_type, s_date, e_date, optional, q_string, tail)
        data = await self._get(f"/Taxinvoice/{_key_type(key_type)}?{query}", operation="search", user_id=user_id,
                               send_user=True)
        result = self._expect_dict(data, "search")
        if not isinstance(result.get("list"), list):
            raise ProviderProtocolError("search: answer has no list", provider=PROVIDER, code="shape")
        return result

    async def get_logs(self, key_type: MgtKeyType | str, mgt_key: str) -> list[dict[str, Any]]:
        """The document's history: ``docLogType``, ``log``, ``procType``, ``regDT``, ..."""
        data = await self._get(f"{self._doc(key_type, mgt_key)}/Logs", operation="getLogs")
        return self._expect_list(data, "getLogs")

    # -- notifications -----------------------------------------------------------------------
    async def send_email(self, key_type: MgtKeyType | str, mgt_key: str, receiver: str, *,
                         user_id: str | None = None) -> dict[str, Any]:
        if not receiver:
            raise RequestInvalid("sendEmail needs a receiver address", provider=PROVIDER, code="receiver")
        data = await self._request("POST", self._doc(key_type, mgt_key), operation="sendEmail",
                                   body={"receiver": receiver}, override="EMAIL", user_id=user_id, send_user=True,
                                   write=True)
        return self._expect_dict(data, "sendEmail")

    async def send_sms(self, key_type: MgtKeyType | str, mgt_key: str, sender: str, receiver: str, contents: str,
                       *, user_id: str | None = None) -> dict[str, Any]:
        """Text the buyer (charged per message; Popbill truncates contents past 90 bytes)."""
        if not receiver or not sender:
            raise RequestInvalid("sendSMS needs a sender and a receiver number", provider=PROVIDER, code="receiver")
        data = await self._request("POST", self._doc(key_type, mgt_key), operation="sendSMS",
                                   body={"sender": sender, "receiver": receiver, "contents": contents},
                                   override="SMS", user_id=user_id, send_user=True, write=True)
        return self._expect_dict(data, "sendSMS")

    async def send_fax(self, key_type: MgtKeyType | str, mgt_key: str, sender: str, receiver: str, *,
                       user_id: str | None = None) -> dict[str, Any]:
        """Fax the invoice (the SDK names this sendFax; the Java reference sendFAX)."""
        if not receiver or not sender:
            raise RequestInvalid("sendFAX needs a sender and a receiver number", provider=PROVIDER, code="receiver")
        data = await self._request("POST", self._doc(key_type, mgt_key), operation="sendFAX",
                                   body={"sender": sender, "receiver": receiver}, override="FAX", user_id=user_id,
                                   send_user=True, write=True)
        return self._expect_dict(data, "sendFAX")

    # -- URLs (valid 30 seconds, except the mail URL) ------------------------------------------
    async def _tg_url(self, key_type: MgtKeyType | str, mgt_key: str, tg: str, op: str, user_id: str | None) -> str:
        data = await self._get(f"{self._doc(key_type, mgt_key)}?TG={tg}", operation=op, user_id=user_id,
                               send_user=True)
        return self._url(data, op)

    async def get_popup_url(self, key_type: MgtKeyType | str, mgt_key: str, *, user_id: str | None = None) -> str:
        return await self._tg_url(key_type, mgt_key, "POPUP", "getPopUpURL", user_id)

    async def get_view_url(self, key_type: MgtKeyType | str, mgt_key: str, *, user_id: str | None = None) -> str:
        return await self._tg_url(key_type, mgt_key, "VIEW", "getViewURL", user_id)

    async def get_print_url(self, key_type: MgtKeyType | str, mgt_key: str, *, user_id: str | None = None) -> str:
        return await self._tg_url(key_type, mgt_key, "PRINT", "getPrintURL", user_id)

    async def get_pdf_url(self, key_type: MgtKeyType | str, mgt_key: str, *, user_id: str | None = None) -> str:
        return await self._tg_url(key_type, mgt_key, "PDF", "getPDFURL", user_id)

    async def get_mail_url(self, key_type: MgtKeyType | str, mgt_key: str, *, user_id: str | None = None) -> str:
        return await self._tg_url(key_type, mgt_key, "MAIL", "getMailURL", user_id)

    # -- keys and certificate ------------------------------------------------------------------
    async def assign_mgt_key(self, key_type: MgtKeyType | str, item_key: str, mgt_key: str, *,
                             user_id: str | None = None) -> dict[str, Any]:
        """Give a MgtKey to a document issued on the Popbill website (found by its ItemKey).

        The path puts the ItemKey first, the body is a form, and the override header is
        present with an empty value, exactly as the SDK sends it.
        """
        path = f"/Taxinvoice/{validate_item_key(item_key)}/{_key_type(key_type)}"
        raw = f"MgtKey={validate_mgt_key(mgt_key)}".encode("ascii")
        data = await self._request("POST", path, operation="assignMgtKey", raw_body=raw,
                                   content_type=FORM_CONTENT_TYPE, override="", user_id=user_id, send_user=True,
                                   write=True)
        return self._expect_dict(data, "assignMgtKey")

    async def get_certificate_expire_date(self) -> dt.datetime:
        """When the signing certificate registered at Popbill expires (naive, Korean local time)."""
        data = self._expect_dict(await self._get("/Taxinvoice?cfg=CERT", operation="getCertificateExpireDate"),
                                 "getCertificateExpireDate")
        value = str(data.get("certificateExpiration") or "")
        try:
            return dt.datetime.strptime(value, "%Y%m%d%H%M%S")
        except ValueError as exc:
            raise ProviderProtocolError(f"getCertificateExpireDate: unreadable date {value!r}", provider=PROVIDER,
                                        code="shape") from exc

    async def check_cert_validation(self, *, user_id: str | None = None) -> dict[str, Any]:
        data = await self._get("/Taxinvoice/CertCheck", operation="checkCertValidation", user_id=user_id,
                               send_user=True)
        return self._expect_dict(data, "checkCertValidation")


def _check_yyyymmdd(name: str, value: str) -> None:
    try:
        dt.datetime.strptime(value, "%Y%m%d")
    except ValueError as exc:
        raise RequestInvalid(f"{name} {value!r} must be a date as yyyyMMdd", provider=PROVIDER,
                             code="search") from exc


def _search_query(d_type: str, s_date: str, e_date: str, optional: list[tuple[str, str | None]],
                  q_string: str | None, tail: list[tuple[str, str | None]]) -> str:
    """The search query string in the SDK's parameter order: QString (percent-encoded as the SDK
    does) sits between the optional filters and the tail ones, and empty filters are left out."""
    for name, value in (("DType", d_type), ("SDate", s_date), ("EDate", e_date)):
        if not value:
            raise RequestInvalid(f"search needs {name}", provider=PROVIDER, code="search")
    for name, value in (("SDate", s_date), ("EDate", e_date)):
        _check_yyyymmdd(name, value)
    params: list[tuple[str, str]] = [("DType", d_type), ("SDate", s_date), ("EDate", e_date)]
    params += [(k, v) for k, v in optional if v is not None]
    query = query_string(params)
    if q_string:
        query += "&QString=" + quote(q_string, safe="")
    rest = query_string([(k, v) for k, v in tail if v is not None])
    if rest:
        query += "&" + rest
    return query
