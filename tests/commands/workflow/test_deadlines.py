"""Deadlines applied to our documents: the note a card shows, the report, and late approvals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from commands.ledger import ApprovalState
from commands.workflow import Conflict, DocumentView, NotAllowed
from commands.workflow import deadlines as deadlines_module
from commands.workflow.deadlines import Stage, deadline_report, issue_note, note_for, transmit_note, unissued_cutoff
from commands.workflow.tax_calendar import Timeliness
from providers.models import DocumentKind, DocumentState, IssueRequest, Provider
from tests.commands.workflow.conftest import APPROVER, CHANNEL, REQUESTER, Env, make_draft

D = dt.date


def view(**fields: Any) -> DocumentView:
    values: dict[str, Any] = {"ref": "INV-000001", "provider": Provider.POPBILL, "kind": DocumentKind.TAX_INVOICE,
                              "supply": 1_000_000, "write_date": D(2026, 2, 10), "lifecycle": "pending_approval"}
    return DocumentView.model_validate({**values, **fields})


@pytest.mark.parametrize(
    ("today", "timeliness", "penalty", "days_left"),
    [
        (D(2026, 3, 6), Timeliness.ON_TIME, 10_000, 4),  # at risk if missed: 1%
        (D(2026, 3, 10), Timeliness.ON_TIME, 10_000, 0),
        (D(2026, 3, 11), Timeliness.LATE, 10_000, -1),  # 지연발급 1%
        (D(2026, 7, 28), Timeliness.UNISSUED, 20_000, -140),  # after the filing deadline (Sat 25 Jul: Mon 27th)
    ],
)
def test_an_unissued_invoice_shows_its_issuance_deadline(today: dt.date, timeliness: Timeliness, penalty: int,
                                                          days_left: int) -> None:
    note = note_for(view(), today)
    assert note is not None
    assert (note.stage, note.deadline, note.timeliness, note.penalty, note.days_left) == (
        Stage.ISSUE, D(2026, 3, 10), timeliness, penalty, days_left)


def test_an_issued_invoice_shows_its_transmission_deadline_until_it_is_transmitted() -> None:
    issued_at = dt.datetime(2026, 3, 5, 23, 0, tzinfo=dt.UTC)  # Friday 6 March 08:00 in Seoul
    note = note_for(view(lifecycle="issued", state="issued", issued_at=issued_at), D(2026, 3, 10))
    assert note is not None and note.stage is Stage.TRANSMIT
    assert note.deadline == D(2026, 3, 9)  # Saturday the 7th moves to Monday
    assert note.late and note.percent == "0.3%" and note.penalty == 3_000
    for transmitted in (DocumentState.FILING, DocumentState.FILED, DocumentState.CANCELED):
        assert note_for(view(lifecycle="issued", state=transmitted, issued_at=issued_at), D(2026, 3, 10)) is None


@pytest.mark.parametrize(
    ("provider", "kind"),
    [(Provider.POPBILL, DocumentKind.CASH_RECEIPT), (Provider.PAYSSAM, DocumentKind.BILL),
     (Provider.ABILLIFY, DocumentKind.INVOICE), (Provider.HIWORKS, DocumentKind.STATEMENT)],
)
def test_documents_without_tax_deadlines_have_no_note(provider: Provider, kind: DocumentKind) -> None:
    assert note_for(view(provider=provider, kind=kind), D(2026, 3, 6)) is None


def test_zero_rated_and_exempt_invoices_on_hiworks_have_deadlines() -> None:
    for kind in (DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE):
        assert note_for(view(provider=Provider.HIWORKS, kind=kind), D(2026, 3, 6)) is not None


def test_notes_from_the_calendar() -> None:
    assert issue_note(D(2026, 1, 20), 130_000, D(2026, 3, 6)).penalty == 1_300
    assert transmit_note(D(2026, 3, 3), D(2026, 3, 3), 130_000, D(2026, 3, 6)).penalty == 390


# --------------------------------------------------------------------------- with the store


async def _request(env: Env, written: dt.date) -> int:
    draft = make_draft().model_copy(update={"write_date": written})
    approval = await env.service.request_issue(draft, REQUESTER, CHANNEL)
    return approval.id


async def test_the_report_lists_due_and_overdue_requests_and_not_rejected_ones(env: Env) -> None:
    # today is 2024-05-01: April's invoices are due on Friday 10 May
    await _request(env, D(2024, 3, 15))  # INV-000001, overdue
    await _request(env, D(2024, 4, 20))  # INV-000002, due in 9 days
    rejected = await _request(env, D(2024, 3, 16))
    await env.service.decide(rejected, APPROVER, approve=False, reason="wrong buyer")
    await _request(env, D(2024, 5, 1))  # due in June

    soon = await deadline_report(env.store, D(2024, 5, 1), 10)
    assert [e.row.ref for e in soon.unissued] == ["INV-000001", "INV-000002"]
    assert [e.note.late for e in soon.unissued] == [True, False]
    assert soon.total_penalty == 2_000  # 1% of ₩100,000 twice
    assert [e.row.ref for e in (await deadline_report(env.store, D(2024, 5, 1), 5)).unissued] == ["INV-000001"]


@pytest.mark.parametrize(
    ("horizon", "cutoff"),
    [
        (D(2024, 5, 6), D(2024, 4, 1)),  # April's invoices are due on Friday 10 May, not by the 6th
        (D(2024, 5, 10), D(2024, 5, 1)),  # by the 10th they are
        (D(2026, 1, 10), D(2025, 12, 1)),  # Saturday 10 Jan: December's deadline moves to Monday the 12th
        (D(2026, 1, 12), D(2026, 1, 1)),
    ],
)
def test_the_report_reads_only_the_months_that_can_be_due(horizon: dt.date, cutoff: dt.date) -> None:
    assert unissued_cutoff(horizon) == cutoff


async def test_the_report_does_not_read_requests_not_due_yet(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 14: on 1 May with 5 days ahead, April's requests (due 10 May) were read and dropped in Python
    asked: list[dt.date] = []
    real = deadlines_module.q.unissued_written_before

    async def spy(store: Any, before: dt.date, **kwargs: Any) -> Any:
        asked.append(before)
        return await real(store, before, **kwargs)

    monkeypatch.setattr(deadlines_module.q, "unissued_written_before", spy)
    await _request(env, D(2024, 3, 15))  # INV-000001, overdue
    await _request(env, D(2024, 4, 20))  # due 10 May

    report = await deadline_report(env.store, D(2024, 5, 1), 5)

    assert [e.row.ref for e in report.unissued] == ["INV-000001"]
    assert asked == [D(2024, 4, 1)]


async def test_a_late_issue_needs_a_confirmed_approval_and_then_forces_the_issue(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[IssueRequest] = []
    original = env.popbill.issue

    async def recording(request: IssueRequest) -> Any:
        sent.append(request)
        return await original(request)

    monkeypatch.setattr(env.popbill, "issue", recording)
    approval_id = await _request(env, D(2024, 3, 15))  # due 10 April; today is 1 May
    with pytest.raises(Conflict) as refused:
        await env.service.decide(approval_id, APPROVER, approve=True)
    assert refused.value.code == "late_unconfirmed"
    with pytest.raises(NotAllowed):  # four eyes first: no confirmation is left behind
        await env.service.decide(approval_id, REQUESTER, approve=True, late_confirmed=True)
    assert "late_issue" not in (await env.service.get_approval(approval_id)).payload
    assert env.popbill.issue_calls == 0

    result = await env.service.decide(approval_id, APPROVER, approve=True, late_confirmed=True)
    assert result.approval.state is ApprovalState.SUCCEEDED
    assert [r.force_issue for r in sent] == [True]
    assert result.approval.payload["late_issue"]["penalty"] == 1_000


async def test_an_on_time_issue_is_not_forced_and_a_late_one_may_be_rejected(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[IssueRequest] = []
    original = env.popbill.issue

    async def recording(request: IssueRequest) -> Any:
        sent.append(request)
        return await original(request)

    monkeypatch.setattr(env.popbill, "issue", recording)
    on_time = await _request(env, D(2024, 4, 30))
    await env.service.decide(on_time, APPROVER, approve=True, late_confirmed=True)  # nothing to confirm
    assert [r.force_issue for r in sent] == [False]
    assert "late_issue" not in (await env.service.get_approval(on_time)).payload
    late = await _request(env, D(2024, 3, 1))
    result = await env.service.decide(late, APPROVER, approve=False, reason="too late, ask the buyer")
    assert result.approval.state is ApprovalState.REJECTED


async def test_a_workspace_sees_only_its_own_deadlines(env: Env) -> None:
    import sqlalchemy as sa

    from commands.ledger.schema import documents
    from commands.ledger.workspaces import WorkspaceScope

    await _request(env, D(2024, 3, 15))  # INV-000001, overdue
    async with env.store.engine.begin() as conn:
        await conn.execute(sa.update(documents).where(documents.c.ref == "INV-000001").values(team_id="T_OTHER"))
    ours = WorkspaceScope(team_id="T_OURS", enterprise_id=None)
    assert not await deadline_report(env.store, D(2024, 5, 1), 5, workspace=ours)
    theirs = WorkspaceScope(team_id="T_OTHER", enterprise_id=None)
    assert (await deadline_report(env.store, D(2024, 5, 1), 5, workspace=theirs)).count == 1
