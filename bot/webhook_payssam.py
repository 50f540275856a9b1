"""Payssam's payment callback (승인동기화): authenticated, confirmed, reported once.

Paymint POSTs only successful payments, to the ``callbackUrl`` given with the bill, and
retries every hour for 24 hours until it reads exactly ``{"code":"0000","msg":"성공하였습니다."}``
(../shared/reference/providers.md §1.6). So:

* the URL's token (`bot.callback_auth`, scope ``payssam:<ref>``) and the body's apiKey must
  both be ours, else 401 and nothing else happens;
* a bill that no document of ours has is answered with the success body and one log line:
  there is nothing to do, and any other answer only makes Paymint retry for a day;
* the payment is confirmed with ``/bill/read``; a bill Payssam does not confirm is 409, a
  Payssam we cannot reach 503 (its retry gets another chance);
* the thread hears "Payment received" only when the re-read state differs from the
  ledger's, built from the re-read (a second callback, with or without ``apprNum``, finds the
  bill already paid and posts nothing).
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.webhook_base import CallbackHandler, json_answer
from commands.i18n import _
from commands.ledger import AuditOperation, DocumentRecord
from commands.slack.formatting import clip, document_label, escape_mrkdwn, format_money
from providers.errors import ProviderError, ProviderRejected
from providers.models import DocumentState, DocumentStatus, Provider
from providers.payssam.callback import CALLBACK_SUCCESS_BODY, parse_callback
from providers.payssam.service import PayssamService

__all__ = ["PayssamCallbacks", "payssam_scope"]

log = logging.getLogger("invoicebot.webhooks")

_PAY_TYPES = {
    "CARD_VAN": "card", "KEYIN": "card (key-in)", "OFFLINE_CARD": "card (in person)", "OFFLINE_CASH": "cash",
}


def payssam_scope(ref: str) -> str:
    """The token scope of the callback URL given with the bill of document `ref`."""
    return f"payssam:{ref}"


def _success() -> web.Response:
    """Exactly ``{"code":"0000","msg":"성공하였습니다."}``: anything else makes Paymint retry."""
    return web.Response(body=CALLBACK_SUCCESS_BODY, status=200, content_type="application/json", charset="utf-8")


def _refusal(status: int, code: str, message: str) -> web.Response:
    return json_answer({"code": code, "msg": message}, status=status)


def payment_text(doc: DocumentRecord, status: DocumentStatus) -> str:
    """The thread's update, from Payssam's own record of the bill (never from the callback)."""
    if status.state is not DocumentState.PAID:
        return _("🔄 `{ref}` is now {label}").format(ref=doc.ref, label=document_label(doc.lifecycle, status.state))
    amount = status.amounts.total if status.amounts else doc.total
    money = format_money(amount, doc.currency) if amount is not None else _("the bill")
    pay_type = status.raw.get("apprPayType")
    how = _PAY_TYPES.get(pay_type, pay_type) if isinstance(pay_type, str) else ""
    approval = _("approval {number}").format(number=status.confirm_number) if status.confirm_number else ""
    extra = ", ".join(x for x in (how, approval) if x)
    return (_("💳 *Payment received* for `{ref}`: {money}").format(ref=doc.ref, money=money)
            + (f" ({escape_mrkdwn(clip(extra, 200))})" if extra else "")
            + f" · {document_label(doc.lifecycle, status.state)}")


class PayssamCallbacks(CallbackHandler):
    provider = Provider.PAYSSAM

    async def handle(self, request: web.Request) -> web.Response:
        ref = request.query.get("ref", "")
        if not self.authentic(request, payssam_scope(ref)):
            return _refusal(401, "AUTH_001", "invalid callback URL token")
        body = await request.read()
        try:
            callback = parse_callback(body)
        except ProviderError:
            log.warning("payssam callback refused: unreadable body (%d bytes)", len(body))
            return _refusal(400, "VALIDATION_001", "unreadable callback")
        # the bill's document first: its workspace's own Payssam account (when it stored one) is the
        # one whose apiKey the callback must carry and whose /bill/read confirms it
        doc = await self.store.documents.get_by_provider_id(Provider.PAYSSAM, callback.bill_id)
        service = await self.service_for(doc)
        if not isinstance(service, PayssamService):
            log.error("payssam callback for %s, but no usable Payssam service is configured", ref)
            return _refusal(503, "UNAVAILABLE", "payssam is not configured")
        if not service.authenticate(callback):
            log.warning("payssam callback for %s refused: it does not carry our apiKey", ref)
            return _refusal(401, "AUTH_001", "invalid apiKey")
        if doc is None or doc.ref != ref:
            log.info("payssam callback for bill %s, which no document of ours has: answered, nothing done",
                     clip(callback.bill_id, 40))
            return _success()
        try:
            status = await service.confirm_payment(callback)
        except ProviderRejected as exc:
            log.warning("payssam callback for %s not confirmed by /bill/read: %s", ref, exc)
            return _refusal(409, "CALLBACK_MISMATCH", "payment not confirmed by /bill/read")
        except ProviderError as exc:
            log.warning("payssam callback for %s: cannot confirm now (%s); Payssam will retry", ref, exc)
            return _refusal(503, "UNAVAILABLE", "cannot confirm the payment now, retry later")
        await self.report_change(doc, status, AuditOperation.PAYMENT, payment_text,
                                 {"bill_id": callback.bill_id, "appr_num": status.confirm_number})
        return _success()
