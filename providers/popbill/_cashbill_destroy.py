"""Destroying a cash receipt (현금영수증): its own path, because a filed receipt is revoked, not deleted.

Before filing, Popbill deletes it (cancelling an issued one first). Once the National Tax Service
has it (state 304) the only way back is a cancellation receipt (취소거래), issued here under the
derived key ``<key>-C`` so a retry finds it instead of issuing a second one.
"""

from __future__ import annotations

from typing import Any

from providers.config import SellerConfig
from providers.errors import ProviderRejected
from providers.models import DocumentRef, DocumentState, DocumentStatus
from providers.popbill._answers import _state_code, cashbill_status
from providers.popbill._auth import PROVIDER
from providers.popbill._bodies import CANCEL_RECEIPT_SUFFIX
from providers.popbill.cashbill import CashbillClient

__all__ = ["deleted", "destroy_cashbill"]


def deleted(status: DocumentStatus, raw_state: str, detail: str) -> DocumentStatus:
    """The status of a document Popbill no longer has: its key is free again."""
    return status.model_copy(update={"state": DocumentState.DELETED, "raw_state": raw_state, "detail": detail,
                                     "links": {}})


async def destroy_cashbill(cashbill: CashbillClient, ref: DocumentRef, key: str, reason: str | None, *,
                           corp_num: str, seller: SellerConfig) -> DocumentStatus:
    """Delete, cancel-and-delete, or revoke the receipt as its NTS state allows; refuse while filing."""
    info = await cashbill.get_info(key)
    code = _state_code(info)
    if code == 300:
        await cashbill.cancel_issue(key, reason)
        await cashbill.delete(key)
        return deleted(cashbill_status(info, ref), "300", "cancelled and deleted; the key is free again")
    if code in (400, 600) or (code is not None and code < 300):
        await cashbill.delete(key)
        return deleted(cashbill_status(info, ref), str(code), "deleted; the key is free again")
    if code == 304:
        return await _revoke(cashbill, ref, key, info, reason, corp_num=corp_num, seller=seller)
    if code == 305:
        raise ProviderRejected(
            f"cash receipt {key} was refused by the National Tax Service (state 305): there is nothing filed "
            "to cancel", provider=PROVIDER, code="filing_failed",
            user_hint="Issue a corrected cash receipt under a new key if the buyer still needs one.",
        )
    raise ProviderRejected(
        f"cash receipt {key} is being sent to the National Tax Service (state {info.get('stateCode')}): "
        "it can be revoked once the filing result is in",
        provider=PROVIDER, code="filing", user_hint="Try again after the NTS result arrives (usually a day).",
    )


async def _revoke(cashbill: CashbillClient, ref: DocumentRef, key: str, info: dict[str, Any],
             reason: str | None, *, corp_num: str, seller: SellerConfig) -> DocumentStatus:
    """Issue the cancellation receipt (취소거래) for a filed receipt under the derived key ``<key>-C``."""
    cancel_key = key + CANCEL_RECEIPT_SUFFIX
    if len(cancel_key) > 24:
        raise ProviderRejected(
            f"cash receipt {key} is filed; revoking it needs a cancellation receipt with key {cancel_key!r}, "
            "which is longer than Popbill's 24 characters",
            provider=PROVIDER, code="cancel_key", user_hint="Revoke this receipt on the Popbill website.",
        )
    body = {
        "mgtKey": cancel_key,
        "tradeType": "취소거래",
        "tradeUsage": info.get("tradeUsage"),
        "tradeOpt": info.get("tradeOpt") or "일반",
        "taxationType": info.get("taxationType"),
        "totalAmount": str(info.get("totalAmount")),
        "supplyCost": str(info.get("supplyCost")),
        "tax": str(info.get("tax")),
        "serviceFee": str(info.get("serviceFee") or "0"),
        "franchiseCorpNum": corp_num,
        "franchiseCorpName": seller.name,
        "franchiseCEOName": seller.ceo_name,
        "identityNum": info.get("identityNum"),
        "customerName": info.get("customerName"),
        "itemName": info.get("itemName"),
        "orderNumber": info.get("orderNumber"),
        "email": info.get("email"),
        "hp": info.get("hp"),
        "smssendYN": False,
        "orgConfirmNum": info.get("confirmNum"),
        "orgTradeDate": info.get("tradeDate"),
    }
    try:
        answer = await cashbill.regist_issue({k: v for k, v in body.items() if v is not None}, memo=reason)
    except ProviderRejected as exc:
        if exc.code not in ("-14001019", "-14000004"):
            raise
        answer = {}  # already revoked by an earlier attempt: the derived key exists
    status = cashbill_status(info, ref)
    return status.model_copy(update={
        "state": DocumentState.CANCELED,
        "detail": f"revoked by the cancellation cash receipt {cancel_key}"
                  + (f" (NTS confirm number {answer['confirmNum']})" if answer.get("confirmNum") else ""),
        "links": {},
    })
