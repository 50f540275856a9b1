"""A document's page at its provider, fetched when someone asks to open it.

Popbill's popup URL lives 30 seconds, so a status that fetched it for the message handed
later readers a dead link (and cost a call per status). A provider that can give such a
URL has ``popup_url(ref) -> str`` (Popbill: ``getPopUpURL``); the status card then offers
an "Open in provider" button, and only a click fetches the URL, for the person who clicked.
Payssam's payment link is kept from the issue answer (it does not expire), and Hiworks and
Abillify document no page URL, so they offer no button.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from commands.i18n import _
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import Conflict
from commands.workflow.queries import stored_document
from commands.workflow.views import DocumentView, document_view
from commands.workflow.workspaces import row_scope
from providers.base import InvoiceProvider, implements
from providers.errors import NotSupported
from providers.models import DocumentRef

__all__ = ["PopupSource", "document_popup_url", "offers_popup"]


@runtime_checkable
class PopupSource(Protocol):
    """A provider that hands out a short-lived URL of a document's page (Popbill)."""

    async def popup_url(self, ref: DocumentRef) -> str: ...


def offers_popup(provider: InvoiceProvider | None) -> bool:
    return provider is not None and implements(provider, PopupSource)


async def document_popup_url(ctx: WorkflowContext, ref_text: str) -> tuple[DocumentView, str]:
    """The stored document (of this workspace) and a fresh URL of its page at the provider."""
    doc = await stored_document(ctx, ref_text)
    ref = doc.document_ref
    if ref is None:
        raise Conflict(_("{ref} is not issued yet, so its provider has no page for it").format(ref=doc.ref))
    async with ctx.providers_of(row_scope(doc.team_id, doc.enterprise_id)):  # the document's account
        provider = ctx.provider(doc.provider)
        if not isinstance(provider, PopupSource):
            raise NotSupported(_("{provider} offers no link to a document's page; open it in its console").format(
                provider=doc.provider.value), provider=doc.provider.value, code="popup")
        url = await provider.popup_url(ref)
    return document_view(doc), url
