"""The status sweep against the real provider sandboxes: batching, outages, closure changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import httpx
import pytest

from commands.ledger import Store
from commands.slack.digest import build_digest_blocks, build_digest_data
from commands.workflow.sweep import SweepProgress, sweep
from providers import payssam
from providers.config import DEMO_PAYSSAM, DEMO_POPBILL, SellerConfig
from providers.http import HttpPolicy
from providers.models import BusinessState, BusinessStatus, DocumentState, Provider
from providers.popbill.service import PopbillService
from providers.sandbox.base import FaultRule
from providers.sandbox.payssam import PayssamSandbox
from providers.sandbox.popbill import PopbillSandbox, _demo_taxinvoice
from tests.commands.slack.digest.seed import bulk_open_documents
from tests.local_http import LOCAL_TLS

SEOUL = ZoneInfo("Asia/Seoul")
POLICY = HttpPolicy(read_timeout=2.0, backoff=0.01, max_attempts=1)
BUYER = "1168200276"  # the buyer of the sandbox's demo tax invoices


@pytest.fixture
async def popbill_sandbox() -> AsyncIterator[PopbillSandbox]:
    sandbox = PopbillSandbox()
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def popbill_service(popbill_sandbox: PopbillSandbox) -> AsyncIterator[PopbillService]:
    config = DEMO_POPBILL.model_copy(update={"api_url": popbill_sandbox.base_url, "auth_url": popbill_sandbox.base_url,
                                            "policy": POLICY})
    service = PopbillService(config, seller=SellerConfig(), sandbox=True, clock=popbill_sandbox.clock.time)
    yield service
    await service.aclose()


@pytest.fixture
async def payssam_sandbox() -> AsyncIterator[PayssamSandbox]:
    sandbox = PayssamSandbox()
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def payssam_service(payssam_sandbox: PayssamSandbox) -> AsyncIterator[payssam.PayssamService]:
    config = DEMO_PAYSSAM.model_copy(update={"api_url": payssam_sandbox.base_url, "policy": POLICY})
    service = payssam.create_service(config, seller=SellerConfig(), sandbox=True)
    yield service
    await service.aclose()


def issue_in_sandbox(sandbox: PopbillSandbox, keys: list[str]) -> None:
    """Tax invoices issued at the sandbox, as if through registIssue (thousands, without the HTTP cost)."""
    now = sandbox.clock.time()
    for key in keys:
        sandbox._new_doc("taxinvoice", sandbox.member, key, _demo_taxinvoice(sandbox.member, key, now), now)


async def nts_fails_now(sandbox: PopbillSandbox, key: str) -> None:
    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=sandbox.base_url) as client:
        answer = await client.post("/_sandbox/popbill/nts", json={"kind": "taxinvoice", "mgtKey": key, "fail": True,
                                                                  "now": True})
    assert answer.json()["stateCode"] == 305


async def test_the_sweep_batches_popbill_getinfos_1000_a_call(
    store: Store, popbill_sandbox: PopbillSandbox, popbill_service: PopbillService
) -> None:
    keys = [f"SWEEP-{i:05d}" for i in range(2_500)]
    issue_in_sandbox(popbill_sandbox, keys)
    for key in keys[:3]:
        await nts_fails_now(popbill_sandbox, key)
    now = dt.datetime.now(dt.UTC)
    await bulk_open_documents(store, Provider.POPBILL, keys, state=DocumentState.ISSUED, raw_state="300", now=now,
                              buyer_bizno=BUYER)
    pages: list[SweepProgress] = []

    report = await sweep(store, {Provider.POPBILL: popbill_service}, concurrency=4, progress=pages.append)

    get_infos = popbill_sandbox.requests_to(r"^/Taxinvoice/SELL$", "POST")
    assert len(get_infos) == 3  # 1,000 + 1,000 + 500 keys
    assert report.checked == {Provider.POPBILL: 2_500}
    # progress after each written batch: how answers fall into batches depends on when they arrive
    # (answers read at the same time are written together), so only its course is fixed
    checked = [p.checked for p in pages]
    assert checked == sorted(set(checked)) and checked[-1] == 2_500 and len(checked) >= 2
    assert sorted(c.provider_id for c in report.changes) == keys[:3]
    assert {(c.previous, c.current, c.raw_state) for c in report.changes} == {
        (DocumentState.ISSUED, DocumentState.FILING_FAILED, "305")}
    assert report.unreachable == {}
    failed = await store.documents.get_by_provider_id(Provider.POPBILL, keys[0])
    untouched = await store.documents.get_by_provider_id(Provider.POPBILL, keys[-1])
    assert failed is not None and failed.state is DocumentState.FILING_FAILED and failed.raw_state == "305"
    assert untouched is not None and untouched.state is DocumentState.ISSUED
    assert untouched.state_checked_at is not None  # checked, unchanged
    changes = await store.audit.search(document_id=failed.id)
    assert [(e.operation, e.outcome) for e in changes] == [("status_change", "filing_failed")]
    assert len(popbill_sandbox.requests_to(r"^/CloseDown$", "POST")) == 1  # the buyer's closure status
    assert report.closure_checked == 1


async def test_the_sweep_keeps_going_when_one_provider_is_down_and_the_digest_says_so(
    store: Store, popbill_sandbox: PopbillSandbox, popbill_service: PopbillService,
    payssam_sandbox: PayssamSandbox, payssam_service: payssam.PayssamService,
) -> None:
    keys = ["DOWN-001", "DOWN-002"]
    issue_in_sandbox(popbill_sandbox, keys)
    now = dt.datetime.now(dt.UTC)
    await bulk_open_documents(store, Provider.POPBILL, keys, state=DocumentState.UNKNOWN, raw_state="", now=now)
    await bulk_open_documents(store, Provider.PAYSSAM, ["DEMO0001", "DEMO0002"], state=DocumentState.UNPAID,
                              raw_state="W", now=now)
    payssam_sandbox.add_fault(FaultRule(kind="503", count=None))

    report = await sweep(store, {Provider.POPBILL: popbill_service, Provider.PAYSSAM: payssam_service},
                         concurrency=2)

    assert list(report.unreachable) == ["payssam"]
    assert "ProviderUnavailable" in report.unreachable["payssam"]
    assert report.checked == {Provider.POPBILL: 2}
    assert {c.current for c in report.changes} == {DocumentState.ISSUED}
    bill = await store.documents.get_by_provider_id(Provider.PAYSSAM, "DEMO0002")
    assert bill is not None and bill.state is DocumentState.UNPAID  # left as it was, not guessed

    data = await build_digest_data(store, now=dt.datetime.now(dt.UTC), since=now - dt.timedelta(hours=1), tz=SEOUL)
    rendered = str([b.to_dict() for b in build_digest_blocks(data, SEOUL)])
    assert "payssam" in data.unreachable
    assert "Could not reach during the status sweep" in rendered and "Payssam" in rendered

    payssam_sandbox.clear_faults()
    second = await sweep(store, {Provider.POPBILL: popbill_service, Provider.PAYSSAM: payssam_service})
    paid = await store.documents.get_by_provider_id(Provider.PAYSSAM, "DEMO0002")
    assert second.unreachable == {}
    assert paid is not None and paid.state is DocumentState.PAID  # the sandbox's demo bill 2 is paid


async def test_closure_changes_are_recorded_once(
    store: Store, popbill_sandbox: PopbillSandbox, popbill_service: PopbillService
) -> None:
    now = dt.datetime.now(dt.UTC)
    # 1231212312 is closed (폐업, state 2) in the sandbox; we last saw it active. 2208875476 is new to us.
    issue_in_sandbox(popbill_sandbox, ["CL-1", "CL-2"])
    await bulk_open_documents(store, Provider.POPBILL, ["CL-1"], state=DocumentState.ISSUED, raw_state="300",
                              now=now, buyer_bizno="1231212312")
    await bulk_open_documents(store, Provider.POPBILL, ["CL-2"], state=DocumentState.ISSUED, raw_state="300",
                              now=now, buyer_bizno="2208875476")
    await store.closures.record([BusinessStatus(bizno="1231212312", state=BusinessState.ACTIVE, raw_state="1")],
                                provider=Provider.POPBILL, checked_by="U1", now=now - dt.timedelta(days=2))

    first = await sweep(store, {Provider.POPBILL: popbill_service})
    again = await sweep(store, {Provider.POPBILL: popbill_service})

    assert [(c.bizno, c.previous, c.current) for c in first.closure_changes] == [("1231212312", "active", "closed")]
    assert again.closure_changes == []
    assert len(await store.closures.history("1231212312")) == 2  # the old check and the change, nothing more
    assert len(await store.closures.history("2208875476")) == 1  # first seen: recorded as the baseline
    data = await build_digest_data(store, now=dt.datetime.now(dt.UTC), since=now - dt.timedelta(hours=1), tz=SEOUL)
    assert [(c.bizno, c.current) for c in data.closure_changes.rows] == [("1231212312", BusinessState.CLOSED)]
