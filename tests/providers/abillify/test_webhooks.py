"""What Abillify POSTs to us parses, maps to our states and de-duplicates."""

from __future__ import annotations

from decimal import Decimal

from providers.abillify import TaskNotification, WorkflowWebhook, dedup_key, parse_event
from providers.models import DocumentState

WORKFLOW = {
    "client": "merchant-1", "due": "2025-03-31", "identityReference": "biz-2208162517", "job": "42",
    "label": "Invoice INV-1", "number": "INV-1", "ordernumber": None, "state": "paid", "total": 330.0,
    "unpaid": 0, "voucherReference": "inv-000001", "workflow": "payment",
}


def test_notify_url_body_parses_as_a_task_notification() -> None:
    event = parse_event({"result": "OK", "resultcode": "0", "job": "7", "notification": "ntf-7"})
    assert isinstance(event, TaskNotification) and event.ok
    assert not TaskNotification(result="ERROR", resultcode="1", job="7", notification="n").ok


def test_workflow_webhook_parses_with_amounts_and_state() -> None:
    event = parse_event(WORKFLOW)
    assert isinstance(event, WorkflowWebhook)
    assert event.identity_reference == "biz-2208162517" and event.voucher_reference == "inv-000001"
    assert event.total == Decimal("330.0") and event.document_state() is DocumentState.PAID
    assert WorkflowWebhook(state="canceled").document_state() is DocumentState.CANCELED
    assert WorkflowWebhook(state="none").document_state() is DocumentState.UNPAID
    assert WorkflowWebhook().document_state() is DocumentState.UNKNOWN


def test_unknown_fields_are_kept() -> None:
    event = parse_event({**WORKFLOW, "newField": 1})
    assert event.model_extra == {"newField": 1}


def test_dedup_key_is_equal_for_redeliveries_and_differs_between_events() -> None:
    assert dedup_key(parse_event(WORKFLOW)) == dedup_key(parse_event(dict(WORKFLOW)))
    assert dedup_key(parse_event(WORKFLOW)) != dedup_key(parse_event({**WORKFLOW, "state": "canceled"}))
    assert dedup_key(parse_event(WORKFLOW)) != dedup_key(parse_event({**WORKFLOW, "voucherReference": "inv-2"}))
    notice = {"result": "OK", "resultcode": "0", "job": "7", "notification": "ntf-7"}
    assert dedup_key(parse_event(notice)) == "abillify:notify:7:ntf-7"
    assert dedup_key(parse_event(notice)) != dedup_key(parse_event({**notice, "notification": "ntf-8"}))
