"""Abillify's calls: the task notification (commitInvoice's ``notifyUrl``) and the workflow webhook.

Abillify documents no signing, so the URLs we give it carry a token (`bot.callback_auth`):
``abillify:<ref>`` for the notifyUrl of one document, ``abillify:workflow`` for the
installation's workflow webhook. A call without it is 401. A call with it is only a reason
to re-read the invoice from Abillify: the thread hears about a change in Abillify's own
state, worded from that re-read, once (`CallbackHandler.report_change`). What the body
claims (``result``, ``resultcode``, ``state``) never reaches a message, and repeating or
varying a body cannot make a second post.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot.webhook_base import CallbackHandler, json_answer
from commands.i18n import _
from commands.ledger import AuditOperation, DocumentRecord
from commands.slack.formatting import clip, document_label, escape_mrkdwn, format_money
from providers.abillify.webhooks import TaskNotification, WorkflowWebhook
from providers.errors import ProviderError
from providers.models import DocumentState, DocumentStatus, Provider

__all__ = ["WORKFLOW_SCOPE", "AbillifyCallbacks", "abillify_scope", "state_text"]

log = logging.getLogger("invoicebot.webhooks")

WORKFLOW_SCOPE = "abillify:workflow"


def abillify_scope(ref: str) -> str:
    """The token scope of the notifyUrl given when committing the invoice of document `ref`."""
    return f"abillify:{ref}"


def state_text(doc: DocumentRecord, status: DocumentStatus) -> str:
    """The thread's update, from Abillify's own record of the invoice."""
    label = document_label(doc.lifecycle, status.state)
    if status.state is DocumentState.PAID:
        amount = format_money(doc.total, doc.currency) if doc.total is not None else ""
        return _("💳 *Paid*: `{ref}` {amount}").format(ref=doc.ref, amount=amount).rstrip()
    if status.state is DocumentState.CANCELED:
        return _("🚫 *Canceled* at Abillify: `{ref}`").format(ref=doc.ref)
    if status.state is DocumentState.UNPAID and status.raw_state.endswith("/committed") \
            and doc.state is not DocumentState.UNPAID:
        return _("📨 Abillify finished committing and sending `{ref}` · {label}").format(ref=doc.ref, label=label)
    detail = f" — {escape_mrkdwn(clip(status.detail, 200))}" if status.detail else ""
    return _("🔄 `{ref}` is now {label}").format(ref=doc.ref, label=label) + detail


async def _body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class AbillifyCallbacks(CallbackHandler):
    provider = Provider.ABILLIFY

    async def _refresh_and_report(self, doc: DocumentRecord, operation: AuditOperation,
                                  detail: dict[str, Any]) -> web.Response:
        """Re-read the invoice from Abillify (the account that issued it) and report what changed."""
        service = await self.service_for(doc)
        if service is None:  # the workspace's own account cannot be used now: Abillify retries later
            return json_answer({"ok": False, "error": "provider account unavailable, retry later"}, 503)
        if doc.document_ref is None:
            return json_answer({"ok": True})
        try:
            status = await service.status(doc.document_ref)
        except ProviderError as exc:
            log.warning("abillify callback for %s: cannot re-read the invoice now (%s)", doc.ref, exc)
            return json_answer({"ok": False, "error": "provider unavailable, retry later"}, 503)
        await self.report_change(doc, status, operation, state_text, detail)
        return json_answer({"ok": True})

    async def notify(self, request: web.Request) -> web.Response:
        ref = request.query.get("ref", "")
        if not self.authentic(request, abillify_scope(ref)):
            return json_answer({"ok": False, "error": "invalid callback URL token"}, 401)
        try:
            event = TaskNotification.model_validate(await _body(request))
        except ValidationError:
            return json_answer({"ok": False, "error": "not a task notification"}, 400)
        doc = await self.store.documents.get_by_ref(ref)
        if doc is None or doc.provider is not Provider.ABILLIFY:
            log.info("abillify task notification for %s, which no Abillify document of ours has", clip(ref, 40))
            return json_answer({"ok": True})
        return await self._refresh_and_report(doc, AuditOperation.TASK_NOTIFICATION, {"job": clip(event.job, 80)})

    async def workflow(self, request: web.Request) -> web.Response:
        if not self.authentic(request, WORKFLOW_SCOPE):
            return json_answer({"ok": False, "error": "invalid callback URL token"}, 401)
        try:
            event = WorkflowWebhook.model_validate(await _body(request))
        except ValidationError:
            return json_answer({"ok": False, "error": "not a workflow webhook"}, 400)
        if not event.voucher_reference:
            return json_answer({"ok": False, "error": "voucherReference is required"}, 400)
        doc = await self.store.documents.get_by_provider_id(Provider.ABILLIFY, event.voucher_reference)
        if doc is None:
            log.info("abillify workflow event for %s, which no document of ours has",
                     clip(event.voucher_reference, 40))
            return json_answer({"ok": True})
        return await self._refresh_and_report(doc, AuditOperation.WORKFLOW_EVENT,
                                              {"workflow": clip(event.workflow or "", 40),
                                               "job": clip(event.job or "", 80)})
