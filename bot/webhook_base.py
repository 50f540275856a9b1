"""What every provider callback handler shares: its dependencies, and reporting a change once.

A callback is only a hint that something may have changed. The handler re-reads the
document from the provider, records what the provider says, and posts in the document's
thread only when that differs from what the ledger held: `report_change` claims the change
(``provider:ref:hash(before->after)``) in ``callback_events``, so of any number of deliveries,
repeats and forgeries, exactly one posts per real change. Nothing of a callback's body
reaches a message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.callback_auth import CallbackSigner, callback_signer
from bot.settings import Settings
from commands.i18n import _
from commands.ledger import AuditKind, AuditOperation, DocumentRecord, Store, utc_now
from commands.slack.formatting import SANDBOX_NOTICE, clip
from commands.workflow.errors import NotAllowed
from providers.base import InvoiceProvider
from providers.models import DocumentState, DocumentStatus, Provider

__all__ = ["CallbackHandler", "Notifier", "WebhookDeps", "json_answer"]

log = logging.getLogger("invoicebot.webhooks")

#: ``await notify(document_ref, text, blocks)``: post in the document's Slack thread.
Notifier = Callable[[str, str, list[Block]], Awaitable[None]]


@dataclass
class WebhookDeps:
    """What the webhook handlers need.

    Args:
        store: the database.
        providers: the provider services (re-reads, Payssam's apiKey and payment check).
        notify: posts an update in a document's Slack thread.
        settings: the bot's settings (the callback URL secret is derived from them).
        clock: aware "now".
        signer: checks the token in each callback URL; by default `callback_signer(settings)`.
        providers_for: a workspace's own provider services (team id -> services; raises
            `NotAllowed` when its stored credentials cannot be read); None: `providers` for all.
    """

    store: Store
    providers: Mapping[Provider, InvoiceProvider]
    notify: Notifier
    settings: Settings | None = None
    clock: Callable[[], dt.datetime] = utc_now
    signer: CallbackSigner = field(default=None)  # type: ignore[assignment]
    providers_for: Callable[[str | None], Awaitable[Mapping[Provider, InvoiceProvider]]] | None = None

    def __post_init__(self) -> None:
        if self.signer is None:
            self.signer = callback_signer(self.settings)


def json_answer(data: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.json_response(dict(data), status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _update_blocks(doc: DocumentRecord, text: str) -> list[Block]:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))]
    if doc.sandbox:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_(SANDBOX_NOTICE))]))
    return blocks


def _fingerprint(state: DocumentState | None, raw_state: str | None, detail: str | None) -> str:
    return f"{state.value if state else '-'}/{(raw_state or '-')[:64]}/{detail or '-'}"


class CallbackHandler:
    """Base of the provider handlers: authenticate the URL, record, report a change once."""

    provider: Provider

    def __init__(self, deps: WebhookDeps) -> None:
        self.deps = deps

    @property
    def store(self) -> Store:
        return self.deps.store

    def authentic(self, request: web.Request, scope: str) -> bool:
        """Whether the URL carries the token of `scope`; a refusal is logged in one short line."""
        if self.deps.signer.verify(scope, request.query.get("token")):
            return True
        log.warning("%s callback refused: no valid token for %s (from %s)", self.provider.value, clip(scope, 80),
                    str(request.remote)[:64])
        return False

    async def service_for(self, doc: DocumentRecord | None) -> InvoiceProvider | None:
        """The service that issued `doc`: its workspace's own account when that workspace stored one
        (so its apiKey and its re-read are that account's), else the environment's; None when that
        workspace's credentials cannot be read (never the environment's account in their place)."""
        if doc is None or doc.team_id is None or self.deps.providers_for is None:
            return self.deps.providers.get(self.provider)
        try:
            services = await self.deps.providers_for(doc.team_id)
        except NotAllowed as exc:
            log.warning("%s callback for %s: the workspace's provider account cannot be used (%s)",
                        self.provider.value, doc.ref, exc.code)
            return None
        return services.get(self.provider)

    async def report_change(self, doc: DocumentRecord, status: DocumentStatus, operation: AuditOperation,
                            text: Callable[[DocumentRecord, DocumentStatus], str],
                            detail: Mapping[str, Any]) -> bool:
        """Record the re-read status; post `text` once when it changed what the ledger held."""
        before = _fingerprint(doc.state, doc.raw_state, doc.state_detail)
        after = _fingerprint(status.state, status.raw_state, status.detail)
        await self.store.documents.record_status(doc.id, status, now=self.deps.clock())
        if before == after:
            log.info("%s callback for %s: state unchanged (%s), nothing posted", self.provider.value, doc.ref, after)
            return False
        change = hashlib.sha256(f"{before}->{after}".encode()).hexdigest()[:32]
        key = f"{self.provider.value}:{doc.ref}:{change}"
        if not await self.store.record_callback(self.provider.value, key, {"ref": doc.ref, **detail}):
            return False  # a concurrent delivery reported this change
        await self.store.audit.record(actor=self.provider.value, action=AuditKind.CALLBACK, operation=operation,
                                      document_id=doc.id, document_ref=doc.ref, outcome=status.state.value,
                                      detail={**detail, "from": before, "to": after}, now=self.deps.clock())
        message = text(doc, status)
        try:
            await self.deps.notify(doc.ref, message, _update_blocks(doc, message))
        except Exception:
            # the change is recorded; a Slack hiccup must not make the provider retry it
            log.exception("could not post the callback update for %s", doc.ref)
        return True
