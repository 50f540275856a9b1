"""Bulk issuance in the workflow: one approval for a file's rows, Popbill bulkSubmit in calls of 100,
recovery through getBulkResult without a second submission, and one by one elsewhere."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from commands.ledger import ApprovalState, IdempotencyState, Lifecycle, Store
from commands.workflow import InvoiceService, IssueDraft
from commands.workflow.bulk import RowDraft
from commands.workflow.checks import ChecksFailed
from providers.base import BulkResult
from providers.config import DEMO_POPBILL, SellerConfig
from providers.errors import ProviderRejected
from providers.http import HttpPolicy
from providers.models import DocumentKind, LineItem, Party, Provider
from providers.popbill.service import PopbillService
from providers.sandbox.faults import FaultRule
from providers.sandbox.popbill import PopbillSandbox
from tests.commands.workflow.conftest import APPROVER, CHANNEL, REQUESTER, Env, is_approver
from tests.local_http import LOCAL_TLS

POLICY = HttpPolicy(read_timeout=5.0, backoff=0.01, max_attempts=1)
ACTIVE = "220-81-62517"  # active at the Popbill sandbox
CLOSED = "123-12-12312"  # 폐업 at the Popbill sandbox


def rows(count: int, *, provider: Provider = Provider.POPBILL, bizno: str = ACTIVE,
         price: int = 10_000) -> list[RowDraft]:
    today = dt.date.today()
    return [RowDraft(number=n + 2, draft=IssueDraft(
        provider=provider, kind=DocumentKind.TAX_INVOICE,
        buyer=Party(name=f"구매자 {n}", bizno=bizno, email="buyer@example.com"),
        items=[LineItem(name="월 구독료", quantity=1, unit_price=price + n)], write_date=today))
        for n in range(count)]


@pytest.fixture
async def popbill() -> AsyncIterator[tuple[PopbillSandbox, PopbillService]]:
    sandbox = PopbillSandbox()
    await sandbox.start()
    config = DEMO_POPBILL.model_copy(update={"api_url": sandbox.base_url, "auth_url": sandbox.base_url,
                                            "policy": POLICY})
    service = PopbillService(config, seller=SellerConfig(), sandbox=True, clock=sandbox.clock.time)
    yield sandbox, service
    await service.aclose()
    await sandbox.stop()


def bulk_submits(sandbox: PopbillSandbox) -> list[dict[str, object]]:
    return [r for r in sandbox.requests_to(r"^/Taxinvoice$", "POST")
            if any(k.lower() == "x-pb-submit-id" for k in dict(r.get("headers") or {}))]


async def documents_at(sandbox: PopbillSandbox) -> Counter[str]:
    async with httpx.AsyncClient(verify=LOCAL_TLS) as http:
        state = (await http.get(sandbox.base_url + "/_sandbox/state")).json()
    return Counter(d["mgtKey"] for d in state["documents"] if str(d["mgtKey"] or "").startswith("INV-"))


def service_on(store: Store, popbill: PopbillService, **options: object) -> InvoiceService:
    return InvoiceService(store, {Provider.POPBILL: popbill}, is_approver=is_approver, **options)  # type: ignore[arg-type]


async def test_a_bad_row_is_named_by_row_and_column_and_nothing_is_stored(
        store: Store, popbill: tuple[PopbillSandbox, PopbillService]) -> None:
    service = service_on(store, popbill[1])
    file = rows(3)
    file[1] = RowDraft(number=3, draft=file[1].draft.model_copy(update={"buyer": Party(name="x", bizno="12")}))
    file[2] = RowDraft(number=4, draft=file[2].draft.model_copy(update={"buyer": Party(name="y", bizno=CLOSED)}))
    preview = await service.check_bulk(file, REQUESTER)
    assert not preview.ok
    assert [(p.row, p.column) for p in preview.problems] == [(3, "buyer_bizno"), (4, "override_reason")]
    assert len(preview.rows) == 1
    with pytest.raises(ChecksFailed):
        await service.request_bulk(preview, REQUESTER, CHANNEL, file_id="F1", file_name="x.csv")
    assert await store.approvals.search() == []


async def test_120_rows_are_one_approval_and_two_bulk_submits(
        store: Store, popbill: tuple[PopbillSandbox, PopbillService]) -> None:
    sandbox, client = popbill
    service = service_on(store, client, two_approvals_above=1_000_000)
    preview = await service.check_bulk(rows(120), REQUESTER)
    assert preview.ok and len(preview.rows) == 120 and preview.total > 1_000_000
    approval = await service.request_bulk(preview, REQUESTER, CHANNEL, file_id="F120", file_name="m.csv")
    assert approval.state is ApprovalState.PENDING and approval.required_approvals == 2  # the batch total decides
    assert approval.payload["bulk"]["rows"] == 120
    first = await service.decide(approval.id, APPROVER, approve=True)
    assert first.execution is None and first.approval.state is ApprovalState.PENDING  # one of two votes
    commits: list[int] = []
    sa.event.listen(store.engine.sync_engine, "commit", lambda _conn: commits.append(1))
    decided = await service.decide(approval.id, "U_CAROL", approve=True)
    assert decided.execution is not None and decided.execution.ok, decided.execution
    assert decided.approval.state is ApprovalState.SUCCEEDED
    assert len(bulk_submits(sandbox)) == 2
    # the rows of a submission are written together, a transaction per step (made issuing; claimed with
    # the submission recorded; outcomes, audits and results): 17, not one per row per step (854 before)
    assert len(commits) <= 24, len(commits)
    docs = await documents_at(sandbox)
    assert len(docs) == 120 and set(docs.values()) == {1}
    batch = await service.bulk_batch(approval.id)
    assert batch is not None and len(batch[1]) == 120
    assert all(r.lifecycle is Lifecycle.ISSUED and r.result_code == "issued" for r in batch[1])
    for row in batch[1]:  # every row's outcome and audit kept
        key = await store.idempotency.get(f"issue:{row.ref}")
        assert key is not None and key.state is IdempotencyState.DONE and key.result is not None
    issued = [e for e in await store.audit.search(operation="issue", limit=1_000) if e.outcome == "ok"]
    assert sorted(e.document_id or 0 for e in issued) == sorted(r.document_id for r in batch[1])
    with pytest.raises(Exception, match="already submitted"):
        await service.request_bulk(preview, REQUESTER, CHANNEL, file_id="F120", file_name="m.csv")


async def test_a_lost_bulk_result_is_read_back_before_anything_is_sent_again(
        store: Store, popbill: tuple[PopbillSandbox, PopbillService]) -> None:
    sandbox, client = popbill
    service = service_on(store, client)
    approval = await service.request_bulk(await service.check_bulk(rows(150), REQUESTER), REQUESTER, CHANNEL,
                                          file_id="F150", file_name="m.csv")
    # the first submission is received and issued, but its result cannot be read: a crash, as far as we know
    sandbox.add_fault(FaultRule(kind="500", path=r"/Taxinvoice/BULK/.*/State", method="GET", count=1))
    decided = await service.decide(approval.id, APPROVER, approve=True)
    assert decided.approval.state is ApprovalState.UNKNOWN and decided.approval.retryable
    assert len(bulk_submits(sandbox)) == 1
    retried = await service.retry(approval.id, REQUESTER)
    assert retried.approval.state is ApprovalState.SUCCEEDED, retried.message
    assert len(bulk_submits(sandbox)) == 2  # the first was never sent again
    docs = await documents_at(sandbox)
    assert len(docs) == 150 and set(docs.values()) == {1}


async def test_a_refused_submission_and_a_refused_row_are_each_recorded_as_refused(
        store: Store, popbill: tuple[PopbillSandbox, PopbillService]) -> None:
    sandbox, client = popbill
    service = service_on(store, client)
    refused = await service.request_bulk(await service.check_bulk(rows(2), REQUESTER), REQUESTER, CHANNEL,
                                         file_id="FR", file_name=None)
    real_submit, real_result = client.bulk_submit, client.bulk_result

    async def refuse(*_args: object) -> str:
        raise ProviderRejected("seller suspended", provider="popbill", code="-11000001")

    client.bulk_submit = refuse  # type: ignore[method-assign,assignment]
    decided = await service.decide(refused.id, APPROVER, approve=True)
    assert decided.approval.state is ApprovalState.FAILED
    batch = await service.bulk_batch(refused.id)
    assert batch is not None and {(r.lifecycle, r.result_code) for r in batch[1]} == {(Lifecycle.FAILED, "-11000001")}
    for row in batch[1]:  # nothing was issued: each key may be claimed again
        key = await store.idempotency.get(f"issue:{row.ref}")
        assert key is not None and key.state is IdempotencyState.FAILED

    client.bulk_submit = real_submit  # type: ignore[method-assign]
    approval = await service.request_bulk(await service.check_bulk(rows(3), REQUESTER), REQUESTER, CHANNEL,
                                          file_id="FR2", file_name=None)
    batch = await service.bulk_batch(approval.id)
    assert batch is not None
    second = batch[1][1].ref

    async def one_refused(family: str, submit_id: str) -> BulkResult | None:
        result = await real_result(family, submit_id)
        if result is None or not result.done:
            return result
        outcomes = tuple(o.model_copy(update={"ok": False, "code": "-99", "message": "no"}) if o.key == second else o
                         for o in result.outcomes)
        return result.model_copy(update={"outcomes": outcomes})

    client.bulk_result = one_refused  # type: ignore[method-assign]
    decided = await service.decide(approval.id, APPROVER, approve=True)
    assert decided.approval.state is ApprovalState.SUCCEEDED and decided.approval.outcome_code == "partial"
    batch = await service.bulk_batch(approval.id)
    assert batch is not None
    assert [(r.lifecycle, r.result_code) for r in batch[1]] == [
        (Lifecycle.ISSUED, "issued"), (Lifecycle.FAILED, "-99"), (Lifecycle.ISSUED, "issued")]
    states = [k.state if (k := await store.idempotency.get(f"issue:{r.ref}")) else None for r in batch[1]]
    assert states == [IdempotencyState.DONE, IdempotencyState.FAILED, IdempotencyState.DONE]
    assert len(bulk_submits(sandbox)) == 1


async def test_rejecting_a_batch_rejects_every_row(
        store: Store, popbill: tuple[PopbillSandbox, PopbillService]) -> None:
    service = service_on(store, popbill[1])
    approval = await service.request_bulk(await service.check_bulk(rows(3), REQUESTER), REQUESTER, CHANNEL,
                                          file_id="F3", file_name=None)
    await service.decide(approval.id, APPROVER, approve=False, reason="wrong month")
    batch = await service.bulk_batch(approval.id)
    assert batch is not None and {r.lifecycle for r in batch[1]} == {Lifecycle.REJECTED}


async def test_a_provider_without_a_bulk_api_issues_one_by_one(env: Env) -> None:
    file = rows(12, provider=Provider.HIWORKS, bizno="679-87-00433")
    approval = await env.service.request_bulk(await env.service.check_bulk(file, REQUESTER), REQUESTER, CHANNEL,
                                              file_id="FH", file_name="h.csv")
    decided = await env.service.decide(approval.id, APPROVER, approve=True)
    assert decided.approval.state is ApprovalState.SUCCEEDED
    assert env.hiworks.issue_calls == 12
    batch = await env.service.bulk_batch(approval.id)
    assert batch is not None and {r.lifecycle for r in batch[1]} == {Lifecycle.ISSUED}
