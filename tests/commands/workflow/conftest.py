"""Fixtures for the service tests: a store on each database, fake providers, a clock to move."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from commands.ledger import ApprovalState, Store
from commands.workflow import ApprovalView, DecisionOutcome, InvoiceService, IssueDraft
from providers.errors import OutcomeUnknown
from providers.models import DocumentKind, LineItem, Party, Provider
from tests.commands.workflow.fakes import FakeProvider

REQUESTER = "U_ALICE"  # an approver too, so the four-eyes rule is what stops her
APPROVER = "U_BOB"
OUTSIDER = "U_MALLORY"  # not an approver
APPROVERS = frozenset({REQUESTER, APPROVER, "U_CAROL"} | {f"U_APPROVER{i:03d}" for i in range(100)})
CHANNEL = "C_FINANCE"
START = dt.datetime(2024, 5, 1, 0, 0, tzinfo=dt.UTC)  # 09:00 in Seoul


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


async def is_approver(user: str) -> bool:
    return user in APPROVERS


def make_draft(
    *,
    provider: Provider = Provider.POPBILL,
    kind: DocumentKind = DocumentKind.TAX_INVOICE,
    buyer_name: str = "주식회사 가나다",
    bizno: str | None = "679-87-00433",
    unit_price: int = 100_000,
    quantity: int = 1,
) -> IssueDraft:
    return IssueDraft(
        provider=provider,
        kind=kind,
        buyer=Party(name=buyer_name, bizno=bizno, email="buyer@example.com"),
        items=[LineItem(name="컨설팅", quantity=quantity, unit_price=unit_price)],
        write_date=dt.date(2024, 5, 1),
    )


@dataclass
class Env:
    store: Store
    popbill: FakeProvider
    hiworks: FakeProvider
    payssam: FakeProvider
    clock: Clock
    service: InvoiceService
    extra: dict[str, Any] = field(default_factory=dict)

    def providers(self) -> dict[Provider, FakeProvider]:
        return {Provider.POPBILL: self.popbill, Provider.HIWORKS: self.hiworks, Provider.PAYSSAM: self.payssam}

    def make_service(self, **options: Any) -> InvoiceService:
        """Another service on the same store and providers (another process, other settings)."""
        options.setdefault("is_approver", is_approver)
        options.setdefault("clock", self.clock)
        return InvoiceService(self.store, self.providers(), **options)


@pytest.fixture
async def env(store: Store) -> AsyncIterator[Env]:
    clock = Clock()
    popbill = FakeProvider(Provider.POPBILL)
    hiworks = FakeProvider(Provider.HIWORKS)
    payssam = FakeProvider(
        Provider.PAYSSAM, kinds=frozenset({DocumentKind.BILL}), closure=False, resend_channels=frozenset()
    )
    service = InvoiceService(
        store,
        {Provider.POPBILL: popbill, Provider.HIWORKS: hiworks, Provider.PAYSSAM: payssam},
        is_approver=is_approver,
        clock=clock,
    )
    yield Env(store=store, popbill=popbill, hiworks=hiworks, payssam=payssam, clock=clock, service=service)


# --------------------------------------------------------------------------- steps shared by the modules


def unknown() -> OutcomeUnknown:
    return OutcomeUnknown("read timeout after sending", provider="popbill")


async def approve(env: Env, approval: ApprovalView) -> ApprovalView:
    result = await env.service.decide(approval.id, APPROVER, approve=True)
    assert result.outcome is DecisionOutcome.APPROVED
    return result.approval


async def issued(env: Env) -> ApprovalView:
    approval = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))
    assert approval.state is ApprovalState.SUCCEEDED
    return approval


async def issue(env: Env, **draft: object) -> str:
    approval = await env.service.request_issue(make_draft(**draft), REQUESTER, CHANNEL)  # type: ignore[arg-type]
    await env.service.decide(approval.id, APPROVER, approve=True)
    return approval.document.ref
