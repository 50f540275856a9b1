"""What a request's outcome means for a Workflow Builder step (Slack-free)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from commands.ledger import ApprovalAction, ApprovalState
from commands.workflow.steps import closure_outcome, request_outcome, wait_outcome
from commands.workflow.views import ApprovalView, ClosureItem, ClosureResult, DocumentView
from providers.models import BusinessState, BusinessStatus, DocumentKind, Provider

T0 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)


def approval(state: ApprovalState, **overrides: Any) -> ApprovalView:
    doc = DocumentView(ref="INV-000007", provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                       provider_ref="popbill:tax_invoice:INV-000007", provider_id="024000001")
    values: dict[str, Any] = {"id": 7, "action": ApprovalAction.ISSUE, "state": state, "document": doc,
                              "requester": "U_ALICE", "created_at": T0, **overrides}
    return ApprovalView(**values)


@pytest.mark.parametrize("state", [ApprovalState.PENDING, ApprovalState.APPROVED, ApprovalState.EXECUTING,
                                   ApprovalState.UNKNOWN])
def test_a_request_on_its_way_keeps_the_step_open(state: ApprovalState) -> None:
    assert request_outcome(approval(state)) is None


def test_an_issued_request_completes_with_our_ref_and_the_providers_ids() -> None:
    outcome = request_outcome(approval(ApprovalState.SUCCEEDED, decider="U_BOB"))
    assert outcome is not None and outcome.ok
    assert outcome.outputs == {"reference": "INV-000007", "approval_id": "7",
                               "provider_reference": "popbill:tax_invoice:INV-000007",
                               "provider_document_id": "024000001"}


def test_rejected_expired_and_failed_requests_fail_the_step_saying_why() -> None:
    rejected = request_outcome(approval(ApprovalState.REJECTED, decider="U_BOB", reason="wrong buyer"))
    assert rejected is not None and rejected.error == "INV-000007 was rejected by U_BOB: wrong buyer"
    expired = request_outcome(approval(ApprovalState.EXPIRED))
    assert expired is not None and expired.error and "expired" in expired.error
    failed = request_outcome(approval(ApprovalState.FAILED, outcome_message="The buyer's number is closed.",
                                      user_hint="Check the buyer."))
    assert failed is not None and failed.error == ("INV-000007 was approved but not issued: "
                                                   "The buyer's number is closed. Check the buyer.")


def test_waiting_ends_with_the_decision_and_the_decider() -> None:
    assert wait_outcome(approval(ApprovalState.PENDING)) is None
    approved = wait_outcome(approval(ApprovalState.EXECUTING, decider="U_BOB"))
    assert approved is not None and approved.outputs["decision"] == "approved"
    assert approved.outputs["decider"] == "U_BOB"
    rejected = wait_outcome(approval(ApprovalState.REJECTED, decider="U_CAROL", reason="no"))
    assert rejected is not None and rejected.outputs["decision"] == "rejected" and rejected.outputs["reason"] == "no"
    expired = wait_outcome(approval(ApprovalState.EXPIRED))
    assert expired is not None and expired.outputs["decision"] == "expired" and "decider" not in expired.outputs


def test_a_closure_check_gives_state_tax_type_and_dates() -> None:
    status = BusinessStatus(bizno="1231212312", state=BusinessState.CLOSED, tax_type="general taxable",
                            state_date=dt.date(2023, 3, 31), checked_at=T0)
    result = ClosureResult(provider=Provider.POPBILL, items=(ClosureItem(input="123-12-12312", bizno="1231212312",
                                                                         status=status),))
    outcome = closure_outcome(result)
    assert outcome.ok and outcome.outputs == {"business_number": "1231212312", "state": "closed",
                                              "tax_type": "general taxable", "state_date": "2023-03-31",
                                              "checked_at": "2026-11-30"}
    failed = closure_outcome(ClosureResult(provider=Provider.POPBILL, items=(), error="timeout", error_hint="retry"))
    assert not failed.ok and failed.error == "The status check failed: timeout. retry"
    bad = closure_outcome(ClosureResult(provider=None, items=(ClosureItem(input="1", error="not a number"),)))
    assert bad.error == "The status check failed: not a number."
