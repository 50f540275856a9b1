"""Provider callbacks over HTTP: Payssam payments and Abillify notifications.

`register_webhooks(web_app, deps)` adds three routes to the app's aiohttp server::

    POST /webhooks/payssam             Payssam V2 payment callback (승인동기화)
    POST /webhooks/abillify/notify     Abillify task notification (the notifyUrl of commitInvoice)
    POST /webhooks/abillify/workflow   Abillify workflow webhook (voucher state none|paid|canceled)

Providers deliver at least once (Payssam retries every hour for 24 hours until it gets
its exact success answer), so every route is idempotent: the callback's dedup key is
stored in ``callback_events`` and a key seen before is answered as a success without
doing anything again, so a retry never posts twice in the document's thread.

Nothing in a callback body is trusted as the document's state:

* Payssam's callback has no signature. It must carry our apiKey (compared in constant
  time; the sandbox's demo key when sandboxed), and the payment is confirmed with
  ``/bill/read`` (`PayssamService.confirm_payment`) before the bill is marked paid. A
  wrong key answers 401 and changes nothing. A payment Payssam does not confirm answers
  409, a provider we cannot reach 503, so Payssam's retry gets another chance.
* Abillify documents no signing. Its calls only make us re-read the invoice from
  Abillify (`status`), so a forged call costs one read and cannot change a state.

The notifyUrl carries our ref (``?ref=INV-000123``, see `abillify_notify_url`) because the
task notification names only a job, not the invoice.

Each accepted callback about a known document posts an update in that document's
thread through the lead's notifier: ``await notify(document_ref, text, blocks)``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web
from pydantic import ValidationError
from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.settings import Settings
from commands.ledger import AuditKind, AuditOperation, DocumentRecord, Store, utc_now
from commands.ledger import digest_queries as q
from commands.slack.formatting import SANDBOX_NOTICE, clip, document_label, escape_mrkdwn, format_money
from providers.abillify.webhooks import TaskNotification, WorkflowWebhook, dedup_key
from providers.base import InvoiceProvider
from providers.errors import ProviderError, ProviderRejected
from providers.models import DocumentState, DocumentStatus, Provider
from providers.payssam.callback import (
    CALLBACK_SUCCESS_BODY,
    PaymentCallback,
    callback_dedup_key,
    parse_callback,
)
from providers.payssam.service import PayssamService

__all__ = [
    "ABILLIFY_NOTIFY_PATH",
    "ABILLIFY_WORKFLOW_PATH",
    "PAYSSAM_PATH",
    "Notifier",
    "WebhookDeps",
    "abillify_notify_url",
    "payssam_callback_url",
    "register_webhooks",
]

log = logging.getLogger("invoicebot.webhooks")

PAYSSAM_PATH = "/webhooks/payssam"
ABILLIFY_NOTIFY_PATH = "/webhooks/abillify/notify"
ABILLIFY_WORKFLOW_PATH = "/webhooks/abillify/workflow"

#: ``await notify(document_ref, text, blocks)``: post in the document's Slack thread.
Notifier = Callable[[str, str, list[Block]], Awaitable[None]]

_PAY_TYPES = {
    "CARD_VAN": "card", "KEYIN": "card (key-in)", "OFFLINE_CARD": "card (in person)", "OFFLINE_CASH": "cash",
}


def payssam_callback_url(public_url: str) -> str:
    """The callbackUrl to give Payssam with every bill."""
    return public_url.rstrip("/") + PAYSSAM_PATH


def abillify_notify_url(public_url: str, ref: str) -> str:
    """The notifyUrl to give Abillify when committing the invoice of document `ref`."""
    return f"{public_url.rstrip('/')}{ABILLIFY_NOTIFY_PATH}?ref={quote(ref, safe='')}"


@dataclass
class WebhookDeps:
    """What the webhook handlers need.

    Args:
        store: the database.
        providers: the provider services (Payssam's checks the apiKey and confirms payments).
        notify: posts an update in a document's Slack thread.
        settings: the bot's settings (kept for the lead's wiring; the apiKey comes from the service).
        clock: aware "now".
    """

    store: Store
    providers: Mapping[Provider, InvoiceProvider]
    notify: Notifier
    settings: Settings | None = None
    clock: Callable[[], dt.datetime] = utc_now


def _json(data: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.json_response(dict(data), status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _payssam_success() -> web.Response:
    """Exactly ``{"code":"0000","msg":"성공하였습니다."}``: anything else makes Paymint retry."""
    return web.Response(body=CALLBACK_SUCCESS_BODY, status=200, content_type="application/json", charset="utf-8")


def _payssam_refusal(status: int, code: str, message: str) -> web.Response:
    return _json({"code": code, "msg": message}, status=status)


def _update_blocks(doc: DocumentRecord, text: str) -> list[Block]:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))]
    if doc.sandbox:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=SANDBOX_NOTICE)]))
    return blocks


class _Handlers:
    def __init__(self, deps: WebhookDeps) -> None:
        self.deps = deps

    @property
    def store(self) -> Store:
        return self.deps.store

    async def _notify(self, doc: DocumentRecord, text: str) -> None:
        try:
            await self.deps.notify(doc.ref, text, _update_blocks(doc, text))
        except Exception:
            # the callback is recorded; a Slack hiccup must not make the provider retry it
            log.exception("could not post the callback update for %s", doc.ref)

    async def _record(self, doc: DocumentRecord | None, status: DocumentStatus | None) -> None:
        if doc is not None and status is not None:
            await self.store.documents.record_status(doc.id, status, now=self.deps.clock())

    async def _audit(self, doc: DocumentRecord, provider: Provider, operation: AuditOperation, outcome: str,
                     detail: Mapping[str, Any]) -> None:
        await self.store.audit.record(actor=provider.value, action=AuditKind.CALLBACK, operation=operation,
                                      document_id=doc.id, document_ref=doc.ref, outcome=outcome, detail=detail,
                                      now=self.deps.clock())

    # -- Payssam ---------------------------------------------------------------------------
    async def payssam(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            callback = parse_callback(body)
        except ProviderError:
            log.warning("payssam callback refused: unreadable body (%d bytes)", len(body))
            return _payssam_refusal(400, "VALIDATION_001", "unreadable callback")
        service = self.deps.providers.get(Provider.PAYSSAM)
        if not isinstance(service, PayssamService):
            log.error("payssam callback for bill %s, but no Payssam service is configured", callback.bill_id)
            return _payssam_refusal(503, "UNAVAILABLE", "payssam is not configured")
        if not service.authenticate(callback):
            log.warning("payssam callback for bill %s refused: it does not carry our apiKey", callback.bill_id)
            return _payssam_refusal(401, "AUTH_001", "invalid apiKey")
        key = callback_dedup_key(callback)
        if await q.callback_seen(self.store, "payssam", key):
            log.info("payssam callback for bill %s repeated; answered again, nothing done", callback.bill_id)
            return _payssam_success()
        try:
            status = await service.confirm_payment(callback)
        except ProviderRejected as exc:
            log.warning("payssam callback for bill %s not confirmed by /bill/read: %s", callback.bill_id, exc)
            return _payssam_refusal(409, "CALLBACK_MISMATCH", "payment not confirmed by /bill/read")
        except ProviderError as exc:
            log.warning("payssam callback for bill %s: cannot confirm now (%s); Payssam will retry",
                        callback.bill_id, exc)
            return _payssam_refusal(503, "UNAVAILABLE", "cannot confirm the payment now, retry later")
        doc = await self.store.documents.get_by_provider_id(Provider.PAYSSAM, callback.bill_id)
        await self._record(doc, status)
        payload = callback.model_dump(mode="json", by_alias=True, exclude={"api_key"})
        if not await self.store.record_callback("payssam", key, payload):
            return _payssam_success()  # a concurrent delivery of the same payment got there first
        if doc is None:
            log.info("payssam payment for bill %s, which no document of ours has", callback.bill_id)
            return _payssam_success()
        await self._audit(doc, Provider.PAYSSAM, AuditOperation.PAYMENT, status.state.value,
                          {"bill_id": callback.bill_id, "appr_num": callback.appr_num})
        await self._notify(doc, self._payment_text(doc, callback, status))
        return _payssam_success()

    @staticmethod
    def _payment_text(doc: DocumentRecord, callback: PaymentCallback, status: DocumentStatus) -> str:
        amount = status.amounts.total if status.amounts else doc.total
        money = format_money(amount, doc.currency) if amount is not None else "the bill"
        how = _PAY_TYPES.get(callback.appr_pay_type or "", callback.appr_pay_type or "")
        extra = ", ".join(x for x in (how, f"approval {callback.appr_num}" if callback.appr_num else "") if x)
        return f"💳 *Payment received* for `{doc.ref}`: {money}" + (f" ({escape_mrkdwn(extra)})" if extra else "") \
            + f" · {document_label(doc.lifecycle, status.state)}"

    # -- Abillify ----------------------------------------------------------------------------
    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def _refresh(self, doc: DocumentRecord | None) -> DocumentStatus | None:
        """Re-read the invoice from Abillify (never trust the body). Raises ProviderError."""
        service = self.deps.providers.get(Provider.ABILLIFY)
        if doc is None or service is None or doc.document_ref is None:
            return None
        return await service.status(doc.document_ref)

    async def abillify_notify(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            event = TaskNotification.model_validate(body)
        except ValidationError:
            return _json({"ok": False, "error": "not a task notification"}, 400)
        key = dedup_key(event)
        if await q.callback_seen(self.store, "abillify", key):
            return _json({"ok": True, "duplicate": True})
        ref = request.query.get("ref", "")
        doc = await self.store.documents.get_by_ref(ref) if ref else None
        if doc is not None and doc.provider is not Provider.ABILLIFY:
            doc = None
        try:
            status = await self._refresh(doc)
        except ProviderError as exc:
            log.warning("abillify notification for %s: cannot re-read the invoice now (%s)", ref, exc)
            return _json({"ok": False, "error": "provider unavailable, retry later"}, 503)
        await self._record(doc, status)
        if not await self.store.record_callback("abillify", key, body):
            return _json({"ok": True, "duplicate": True})
        if doc is not None:
            outcome = "ok" if event.ok else f"{event.result}:{event.resultcode}"
            await self._audit(doc, Provider.ABILLIFY, AuditOperation.TASK_NOTIFICATION, outcome, {"job": event.job})
            if event.ok:
                state = f" · {document_label(doc.lifecycle, status.state)}" if status is not None else ""
                text = f"📨 Abillify finished committing and sending `{doc.ref}`{state}"
            else:
                text = (f"❌ Abillify reports that its task for `{doc.ref}` failed: "
                        f"{escape_mrkdwn(clip(event.result, 200))} (code {escape_mrkdwn(clip(event.resultcode, 20))})")
            await self._notify(doc, text)
        else:
            log.info("abillify task notification for job %s names no document of ours", event.job)
        return _json({"ok": True})

    async def abillify_workflow(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            event = WorkflowWebhook.model_validate(body)
        except ValidationError:
            return _json({"ok": False, "error": "not a workflow webhook"}, 400)
        if not event.voucher_reference:
            return _json({"ok": False, "error": "voucherReference is required"}, 400)
        key = dedup_key(event)
        if await q.callback_seen(self.store, "abillify", key):
            return _json({"ok": True, "duplicate": True})
        doc = await self.store.documents.get_by_provider_id(Provider.ABILLIFY, event.voucher_reference)
        try:
            status = await self._refresh(doc)
        except ProviderError as exc:
            log.warning("abillify webhook for %s: cannot re-read the invoice now (%s)", event.voucher_reference, exc)
            return _json({"ok": False, "error": "provider unavailable, retry later"}, 503)
        await self._record(doc, status)
        if not await self.store.record_callback("abillify", key, body):
            return _json({"ok": True, "duplicate": True})
        if doc is not None and status is not None:
            await self._audit(doc, Provider.ABILLIFY, AuditOperation.WORKFLOW_EVENT, status.state.value,
                              {"workflow": event.workflow, "reported_state": event.state, "job": event.job})
            await self._notify(doc, self._workflow_text(doc, status))
        else:
            log.info("abillify workflow event for %s, which no document of ours has", event.voucher_reference)
        return _json({"ok": True})

    @staticmethod
    def _workflow_text(doc: DocumentRecord, status: DocumentStatus) -> str:
        amount = format_money(doc.total, doc.currency) if doc.total is not None else ""
        if status.state is DocumentState.PAID:
            return f"💳 *Paid*: `{doc.ref}` {amount}".rstrip()
        if status.state is DocumentState.CANCELED:
            return f"🚫 *Canceled* at Abillify: `{doc.ref}`"
        detail = f" — {escape_mrkdwn(clip(status.detail, 200))}" if status.detail else ""
        return f"🔄 `{doc.ref}` is now {document_label(doc.lifecycle, status.state)}{detail}"


def register_webhooks(web_app: web.Application, deps: WebhookDeps) -> None:
    """Add the provider callback routes to the bot's aiohttp application.

    Example::

        web_app = build_web_app(bolt, health)
        register_webhooks(web_app, WebhookDeps(store=store, providers=runtime.services, notify=post_in_thread))
    """
    handlers = _Handlers(deps)
    web_app.router.add_post(PAYSSAM_PATH, handlers.payssam)
    web_app.router.add_post(ABILLIFY_NOTIFY_PATH, handlers.abillify_notify)
    web_app.router.add_post(ABILLIFY_WORKFLOW_PATH, handlers.abillify_workflow)
