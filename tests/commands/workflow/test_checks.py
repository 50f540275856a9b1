"""`commands.workflow.checks`: the one validation step, closure at request time, and N-of-M approvals."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from commands.ledger import ApprovalState
from commands.workflow import Conflict, DecisionOutcome, InvoiceService
from commands.workflow.checks import (
    OVERRIDE_FIELD,
    BuyerClosure,
    ChecksFailed,
    closure_verdict,
    issue_problems,
    required_approvals,
)
from commands.workflow.context import Policy
from providers.errors import ProviderUnavailable
from providers.models import BusinessState, BusinessStatus, DocumentKind, DocumentState, LineItem, Party, Provider
from providers.registry import CAPABILITIES
from tests.commands.workflow.conftest import APPROVER, CHANNEL, REQUESTER, Env, is_approver, issue, make_draft

CLOSED = "1231212312"


def _hiworks_draft(**buyer: str | None) -> object:
    draft = make_draft(provider=Provider.HIWORKS)
    return draft.model_copy(update={"buyer": Party(**{"name": "가나다", "bizno": "6798700433",
                                                      "email": "b@example.com", **buyer})})


def test_hiworks_declares_what_its_documentation_marks_required() -> None:
    problems = issue_problems(CAPABILITIES[Provider.HIWORKS], _hiworks_draft())  # type: ignore[arg-type]
    assert [p.field for p in problems] == ["buyer.ceo_name"]
    problems = issue_problems(CAPABILITIES[Provider.HIWORKS], _hiworks_draft(ceo_name="김대표", email=None))  # type: ignore[arg-type]
    assert [p.field for p in problems] == ["buyer.email"]
    assert issue_problems(CAPABILITIES[Provider.HIWORKS], _hiworks_draft(ceo_name="김대표")) == []  # type: ignore[arg-type]


def test_an_unsupported_kind_is_the_only_problem_reported() -> None:
    draft = make_draft(provider=Provider.HIWORKS).model_copy(update={"kind": DocumentKind.CASH_RECEIPT})
    problems = issue_problems(CAPABILITIES[Provider.HIWORKS], draft)
    assert [p.field for p in problems] == ["kind"] and "statement" in problems[0].message


@pytest.mark.parametrize(("provider", "allowed"), [(Provider.POPBILL, True), (Provider.HIWORKS, True)])
def test_quantity_decimals_follow_the_provider(provider: Provider, allowed: bool) -> None:
    caps = CAPABILITIES[provider]
    ok = make_draft(provider=provider).model_copy(
        update={"items": [LineItem(name="x", quantity=Decimal("1.25"), unit_price=100)],
                "buyer": Party(name="a", bizno="6798700433", ceo_name="c", email="e@x.kr")})
    assert issue_problems(caps, ok) == []
    four = ok.model_copy(update={"items": [LineItem(name="x", quantity=Decimal("1.2345"), unit_price=100)]})
    assert [p.field for p in issue_problems(caps, four)] == ["items"]


def test_required_approvals_by_amount_and_override() -> None:
    policy = Policy(is_approver=is_approver, two_approvals_above=1_000_000)
    assert required_approvals(policy, 1_000_000) == 1
    assert required_approvals(policy, 1_000_001) == 2
    assert required_approvals(policy, 10, overridden=True) == 2
    assert required_approvals(policy, 2_000_000, overridden=True) == 3
    assert required_approvals(Policy(is_approver=is_approver), 10**12) == 1


def test_closure_verdicts() -> None:
    closed = BuyerClosure(CLOSED, BusinessStatus(bizno=CLOSED, state=BusinessState.CLOSED,
                                                 state_date=dt.date(2023, 3, 31)))
    with pytest.raises(ChecksFailed) as caught:
        closure_verdict(closed, None)
    assert caught.value.problems[0].field == OVERRIDE_FIELD and "2023-03-31" in caught.value.message
    warnings, overridden = closure_verdict(closed, "reopened")
    assert overridden and "reopened" in warnings[0]
    suspended = BuyerClosure("x", BusinessStatus(bizno="x", state=BusinessState.SUSPENDED))
    assert closure_verdict(suspended, None)[0][0].startswith("The buyer x is suspended")
    assert "could not be checked" in closure_verdict(BuyerClosure("x", error="down"), None)[0][0]
    active = BuyerClosure("x", BusinessStatus(bizno="x", state=BusinessState.ACTIVE))
    assert closure_verdict(active, None) == ([], False)


async def test_a_closed_buyer_is_refused_and_an_override_needs_one_more_approval(env: Env) -> None:
    env.popbill.closure_states[CLOSED] = BusinessState.CLOSED
    with pytest.raises(ChecksFailed):
        await env.service.request_issue(make_draft(bizno=CLOSED), REQUESTER, CHANNEL)
    assert await env.store.approvals.search() == []
    approval = await env.service.request_issue(make_draft(bizno=CLOSED), REQUESTER, CHANNEL,
                                               override_reason="reopened in May")
    assert approval.required_approvals == 2 and approval.override_reason == "reopened in May"
    first = await env.service.decide(approval.id, APPROVER, approve=True)
    assert first.outcome is DecisionOutcome.VOTED and first.approval.approved_by == (APPROVER,)
    assert first.approval.approvals_missing == 1
    done = await env.service.decide(approval.id, "U_CAROL", approve=True)
    assert done.outcome is DecisionOutcome.APPROVED and done.approval.state is ApprovalState.SUCCEEDED


async def test_the_closure_answer_is_cached_for_the_ttl(env: Env) -> None:
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    assert env.popbill.calls["check_closure"] == 1
    env.clock.advance(hours=25)
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    assert env.popbill.calls["check_closure"] == 2


async def test_an_unreachable_closure_service_is_a_warning_not_a_refusal(env: Env) -> None:
    env.popbill.fail("check_closure", ProviderUnavailable("503", provider="popbill"))
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    assert any("could not be checked" in w for w in approval.warnings)


@pytest.mark.parametrize("same_person", [True, False])
async def test_concurrent_approvals_count_once_per_person_and_execute_once(env: Env, same_person: bool) -> None:
    service = InvoiceService(env.store, env.providers(), is_approver=is_approver, clock=env.clock,
                             two_approvals_above=50_000)
    approval = await service.request_issue(make_draft(), REQUESTER, CHANNEL)
    assert approval.required_approvals == 2
    people = [APPROVER] * 8 if same_person else [APPROVER, "U_CAROL"] * 4
    results = await asyncio.gather(*(service.decide(approval.id, who, approve=True) for who in people))
    voters = await env.store.approvals.voters(approval.id)
    final = await service.get_approval(approval.id)
    if same_person:
        assert voters == [APPROVER] and final.state is ApprovalState.PENDING
        assert env.popbill.issue_calls == 0
    else:
        assert sorted(voters) == [APPROVER, "U_CAROL"] and final.state is ApprovalState.SUCCEEDED
        assert sum(r.outcome is DecisionOutcome.APPROVED for r in results) == 1
        assert env.popbill.issue_calls == 1


async def test_destroy_is_refused_when_the_providers_state_makes_it_impossible(env: Env) -> None:
    env.popbill.capabilities = env.popbill.capabilities.model_copy(
        update={"destroy_blocked": CAPABILITIES[Provider.POPBILL].destroy_blocked})
    ref = await issue(env)
    doc = await env.store.documents.get_by_ref(ref)
    assert doc is not None and doc.provider_id is not None
    current = env.popbill.documents[doc.provider_id]
    env.popbill.documents[doc.provider_id] = current.model_copy(update={"state": DocumentState.FILED,
                                                                         "raw_state": "304"})
    with pytest.raises(Conflict) as caught:
        await env.service.request_destroy(ref, "too late", REQUESTER, CHANNEL)
    assert "filed" in caught.value.message and caught.value.user_hint and "amendment" in caught.value.user_hint
    assert await env.store.approvals.search(states=ApprovalState.PENDING) == []


def test_vat_treatment_rates_and_cash_receipt_identity_follow_the_capabilities() -> None:
    from decimal import Decimal

    from commands.workflow.checks import issue_problems
    from commands.workflow.drafts import IssueDraft
    from providers.models import DocumentKind, LineItem, Party, Provider, TaxType, TradeUsage
    from providers.registry import CAPABILITIES

    def draft(provider: Provider, kind: DocumentKind, **extra: object) -> IssueDraft:
        buyer = Party(name="B", bizno="2208162517", ceo_name="K", email="b@example.com", phone="01012345678")
        return IssueDraft(provider=provider, kind=kind, buyer=buyer,  # type: ignore[arg-type]
                          items=[LineItem(name="x", unit_price=1000)], write_date=dt.date(2026, 5, 1), **extra)

    def fields(d: IssueDraft) -> set[str]:
        return {p.field for p in issue_problems(CAPABILITIES[d.provider], d)}

    assert fields(draft(Provider.PAYSSAM, DocumentKind.BILL, taxation=TaxType.EXEMPT)) == set()
    assert fields(draft(Provider.HIWORKS, DocumentKind.TAX_INVOICE, taxation=TaxType.EXEMPT)) == {"taxation"}
    assert fields(draft(Provider.POPBILL, DocumentKind.TAX_INVOICE, vat_rate=Decimal(19))) == {"vat_rate"}
    assert fields(draft(Provider.ABILLIFY, DocumentKind.INVOICE, currency="EUR", vat_rate=Decimal(19))) == set()
    assert fields(draft(Provider.ABILLIFY, DocumentKind.INVOICE, vat_rate=Decimal(16))) == {"vat_rate"}
    assert fields(draft(Provider.ABILLIFY, DocumentKind.INVOICE, currency="EURO")) == {"currency"}
    cash = draft(Provider.POPBILL, DocumentKind.CASH_RECEIPT, trade_usage=TradeUsage.EXPENSE_PROOF,
                 identity_number="010-1234-5678")
    assert fields(cash) == {"identity_number"}
    assert fields(cash.model_copy(update={"identity_number": "220-81-62517"})) == set()
