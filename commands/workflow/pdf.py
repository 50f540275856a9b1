"""A document's PDF from its provider, for posting in Slack (Popbill's PDF link lives 30 seconds).

A provider offers PDFs when its service has ``pdf(ref) -> bytes`` (Popbill: ``getPDFURL``
fetched at once). Others document no PDF download, so the Slack side offers no PDF button.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from commands.i18n import _
from commands.ledger import AuditKind, AuditOperation
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import Conflict
from commands.workflow.queries import stored_document
from commands.workflow.views import DocumentView, document_view
from commands.workflow.workspaces import row_scope
from providers.base import InvoiceProvider, implements
from providers.errors import NotSupported
from providers.models import DocumentRef

__all__ = ["PdfSource", "document_pdf", "offers_pdf"]


@runtime_checkable
class PdfSource(Protocol):
    """A provider that hands out a document's PDF (Popbill)."""

    async def pdf(self, ref: DocumentRef) -> bytes: ...


def offers_pdf(provider: InvoiceProvider | None) -> bool:
    return provider is not None and implements(provider, PdfSource)


async def document_pdf(ctx: WorkflowContext, ref_text: str, actor: str) -> tuple[DocumentView, bytes]:
    """The stored document and its PDF bytes, fresh from the provider."""
    doc = await stored_document(ctx, ref_text)
    ref = doc.document_ref
    if ref is None:
        raise Conflict(_("{ref} is not issued yet, so its provider has no PDF of it").format(ref=doc.ref))
    async with ctx.providers_of(row_scope(doc.team_id, doc.enterprise_id)):  # the document's account
        provider = ctx.provider(doc.provider)
        if not isinstance(provider, PdfSource):
            raise NotSupported(_("{provider} offers no PDF download; open the document in its console").format(
                provider=doc.provider.value), provider=doc.provider.value, code="pdf")
        data = await provider.pdf(ref)
    await ctx.store.audit.record(actor=actor, action=AuditKind.COMMAND, operation=AuditOperation.PDF,
                                 document_id=doc.id, document_ref=doc.ref, outcome="ok",
                                 detail={"bytes": len(data)}, now=ctx.clock())
    return document_view(doc), data
