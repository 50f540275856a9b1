"""Reads: a document's status, what a ref names, approvals waiting, the document list.

Reads never move an approval. `status` is the one read that asks a provider, and a provider
failure does not fail it: the last known state comes back with the error on the view.
"""

from __future__ import annotations

import dataclasses

from commands.i18n import _
from commands.ledger import ApprovalState, AuditEventRecord, DocumentRecord, Lifecycle, Standing, Store
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import NotFound, invalid, not_configured_message
from commands.workflow.refs import ExternalRef, InvalidRef, OurRef, ParsedRef, parse_ref
from commands.workflow.views import (
    ApprovalView,
    DocumentView,
    document_view,
    error_fields,
    external_view,
    status_update,
)
from commands.workflow.workspaces import current_scope, row_scope, visible
from providers.errors import ProviderError
from providers.models import DocumentState, DocumentStatus, Provider

__all__ = [
    "attach_card",
    "list_documents",
    "lookup",
    "parse",
    "pending_approvals",
    "resolve_ref",
    "status",
    "status_with_history",
    "stored_document",
]


def parse(ref_text: str) -> ParsedRef:
    """The ref a person typed; `RequestInvalid` (saying what works) when it is not one."""
    try:
        return parse_ref(ref_text)
    except InvalidRef as exc:
        raise invalid(str(exc)) from exc


async def lookup(ctx: WorkflowContext, parsed: ParsedRef) -> DocumentRecord | None:
    """Our row for a ref: None for a provider ref we do not store; `NotFound` for a missing ``INV-``.

    Any workspace's row: commands that act on it refuse another workspace's document themselves
    (`access.check_document_workspace`, audited); reads go through `_visible`."""
    return await _lookup_in(ctx.store, parsed)


async def _lookup_in(store: Store, parsed: ParsedRef) -> DocumentRecord | None:
    """`lookup` through `store` (the context's, or a read scope of it)."""
    if isinstance(parsed, OurRef):
        doc = await store.documents.get(parsed.document_id)
        if doc is None:
            raise NotFound(_("{ref} does not exist").format(ref=parsed.ref))
        return doc
    doc = await store.documents.get_by_provider_id(parsed.provider, parsed.provider_id)
    if doc is not None and parsed.matches_kind(doc.kind):
        return doc
    return None


async def _visible(ctx: WorkflowContext, parsed: ParsedRef, store: Store | None = None) -> DocumentRecord | None:
    """`lookup` for reads: another workspace's document does not exist for this one (it must not
    learn of it), and a provider ref another workspace stores is asked of the provider as if unknown."""
    return _checked_visible(parsed, await _lookup_in(store or ctx.store, parsed))


def _checked_visible(parsed: ParsedRef, doc: DocumentRecord | None) -> DocumentRecord | None:
    """`doc` when this workspace may see it; else `NotFound` for our ref, None for a provider ref."""
    if doc is None or visible(doc.team_id, current_scope()):
        return doc
    if isinstance(parsed, OurRef):
        raise NotFound(f"{parsed.ref} does not exist")
    return None


async def stored_document(ctx: WorkflowContext, ref_text: str) -> DocumentRecord:
    """Our row for a ref, or `NotFound` (a provider ref we do not store included)."""
    doc = await _visible(ctx, parse(ref_text))
    if doc is None:
        raise NotFound(_("{ref} is not a document this bot knows").format(ref=ref_text))
    return doc


async def status(ctx: WorkflowContext, ref_text: str, *, refresh: bool = True) -> DocumentView:
    """A document's state, fresh from the provider when `refresh` (and it has a provider id)."""
    parsed = parse(ref_text)
    doc = await _visible(ctx, parsed)
    if doc is None:
        assert isinstance(parsed, ExternalRef)
        return await _external_status(ctx, parsed)
    view, changed = await _refreshed(ctx, doc, refresh=refresh)
    return document_view(await ctx.document(doc.id)) if changed else view


async def status_with_history(ctx: WorkflowContext, ref_text: str, *, history: int,
                              refresh: bool = True) -> tuple[DocumentView, list[AuditEventRecord]]:
    """`status` with the documents amending it and the first `history` audit events of the document,
    read in one read scope before the provider call (one connection, one BEGIN, two SELECTs; they
    were three connections of their own), and again only when the provider's answer was written."""
    parsed = parse(ref_text)
    async with ctx.store.reading() as tx:
        page = await _page(ctx, tx, parsed, history)
    if page is None:
        assert isinstance(parsed, ExternalRef)
        return await _external_status(ctx, parsed), []
    doc, amendments, events = page
    view, changed = await _refreshed(ctx, doc, refresh=refresh)
    if changed:
        async with ctx.store.reading() as tx:
            page = await _page(ctx, tx, OurRef(doc.id), history)
        assert page is not None
        view, amendments, events = document_view(page[0]), page[1], page[2]
    return view.model_copy(update={"amendments": tuple(d.ref for d in amendments)}), events


async def _page(ctx: WorkflowContext, tx: Store, parsed: ParsedRef,
                history: int) -> tuple[DocumentRecord, list[DocumentRecord], list[AuditEventRecord]] | None:
    """What a status shows from the ledger: the row (None: a provider ref we do not store, or may
    not see), the documents amending it, and its audit history."""
    if isinstance(parsed, OurRef):
        found, amendments = await tx.documents.with_amendments(parsed.document_id)
        if found is None:
            raise NotFound(_("{ref} does not exist").format(ref=parsed.ref))
        doc = _checked_visible(parsed, found)
    else:
        doc = await _visible(ctx, parsed, tx)
        amendments = await tx.documents.amendments_of(doc.id) if doc is not None else []
    if doc is None:
        return None
    return doc, amendments, await tx.audit.history(doc.id, limit=history)


async def _refreshed(ctx: WorkflowContext, doc: DocumentRecord, *, refresh: bool) -> tuple[DocumentView, bool]:
    """The view of `doc` after asking its provider, and whether the answer was written (then the
    row changed, and a caller that shows it reads it again)."""
    ref = doc.document_ref
    if not refresh or ref is None or doc.lifecycle in (Lifecycle.PENDING_APPROVAL, Lifecycle.REJECTED):
        return document_view(doc), False
    async with ctx.providers_of(row_scope(doc.team_id, doc.enterprise_id)):  # the document's account
        provider = ctx.providers.get(doc.provider)
        if provider is None:
            return document_view(doc, error=not_configured_message(doc.provider)), False
        try:
            answer = await provider.status(ref)
        except ProviderError as exc:
            return document_view(doc, error=exc), False
    now = ctx.clock()
    if says_nothing_new(doc, answer):
        # The row already says all of it: no write. A write transaction per status serialised a
        # burst of them behind SQLite's write lock, and the re-read cost one more query.
        return document_view(dataclasses.replace(doc, state_checked_at=now)), False
    await ctx.store.documents.record_status(doc.id, answer, now=now)
    return document_view(doc), True


def says_nothing_new(doc: DocumentRecord, answer: DocumentStatus) -> bool:
    """True when storing `answer` would change no column of `doc` but the time it was checked
    (the columns `DocumentRepo.record_status` writes; what the answer leaves out it keeps)."""
    issued_at = answer.issued_at
    return (doc.provider_id == answer.ref.provider_id and doc.state is answer.state
            and doc.raw_state == answer.raw_state[:64] and doc.state_detail == answer.detail
            and answer.confirm_number in (None, "", doc.confirm_number)
            and (not answer.links or dict(answer.links) == doc.links)
            and answer.due_date in (None, doc.due_date)
            # a naive time is the ledger's to read (as Korean time): written, not compared
            and (issued_at is None or (issued_at.tzinfo is not None and issued_at == doc.issued_at)))


async def _external_status(ctx: WorkflowContext, parsed: ExternalRef) -> DocumentView:
    """A provider document we do not store, asked of the provider directly."""
    provider = ctx.providers.get(parsed.provider)
    if provider is None:
        return external_view(parsed, error=not_configured_message(parsed.provider), error_code="unsupported")
    try:
        answer = await provider.status(parsed.document_ref)
    except ProviderError as exc:
        return external_view(parsed, sandbox=provider.sandbox, **error_fields(exc))
    return external_view(parsed, sandbox=provider.sandbox, **status_update(answer, ctx.clock()))


async def resolve_ref(ctx: WorkflowContext, ref_text: str) -> DocumentView:
    """The stored document a ref names, without asking the provider (external refs: a stub view)."""
    parsed = parse(ref_text)
    doc = await _visible(ctx, parsed)
    if doc is not None:
        return document_view(doc)
    assert isinstance(parsed, ExternalRef)
    return external_view(parsed)


async def pending_approvals(ctx: WorkflowContext, approver: str | None, *, limit: int) -> list[ApprovalView]:
    """Requests waiting for a decision; for `approver`, only those they may decide."""
    exclude = approver if (approver is not None and ctx.policy.four_eyes) else None
    records = await ctx.store.approvals.search(states=ApprovalState.PENDING, exclude_requester=exclude, limit=limit,
                                               workspace=current_scope())
    now = ctx.clock()
    return [await ctx.approval_view(a) for a in records if a.expires_at is None or a.expires_at > now]


async def attach_card(ctx: WorkflowContext, approval_id: int, channel_id: str, message_ts: str) -> ApprovalView:
    """Remember where the approval card was posted, so later updates edit it."""
    await ctx.store.approvals.set_card(approval_id, channel_id, message_ts, now=ctx.clock())
    return await ctx.approval_view(approval_id)


async def list_documents(
    ctx: WorkflowContext,
    *,
    state: DocumentState | None,
    provider: Provider | None,
    lifecycle: Lifecycle | None,
    limit: int,
    before_id: int | None,
    standing: Standing | None = None,
) -> list[DocumentView]:
    """Newest first, as stored (no provider calls)."""
    records = await ctx.store.documents.search(
        state=state, standing=standing, provider=provider, lifecycle=lifecycle, limit=limit, before_id=before_id,
        workspace=current_scope(),
    )
    return [document_view(r) for r in records]
