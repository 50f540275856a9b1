"""The one mapper from ledger records to views."""

from __future__ import annotations

import dataclasses

from commands.ledger import ApprovalRecord, DocumentRecord
from commands.workflow import ApprovalView, DocumentView
from commands.workflow.views import approval_view, error_fields
from providers.errors import ProviderUnavailable
from tests.commands.workflow.conftest import CHANNEL, REQUESTER, Env, make_draft

#: view fields no record column feeds: computed by the mapper, or set by the caller
COMPUTED_DOCUMENT = {"provider_ref", "error", "error_code", "error_hint", "amends_ref", "amendments"}
COMPUTED_APPROVAL = {"document", "warnings", "resubmits_ref", "approved_by"}


def test_every_view_field_comes_from_the_record_or_is_computed() -> None:
    """A field added to a view without a column (or a computation) would silently stay empty."""
    document_columns = {f.name for f in dataclasses.fields(DocumentRecord)}
    approval_columns = {f.name for f in dataclasses.fields(ApprovalRecord)}

    assert set(DocumentView.model_fields) - document_columns == COMPUTED_DOCUMENT
    assert set(ApprovalView.model_fields) - approval_columns == COMPUTED_APPROVAL


async def test_views_copy_every_shared_field_and_compute_the_rest(env: Env) -> None:
    pending = await env.service.request_issue(make_draft(bizno="123-12-12310"), REQUESTER, CHANNEL)
    approval = await env.store.approvals.get(pending.id)
    doc = await env.store.documents.get(pending.document.id or 0)
    assert approval is not None and doc is not None

    view = approval_view(approval, doc)

    for name in set(ApprovalView.model_fields) - COMPUTED_APPROVAL:
        assert getattr(view, name) == getattr(approval, name), name
    for name in set(DocumentView.model_fields) - COMPUTED_DOCUMENT:
        assert getattr(view.document, name) == getattr(doc, name), name
    assert view.warnings and "check digit" in view.warnings[0]
    assert view.document.provider_ref is None  # not issued yet: no provider id


def test_a_provider_error_lands_on_the_document_view() -> None:
    error = ProviderUnavailable("maintenance", provider="popbill", user_hint="try later")

    assert error_fields(error) == {"error": "popbill: maintenance", "error_code": "unavailable",
                                   "error_hint": "try later"}
    assert error_fields("not configured") == {"error": "not configured"}
    assert error_fields(None) == {}
