"""Destroying a cash receipt (현금영수증): its own path, because a filed receipt is revoked, not deleted.

Before filing, Popbill deletes it (cancelling an issued one first). Once the National Tax Service
has it (state 304) the only way back is a cancellation receipt (취소거래), issued here under the
derived key ``<key>-C`` so a retry finds it instead of issuing a second one.
"""

from __future__ import annotations

from typing import Any

from providers.errors import ProviderError, ProviderRejected
from providers.models import DocumentRef, DocumentState, DocumentStatus
from providers.popbill._answers import _state_code, cashbill_status
from providers.popbill._auth import PROVIDER
from providers.popbill._bodies import CANCEL_RECEIPT_SUFFIX
from providers.popbill.cashbill import CashbillClient

__all__ = ["cancellation_detail", "deleted", "destroy_cashbill", "with_cancellation"]


def deleted(status: DocumentStatus, raw_state: str, detail: str) -> DocumentStatus:
    """The status of a document Popbill no longer has: its key is free again."""
    return status.model_copy(update={"state": DocumentState.DELETED, "raw_state": raw_state, "detail": detail,
                                     "links": {}})


async def destroy_cashbill(cashbill: CashbillClient, ref: DocumentRef, key: str, reason: str | None
                           ) -> DocumentStatus:
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
        return await _revoke(cashbill, ref, key, info, reason)
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
                  reason: str | None) -> DocumentStatus:
    """Issue the cancellation receipt (취소현금영수증, revokeRegistIssue) for a filed receipt under the derived
    key ``<key>-C``, naming the original by its NTS confirm number and trade date."""
    cancel_key = key + CANCEL_RECEIPT_SUFFIX
    if len(cancel_key) > 24:
        raise ProviderRejected(
            f"cash receipt {key} is filed; revoking it needs a cancellation receipt with key {cancel_key!r}, "
            "which is longer than Popbill's 24 characters",
            provider=PROVIDER, code="cancel_key", user_hint="Revoke this receipt on the Popbill website.",
        )
    try:
        answer = await cashbill.revoke_regist_issue(cancel_key, str(info.get("confirmNum") or ""),
                                                    str(info.get("tradeDate") or ""), memo=reason)
    except ProviderRejected as exc:
        if exc.code not in ("-14001019", "-14000004"):
            raise
        answer = {}  # already revoked by an earlier attempt: the derived key exists
    status = cashbill_status(info, ref)
    return status.model_copy(update={
        "state": DocumentState.CANCELED,
        "detail": cancellation_detail(cancel_key, answer.get("confirmNum")),
        "links": {},
        "raw": {**status.raw, "cancellation": {"mgtKey": cancel_key, "confirmNum": answer.get("confirmNum")}},
    })


def cancellation_detail(cancel_key: str, confirm: Any) -> str:
    """How a revoked receipt's status names its cancellation receipt (one wording for destroy and status)."""
    return (f"revoked by the cancellation cash receipt {cancel_key}"
            + (f" (NTS confirm number {confirm})" if confirm else ""))


async def with_cancellation(cashbill: CashbillClient, status: DocumentStatus) -> DocumentStatus:
    """The status of a receipt linked to its cancellation receipt ``<key>-C`` when there is one, and a
    cancellation receipt linked to its original (``orgConfirmNum``): status shows both sides."""
    raw = status.raw
    if raw.get("tradeType") == "취소거래":
        original = f"cancels the cash receipt with NTS confirm number {raw.get('orgConfirmNum')} " \
                   f"of {raw.get('orgTradeDate')}"
        return status.model_copy(update={"detail": "; ".join(p for p in (status.detail, original) if p)})
    cancel_key = status.ref.provider_id + CANCEL_RECEIPT_SUFFIX
    if status.state is not DocumentState.FILED or len(cancel_key) > 24:
        return status
    try:
        cancel = await cashbill.get_info(cancel_key)
    except ProviderError:
        return status  # no cancellation receipt (or none readable now): the original stands as it is
    return status.model_copy(update={
        "state": DocumentState.CANCELED,
        "detail": cancellation_detail(cancel_key, cancel.get("confirmNum")),
        "raw": {**raw, "cancellation": {"mgtKey": cancel_key, "confirmNum": cancel.get("confirmNum"),
                                        "stateCode": cancel.get("stateCode")}},
    })
